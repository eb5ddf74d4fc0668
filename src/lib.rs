//! pace-maker: keeps long Claude Code missions inside the subscription's
//! usage windows and working until their acceptance criteria are met.
//!
//! Where things are:
//! - `hook/`: the hook entry point, Claude Code's wire types, our events.
//! - `sessions`, `controls`: bookkeeping and the on/off/pause switch.
//! - `pacing/`: the pacing policy (pure) and its PostToolUse application.
//! - `simulate/`: the simulator that compares pacing policies; `chart/`: SVG.
//! - `store`: the SQLite file every process shares.
//! - `config`, `paths`: settings and every path or variable the tool reads.
//! - `momentum/`: epic specs, the transcript's tail and the Stop verdict.
//! - `install/`: the settings merge (pure) and the settings files around it.
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
pub mod doctor;
pub mod fsutil;
pub mod hook;
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
    // The kill switch is honoured before anything else, even argument parsing.
    if arguments.get(1).is_some_and(|arg| arg == "hook") && paths::kill_switch() {
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse_from(&arguments) {
        Ok(cli) => cli,
        Err(error) => {
            // In a hook, a bad command line must not disturb Claude Code.
            if arguments.get(1).is_some_and(|arg| arg == "hook") {
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
    fail_open_process();
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

/// Sets up a process that Claude Code runs (a hook, the status line),
/// whose stderr is shown to the user or the model and whose failure must
/// not disturb the session: a panic message goes to the log file, not
/// stderr; and past a file size limit (`ulimit -f`) a write fails with
/// EFBIG and is handled like any failed write, instead of SIGXFSZ killing
/// the process.
pub fn fail_open_process() {
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        tracing::error!("internal error, a bug (please report it): {info}\n{backtrace}");
    }));
    // SAFETY: setting a signal's disposition to "ignore" is always sound.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Prints `error: ...` (and `hint: ...` lines) to stderr.
fn report_error(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    let mut stderr = std::io::stderr().lock();
    let text = format!("{error:#}");
    let (what, hint) = match text.split_once("hint: ") {
        Some((what, hint)) => (
            what.trim_end_matches([' ', '(', ';', ',']).to_string(),
            Some(hint.trim_end_matches(')').to_string()),
        ),
        None => (text, None),
    };
    let _ = writeln!(stderr, "error: {what}");
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::FAILURE
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
