//! Usage figures: how much of each window is used, from the official
//! sources (status line, OAuth usage API) and, as a fallback, an estimate.

pub mod snapshot;
