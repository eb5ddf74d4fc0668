//! pace-maker: keeps long Claude Code missions inside the subscription's
//! usage windows and working until their acceptance criteria are met.
//!
//! # Module map
//!
//! Dependencies run one way, down this list: a module imports only
//! modules above it (`src/import_graph.rs` is a test that fails on an
//! import circle between files or between these modules). Each entry says
//! what the module is and, after "uses", which modules it imports.
//!
//! Leaves and plumbing:
//! - `hint`: errors' hints, typed, apart from their messages. Uses nothing.
//! - `paths`: every path and variable the tool reads; the tool home. Uses `hint`.
//! - `clock`: now (virtual in test builds), durations. Uses `paths`, `hint`.
//! - `logging`: the log files; a fail-open process. Uses `paths`.
//! - `fsutil`, `subprocess`, `chart`, `digest`: files written safely,
//!   programs run under a deadline, SVG charts, FNV-1a digests. Use
//!   nothing of the crate.
//! - `event`: the hook's input, Claude Code's wire types (`event::wire`)
//!   and our events. Uses nothing of the crate.
//! - `config`: settings. Uses `paths`, `fsutil`, `hint`.
//! - `store`: the SQLite file every process shares, its migrations and the
//!   `meta` table. Uses `paths`, `clock`, `config`, `fsutil`, `hint`.
//!
//! Bookkeeping and usage:
//! - `controls`: the on/off/pause switch. Uses `store`, `clock`.
//! - `sessions`: sessions, tool calls, hook events. Uses `store`, `event`.
//! - `usage`: the usage API (`api`, `poll`, `credentials`), the status
//!   line's readings and the snapshots they make. Uses `sessions`, `store`,
//!   `config`, `controls`, `clock`, `paths`, `subprocess`.
//! - `local_usage`: what the transcripts on this machine say was used, and
//!   the estimate from it. Uses `usage`, `store`, `config`, `paths`,
//!   `digest`.
//!
//! The hook's work and the hook:
//! - `hook_context`: what the hook hands to the work it calls. Uses
//!   `config`, `controls`, `paths`, `store`.
//! - `pacing`: the pacing policy (pure), its PostToolUse application, the
//!   decisions kept, and the fast path (the no-delay pass and the spool of
//!   calls taken under it). Uses `usage`, `local_usage`, `sessions`,
//!   `hook_context`, `event`, `store`, `config`, `clock`, `paths`,
//!   `fsutil`, `digest`.
//! - `momentum`: epic specs, the transcript's tail, the Stop verdict, the
//!   criteria's checks. Uses `sessions`, `hook_context`, `event`, `store`,
//!   `config`, `clock`, `fsutil`, `subprocess`.
//! - `retention`: the store's retention sweep, each table's old rows
//!   deleted by the table's owner. Uses `sessions`, `usage`, `pacing`,
//!   `store`.
//! - `hook`: `pace-maker hook <event>`; turns pacing's and momentum's
//!   decisions into Claude Code's replies. Uses `pacing`, `momentum`,
//!   `retention`, `sessions`, `usage`, `controls`, `hook_context`, `event`,
//!   `store`, `config`, `clock`, `paths`, `digest`.
//!
//! Around it:
//! - `install`: the settings merge (pure), the settings files around it,
//!   the Claude Code plugin's side. Uses `event`, `config`, `fsutil`, `paths`,
//!   `digest`.
//! - `dashboard`: what status, watch and history show, and how. Uses
//!   `pacing`, `momentum`, `sessions`, `usage`, `local_usage`, `controls`,
//!   `store`, `config`, `clock`, `paths`, `chart`, `hint`.
//! - `simulate`: the simulator that compares pacing policies on the
//!   hook's own code. Uses `pacing`, `sessions`, `usage`, `event`,
//!   `store`, `config`, `clock`, `chart`.
//! - `cli`: the command line (clap), its words mapped onto the core's
//!   types. Uses `install`.
//! - `commands`: the person-facing commands, `doctor` among them. Uses
//!   any module above.
//! - The crate root (`main`) dispatches to `hook` or `commands`.
//!
//! # Tables and their owners
//!
//! Each table's SQL lives in one module; everyone else calls it
//! (`src/table_owners.rs` is a test that fails on SQL naming a table
//! outside its owner). `store` creates them all (its migrations) and owns
//! `meta`; `controls`: `controls`; `sessions`: `sessions`, `tool_calls`,
//! `tool_call_buckets`, `hook_events`, `hook_inputs`; `usage::poll`:
//! `api_state`; `usage::snapshot`: `usage_snapshots`; `pacing::decisions`:
//! `pacing_decisions`; `momentum`: `epics`; `momentum::check_store`:
//! `epic_checks`, `check_results`; `local_usage::ledger`:
//! `transcript_files`, `transcript_chunks`; `local_usage::estimate`:
//! `usage_calibration`. The retention sweep (`retention`) asks each owner
//! to delete its old rows.

