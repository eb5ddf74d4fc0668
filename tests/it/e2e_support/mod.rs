//! The end-to-end harness: the real Claude Code CLI, stand-in APIs on
//! loopback, a sandbox HOME, all inside a network namespace of its own.
//!
//! - `claude_cli`: installs the pinned CLI once (`.ci/install-claude-code`).
//! - `namespace`: a thread in a fresh loopback-only network namespace.
//! - `http`, `messages_api`, `usage_api`: the scripted stand-ins.
//! - `sandbox`: folders, environment, running `pace-maker` and `claude`.
//! - `plugin`: the repository's marketplace, copied for `claude plugin`.
//!
//! [`scenario`] ties them together. The scenarios are `#[ignore]`d, so a
//! plain `cargo test` reports them as ignored rather than passing them
//! unrun; `--include-ignored` (as `.ci/run` does) runs them, and then a CLI
//! that cannot be installed or a namespace that cannot be made (no npm,
//! not root) fails the scenario: a test that was asked for never skips.

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

/// Writes to the terminal even while libtest captures test output
/// (capture covers the print macros only, not the stderr handle).
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Fails a scenario that cannot run, saying why.
fn cannot_run(name: &str, why: &str) -> ! {
    panic!("e2e {name}: {why} (the end-to-end tests need npm, Linux and root; a plain `cargo test` leaves them ignored)");
}

/// Runs one scenario on its own thread inside a fresh loopback-only network
/// namespace, with the pinned CLI, and returns what it returned.
/// Prints the scenario's duration.
pub fn scenario<T: Send + 'static>(
    name: &'static str,
    body: impl FnOnce(&'static ClaudeCli) -> T + Send + 'static,
) -> T {
    let cli = match claude_cli::claude_cli() {
        Ok(cli) => cli,
        Err(why) => cannot_run(
            name,
            &format!("the Claude Code CLI is not available: {why}"),
        ),
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
            value
        }
        Err(error) => cannot_run(
            name,
            &format!("cannot create a network namespace ({error}; it needs CAP_SYS_ADMIN)"),
        ),
    }
}
