//! The end-to-end harness: the real Claude Code CLI, stand-in APIs on
//! loopback, a sandbox HOME, all inside a network namespace of its own.
//!
//! - `claude_cli`: installs the pinned CLI once (`.ci/install-claude-code`).
//! - `namespace`: a thread in a fresh loopback-only network namespace.
//! - `http`, `messages_api`, `usage_api`: the scripted stand-ins.
//! - `sandbox`: folders, environment, running `pace-maker` and `claude`.
//! - `plugin`: the repository's marketplace, copied for `claude plugin`.
//!
//! [`scenario`] ties them together. Where the CLI cannot be installed or a
//! namespace cannot be made (no npm, not root), a scenario says
//! `skipped: <why>` on the terminal and passes, except under `CI=true`,
//! where the same condition fails it: CI must really run them.

pub mod claude_cli;
pub mod http;
pub mod messages_api;
pub mod namespace;
pub mod plugin;
pub mod sandbox;
pub mod terminal;
pub mod usage_api;

use std::io::Write;
use std::time::Instant;

pub use claude_cli::ClaudeCli;

/// Whether this is a CI run (`CI=true`), where nothing may be skipped.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// Writes to the terminal even while libtest captures test output
/// (capture covers the print macros only, not the stderr handle).
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Skips a scenario loudly, or fails it under CI.
fn skip(name: &str, why: &str) {
    if is_ci() {
        panic!("e2e {name}: {why} (CI=true: the end-to-end tests must run, not skip)");
    }
    say(&format!(
        "\n*** e2e {name}: skipped: {why}\n*** (the end-to-end tests need npm, Linux and root; CI runs them)\n"
    ));
}

/// Runs one scenario on its own thread inside a fresh loopback-only network
/// namespace, with the pinned CLI. Returns `None` when it was skipped.
/// Prints the scenario's duration.
pub fn scenario<T: Send + 'static>(
    name: &'static str,
    body: impl FnOnce(&'static ClaudeCli) -> T + Send + 'static,
) -> Option<T> {
    let cli = match claude_cli::claude_cli() {
        Ok(cli) => cli,
        Err(why) => {
            skip(
                name,
                &format!("the Claude Code CLI is not available: {why}"),
            );
            return None;
        }
    };
    let started = Instant::now();
    let outcome = namespace::run_isolated(name, move || {
        namespace::verify_loopback_only();
        body(cli)
    });
    match outcome {
        Ok(value) => {
            say(&format!(
                "e2e {name}: done in {:.1} s (Claude Code {})",
                started.elapsed().as_secs_f64(),
                cli.version.trim_end_matches(" (Claude Code)")
            ));
            Some(value)
        }
        Err(error) => {
            skip(
                name,
                &format!("cannot create a network namespace ({error}; it needs CAP_SYS_ADMIN)"),
            );
            None
        }
    }
}
