//! Local usage: what the transcripts on this machine say was used.
//!
//! Claude Code writes every reply's token usage into its transcripts. This
//! module reads them incrementally into the store (`scanner`, `ledger`),
//! loads them back de-duplicated (`load`), and turns them into reports in
//! ccusage's shape (`report`, `blocks`, priced by `pricing`) and into the
//! fallback usage estimate pacing uses when no official figure is fresh
//! (`estimate`). The generator of realistic transcript trees for tests and
//! benchmarks is test code: `tests/generator/`.

pub mod blocks;
pub mod entry;
pub mod estimate;
pub mod ledger;
pub mod load;
pub mod pricing;
pub mod report;
pub mod scanner;
