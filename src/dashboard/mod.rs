//! What a person looks at: `status`, the live `watch` dashboard and
//! `history`.
//!
//! - `data`: everything shown, gathered from the store in one pass.
//! - `pace`: a window against its pace line, and the burn-rate projection.
//! - `history_chart`: the usage chart of a past span (`history --svg`), drawn
//!   by the simulator's SVG writer.
//! - `describe`: the phrases and bars the text and live views share.
//! - `paint`: colour for the text views (terminal only, never under `NO_COLOR`).
//! - `render`: the live dashboard's drawing, a pure function of the data.
//! - `live`: the terminal around it (raw mode, alternate screen, restore).

pub mod data;
pub mod describe;
pub mod history_chart;
pub mod live;
pub mod pace;
pub mod paint;
pub mod render;
