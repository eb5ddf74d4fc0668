//! Charts written to files: SVG for now, shared by `simulate --svg` and
//! the history views.

pub mod svg;
