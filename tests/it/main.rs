//! The integration suite: one test binary, one module per area, so the
//! whole suite links once. Every module runs the built `pace-maker`
//! binary, the library, or both, against real files, a real store and
//! servers on 127.0.0.1.
//!
//! - `support`: the sandbox most tests share (a temporary HOME and tool
//!   home), the captured fixtures, and `measured`, a child process run to
//!   its end with its exit, output, wall time and peak memory.
//! - `usage`: the official usage figures end to end; its `sandbox`
//!   (`UsageSandbox`, a user home with Claude Code's credentials) and
//!   `server` (scripted usage API servers) serve `faults` too.
//! - `e2e` with `e2e_support` (`ClaudeSandbox`): the real Claude Code CLI
//!   in a loopback-only network namespace. Ignored unless asked for
//!   (`cargo test -- --include-ignored`, as CI does); when asked for, a
//!   missing CLI or namespace fails them.
//!
//! `cargo test --test it MODULE::` runs one area, e.g. `hooks::`.

mod support;

mod checks;
mod commands;
mod dashboard;
mod doctor;
mod e2e;
mod e2e_support;
mod faults;
mod fuzz_seeds;
mod history;
mod hooks;
mod install;
mod install_properties;
mod load;
mod local_usage;
mod momentum;
mod pacing_hook;
mod security;
mod simulate;
mod status_schema;
mod usage;
mod watch;
