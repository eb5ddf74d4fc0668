//! What a person looks at: `status`, the live `watch` dashboard and
//! `history`.
//!
//! - `chart`: the usage chart of a past span as SVG (`history --svg`).
//! - `data`: everything shown, gathered from the store in one pass.
//! - `pace`: a window against its pace line, and the burn-rate projection.
//! - `describe`: the phrases and bars the text and live views share.
//! - `paint`: colour for the text views (terminal only, never under `NO_COLOR`).
//! - `render`: the live dashboard's drawing, a pure function of the data.
//! - `live`: the terminal around it (raw mode, alternate screen, restore).

pub mod chart;
pub mod data;
pub mod describe;
pub mod live;
pub mod pace;
pub mod paint;
pub mod render;
