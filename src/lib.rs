//! pace-maker: keeps long Claude Code missions inside the subscription's
//! usage windows and working until their acceptance criteria are met.
//!
//! Where things are:
//! - `hook/`: the hook entry point, Claude Code's wire types, our events.
//! - `sessions`, `controls`: bookkeeping and the on/off/pause switch.
//! - `subprocess`: other programs run under a deadline, killed with their
//!   process group.
//! - `pacing/`: the pacing policy (pure) and its PostToolUse application.
//! - `simulate/`: the simulator that compares pacing policies; `chart/`: SVG.
//! - `store`: the SQLite file every process shares.
//! - `config`, `paths`: settings and every path or variable the tool reads.
//! - `momentum/`: epic specs, the transcript's tail, the Stop verdict, and
//!   the criteria's check commands (run, filed under the project's state).
//! - `install/`: the settings merge (pure), the settings files around it,
//!   and the Claude Code plugin's side (`install/plugin.rs`).
//! - `doctor`: checks of everything pacing depends on.
//! - `dashboard/`: what status, watch and history show, and how.
//! - `commands/`: the person-facing commands (status, watch, history, config, logs, install).

pub mod chart;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod controls;
pub mod dashboard;
pub mod event;
pub mod fsutil;
pub mod hint;
pub mod hook;
pub mod hook_context;
pub mod install;
pub mod local_usage;
pub mod logging;
pub mod momentum;
pub mod pacing;
pub mod paths;
pub mod sessions;
pub mod simulate;
pub mod store;
pub mod subprocess;
pub mod usage;

#[cfg(test)]
mod import_graph;

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