pub mod chart;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod controls;
pub mod dashboard;
pub mod digest;
pub mod event;
pub mod fsutil;
pub mod hint;
pub mod hook;
pub mod hook_context;
pub mod install;
pub mod local_usage;
pub mod logging;
pub mod mission_wait;
pub mod momentum;
pub mod pacing;
pub mod paths;
pub mod retention;
pub mod sessions;
pub mod simulate;
pub mod store;
pub mod subprocess;
pub mod usage;

#[cfg(test)]
mod import_graph;
#[cfg(test)]
mod table_owners;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use config::Config;
use paths::ToolHome;

/// The whole program.
pub fn main() -> ExitCode {
    // Everything the tool creates is owner-only.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let is_hook = arguments.get(1).is_some_and(|arg| arg == "hook");
    // A person asking for help gets it, even from `hook`.
    let asks_for_help = arguments.iter().skip(1).any(|arg| {
        ["--help", "-h", "--version", "-V"]
            .iter()
            .any(|flag| arg == flag)
    });
    // The kill switch is honoured before anything else, even argument parsing.
    if is_hook && !asks_for_help && paths::kill_switch() {
        return ExitCode::SUCCESS;
    }
    // `hook <event>`, the command Claude Code runs at every tool call, as
    // clap would parse it (one word, not a flag), without building clap's
    // command tree: that is 7 % of a hook's instructions and the pages of
    // code behind them. Anything else goes through clap.
    if let [_, _, event] = arguments.as_slice() {
        if is_hook && !event.to_string_lossy().starts_with('-') {
            if let Some(event) = event.to_str() {
                return run_hook(event, &ToolHome::from_env());
            }
        }
    }
    if !is_hook && arguments.get(1).is_none_or(|arg| arg != "statusline") {
        // A command whose output is piped into `head` ends quietly when the
        // reader goes away, as Unix tools do, instead of reporting a broken
        // pipe (or panicking in `println!`). Hooks and the status line,
        // which Claude Code reads, keep the default of Rust programs.
        // SAFETY: restoring a signal's default disposition is always sound.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let cli = match Cli::try_parse_from(&arguments) {
        Ok(cli) => cli,
        Err(error) => {
            let is_request = matches!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            // In a hook, a bad command line must not disturb Claude Code.
            if is_hook && !is_request {
                return ExitCode::SUCCESS;
            }
            let _ = error.print();
            return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
        }
    };
    let home = ToolHome::from_env();
    match cli.command {
        Command::Hook(args) => run_hook(&args.event, &home),
        command => match commands::run(command, &home) {
            Ok(code) => code,
            Err(error) => report_error(&error),
        },
    }
}

fn run_hook(event: &str, home: &ToolHome) -> ExitCode {
    logging::fail_open_process();
    // A tool home someone else controls is not read (its config could send
    // the token elsewhere) nor written (a planted log link): the hook ends
    // here. `doctor` says why.
    if home.trust().is_err() {
        return ExitCode::SUCCESS;
    }
    let project = paths::project_dir();
    let loaded = Config::load(home, Some(&project));
    logging::init(home, &loaded.config.log.level, loaded.config.log.keep_days);
    for warning in &loaded.warnings {
        tracing::warn!("config: {warning}");
    }
    // A bug must not break Claude Code either: a panic is logged (by the
    // hook set above) and the hook ends like any other failure, exit 0
    // with nothing on stdout.
    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hook::run(event, home, &loaded.config, &mut std::io::stdin().lock())
    }))
    .unwrap_or(hook::Reply::Nothing);
    if let hook::Reply::Json(value) = reply {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{value}");
        let _ = stdout.flush();
    }
    ExitCode::SUCCESS
}

/// Prints `error: ...` to stderr, then the hints of the error's chain
/// ([`hint::hints`]), each once, after it.
fn report_error(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    let _ = std::io::stderr()
        .lock()
        .write_all(render_error(error).as_bytes());
    ExitCode::FAILURE
}

/// `error: what: cause` and a `hint: ...` line per hint.
fn render_error(error: &anyhow::Error) -> String {
    let mut out = format!("error: {}\n", hint::describe(error));
    for hint in hint::hints(error, other_hint) {
        out.push_str(&format!("hint: {hint}\n"));
    }
    out
}

/// The hint of an error type that carries its own.
fn other_hint(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(error) = error.downcast_ref::<usage::api::UsageApiError>() {
        return error.hint().map(str::to_string);
    }
    if let Some(error) = error.downcast_ref::<install::settings_file::SettingsError>() {
        return error.hint().map(str::to_string);
    }
    None
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use hint::HintExt;

    #[test]
    fn a_hinted_error_inside_a_context_prints_its_hint_once_at_the_end() {
        let migration: anyhow::Result<()> = Err(anyhow::anyhow!(
            "near \"CREATE\": syntax error in CREATE TABLE t (x)"
        ));
        let error = migration
            .context_hint(
                "cannot prepare the store /h/store.db",
                "raise store.busy_timeout_ms if it is busy",
            )
            .context("cannot open the store")
            .unwrap_err();
        assert_eq!(
            render_error(&error),
            "error: cannot open the store: cannot prepare the store /h/store.db: \
             near \"CREATE\": syntax error in CREATE TABLE t (x)\n\
             hint: raise store.busy_timeout_ms if it is busy\n"
        );
    }
}
