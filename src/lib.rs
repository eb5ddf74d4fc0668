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
    let (what, hint) = split_hint(&format!("{error:#}"));
    let _ = writeln!(stderr, "error: {what}");
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::FAILURE
}

/// `what (hint: how): cause` into `what: cause` and `how`: a hint in
/// parentheses may sit anywhere in the chain, and what follows it (the
/// cause a context was added to) belongs to the error, not the hint.
fn split_hint(text: &str) -> (String, Option<String>) {
    let Some(start) = text.find("hint: ") else {
        return (text.to_string(), None);
    };
    let before = &text[..start];
    let after = &text[start + "hint: ".len()..];
    if !before.ends_with('(') {
        let what = before.trim_end_matches([' ', ';', ',']).to_string();
        return (what, Some(after.trim_end_matches(')').to_string()));
    }
    // The parenthesis that closes the hint's own.
    let mut depth = 1;
    let close = after.char_indices().find_map(|(at, character)| {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(at)
    });
    let what = before.trim_end_matches([' ', '(', ';', ',']);
    match close {
        Some(at) => (
            format!("{what}{}", &after[at + 1..]),
            Some(after[..at].to_string()),
        ),
        None => (what.to_string(), Some(after.to_string())),
    }
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
    use super::split_hint;

    #[test]
    fn a_hint_is_cut_out_of_the_middle_of_an_error() {
        assert_eq!(
            split_hint("unknown time zone `X` (hint: use an IANA name (UTC)): not in the database"),
            (
                "unknown time zone `X`: not in the database".to_string(),
                Some("use an IANA name (UTC)".to_string())
            )
        );
        assert_eq!(
            split_hint("bad (hint: do this)"),
            ("bad".to_string(), Some("do this".to_string()))
        );
        assert_eq!(split_hint("plain"), ("plain".to_string(), None));
    }
}
