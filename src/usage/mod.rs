//! Usage figures: how much of each window is used, from the official
//! sources (status line, OAuth usage API) and, as a fallback, an estimate.
//!
//! - `snapshot`: one reading as stored, and the queries over them.
//! - `credentials`: Claude Code's OAuth login, read only.
//! - `api`: the usage endpoint's client.
//! - `poll`: when to poll and who polls (cache, single flight, backoff).
//! - `statusline`: readings from the status-line input, and its line.

pub mod api;
pub mod credentials;
pub mod poll;
pub mod snapshot;
pub mod statusline;
