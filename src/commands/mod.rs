//! The person-facing commands. Each takes parsed arguments and the tool
//! home and returns an exit code; errors bubble up as `anyhow` with context
//! and are printed as `error:`/`hint:` by `lib.rs`.

pub mod common;
pub mod config;
pub mod controls;
pub mod doctor;
pub mod epic;
pub mod history;
pub mod install;
pub mod logs;
pub mod mission;
pub mod report;
pub mod simulate;
pub mod status;
pub mod statusline;
pub mod usage;
pub mod watch;

use std::process::ExitCode;

use crate::cli::Command;
use crate::paths::{self, ToolHome};

/// Dispatches a command other than `hook`.
pub fn run(command: Command, home: &ToolHome) -> anyhow::Result<ExitCode> {
    // Every command but these reads or writes the tool home; one that
    // someone else controls is refused (doctor explains, the status line
    // says so in its own words, the simulator and `config path` use none).
    let uses_home = !matches!(
        command,
        Command::Doctor(_)
            | Command::Simulate(_)
            | Command::Statusline(_)
            | Command::Config(crate::cli::ConfigCommand::Path)
    );
    let no_home =
        paths::env(paths::ENV_HOME).is_none() && paths::env(paths::ENV_HOME_DIR).is_none();
    if no_home && (uses_home || matches!(command, Command::Config(_))) {
        // Nothing is written anywhere, not even under `/` (as root).
        return Err(crate::hint::hinted(format!("neither {} nor {} is set, so there is no tool home to keep pace-maker's config and store in", paths::ENV_HOME_DIR, paths::ENV_HOME), format!("run it with HOME set, or set {} to a folder of your own", paths::ENV_HOME)));
    }
    if uses_home {
        if let Err(why) = home.trust() {
            return Err(crate::hint::hinted(why.to_string(), "the tool home holds the config that says where your token goes; \
                 point PACE_MAKER_HOME at a folder of your own, or fix its owner and mode; `pace-maker doctor` checks it"));
        }
    }
    match command {
        Command::Hook(_) => unreachable!("hooks are run by lib.rs"),
        Command::Status(args) => status::run(home, &args),
        Command::Watch => watch::run(home),
        Command::History(args) => history::run(home, &args),
        Command::On => controls::on(home),
        Command::Off => controls::off(home),
        Command::Pause(args) => controls::pause(home, &args.duration),
        Command::Resume => controls::resume(home),
        Command::Config(command) => config::run(home, command),
        Command::Logs(args) => logs::run(home, &args),
        Command::Statusline(args) => statusline::run(home, &args),
        Command::Usage(command) => usage::run(home, command),
        Command::Report(args) => report::run(home, &args),
        Command::Epic(command) => epic::run(home, command),
        Command::Install(args) => install::install(home, &args),
        Command::Uninstall(args) => install::uninstall(home, &args),
        Command::Doctor(args) => doctor::run(home, &args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Mission(crate::cli::MissionCommand::Run(args)) => mission::run(home, &args),
    }
}
