//! The command-line surface (clap derive). Parsing only: each command's
//! work lives in its own module, reached through [`crate::main`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::install::merge::StatusLineMode;
use crate::install::settings_file::Scope;

#[derive(Debug, Parser)]
#[command(
    name = "pace-maker",
    version,
    about = "Keeps long Claude Code missions inside the usage windows, and working until done.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a Claude Code hook (reads the event JSON on stdin).
    Hook(HookArgs),
    /// Show usage, pacing state and sessions.
    Status(StatusArgs),
    /// A live dashboard: windows, the usage curve against the pace, sessions, delays.
    Watch,
    /// Past usage readings and pacing decisions.
    History(HistoryArgs),
    /// Turn pacing and momentum on.
    On,
    /// Turn every hook off until `on` (the store is left as is).
    Off,
    /// Pause delays and stop blocks for a while (default 1h).
    Pause(PauseArgs),
    /// End a pause now.
    Resume,
    /// Read or change the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show the log (the newest file).
    Logs(LogsArgs),
    /// Print the status line (Claude Code runs this with its JSON on stdin).
    Statusline(StatuslineArgs),
    /// The official usage figures.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Token usage and cost from the local transcripts (ccusage-compatible JSON).
    Report(ReportArgs),
    /// Attach, detach or show the epic spec that keeps this project's missions going
    /// (`show` when no subcommand is given).
    Epic(EpicArgs),
    /// Add pace-maker's hooks (and status line) to Claude Code's settings.
    Install(InstallArgs),
    /// Remove pace-maker's hooks (and status line) from Claude Code's settings.
    Uninstall(UninstallArgs),
    /// Check the installation, credentials, usage data, store and switches.
    Doctor(DoctorArgs),
    /// Simulate missions and compare pacing policies (no store, no network).
    Simulate(SimulateArgs),
    /// Run a mission that outlives a usage limit (`mission run -- claude -p ...`).
    #[command(subcommand)]
    Mission(MissionCommand),
}

#[derive(Debug, Subcommand)]
pub enum MissionCommand {
    /// Run a command (`claude -p ...`); when it ends on a usage limit, wait
    /// for the reset and resume the session, until the mission ends
    /// without one, the epic is done, or a bound is hit.
    Run(MissionRunArgs),
}

#[derive(Debug, Args)]
pub struct MissionRunArgs {
    /// Stop after this many waits for a reset.
    #[arg(long, default_value_t = 5)]
    pub max_waits: u32,
    /// Do not wait for a reset further away than this many hours.
    #[arg(long, default_value_t = 170.0)]
    pub max_wait_hours: f64,
    /// Seconds to wait past the reset before resuming.
    #[arg(long, default_value_t = 5)]
    pub margin_seconds: u64,
    /// The command and its arguments, after `--`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// The event, in kebab case: session-start, user-prompt-submit, post-tool-use,
    /// stop, subagent-stop, session-end. Other events are ignored.
    pub event: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON (schema in docs/status-json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How far back: 90m, 24h, 7d, or a date (2026-01-31 or 20260131). A bare number is refused.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Print JSON (schema in docs/history-json.md).
    #[arg(long)]
    pub json: bool,
    /// Also write the usage chart over the span as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// How long, with units: 90s, 15m, 2h, 1h30m, 1d. A bare number is refused.
    #[arg(default_value = "1h")]
    pub duration: String,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List the keys set in config.toml, or every key in force here with `--resolved`
    /// (the project is found from the current folder up).
    List {
        /// Every key with its effective value and where it came from.
        #[arg(long)]
        resolved: bool,
    },
    /// Print the value of a key in force here (config.toml, the project's file, the environment).
    Get { key: String },
    /// Set a key in config.toml (comments are kept).
    Set {
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Remove a key from config.toml (comments are kept): it falls back to the default.
    Unset { key: String },
    /// Print the path of config.toml.
    Path,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new lines as they are written.
    #[arg(long, short)]
    pub follow: bool,
    /// Lines from the end to show first.
    #[arg(long, short = 'n', default_value_t = 50)]
    pub lines: usize,
}

#[derive(Debug, Args)]
pub struct StatuslineArgs {
    /// Also run this status-line command (through `sh -c`, with the same
    /// stdin) and append pace-maker's segment to its first line.
    #[arg(long, value_name = "CMD")]
    pub chain: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Poll the usage API now (respecting backoff) and print the snapshot.
    Refresh {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportKind {
    /// Per calendar day.
    Daily,
    /// Per week, Sunday to Saturday (named by its Sunday).
    Weekly,
    /// Per calendar month.
    Monthly,
    /// Per session (subagents count for their session).
    Session,
    /// Per 5-hour block.
    Blocks,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// daily, weekly, monthly, session or blocks.
    #[arg(value_enum)]
    pub kind: ReportKind,
    /// Print JSON (the shape of ccusage's Claude reports).
    #[arg(long)]
    pub json: bool,
    /// First day to include, inclusive: YYYY-MM-DD, YYYYMMDD, or how long
    /// ago (7d, 24h: the day that was then).
    #[arg(long)]
    pub since: Option<String>,
    /// Last day to include, inclusive, in the same words as --since.
    #[arg(long)]
    pub until: Option<String>,
    /// Only this project (its folder name under `projects/`).
    #[arg(long)]
    pub project: Option<String>,
    /// Time zone for days, weeks, months and every time shown (IANA name,
    /// e.g. UTC, Europe/Paris); default: the system's. JSON times stay UTC.
    #[arg(long, short = 'z')]
    pub timezone: Option<String>,
    /// The day weeks start on, for `weekly` (as ccusage's --start-of-week).
    #[arg(long, short = 'w', value_enum, default_value_t = WeekStart::Sunday)]
    pub start_of_week: WeekStart,
}

/// The first day of a week in `report weekly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WeekStart {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
}

impl WeekStart {
    pub fn weekday(self) -> jiff::civil::Weekday {
        use jiff::civil::Weekday;
        match self {
            WeekStart::Sunday => Weekday::Sunday,
            WeekStart::Monday => Weekday::Monday,
            WeekStart::Tuesday => Weekday::Tuesday,
            WeekStart::Wednesday => Weekday::Wednesday,
            WeekStart::Thursday => Weekday::Thursday,
            WeekStart::Friday => Weekday::Friday,
            WeekStart::Saturday => Weekday::Saturday,
        }
    }
}

#[derive(Debug, Args)]
pub struct EpicArgs {
    #[command(subcommand)]
    pub command: Option<EpicCommand>,
}

#[derive(Debug, Subcommand)]
pub enum EpicCommand {
    /// Bind a Markdown spec to this project directory (CLAUDE_PROJECT_DIR, else the cwd).
    Attach {
        /// The spec: its task items under an "Acceptance criteria" heading are the criteria.
        spec: std::path::PathBuf,
    },
    /// Unbind the spec from this project directory.
    Detach,
    /// List the criteria of this project's epic with their state.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which settings file `install` and `uninstall` edit.
#[derive(Debug, Args)]
pub struct SettingsTargetArgs {
    /// user: ~/.claude/settings.json (CLAUDE_CONFIG_DIR moves it); project: .claude/settings.json;
    /// local: .claude/settings.local.json (project = CLAUDE_PROJECT_DIR or the current folder).
    #[arg(long, value_enum, default_value_t = ScopeArg::User, conflicts_with = "settings")]
    pub scope: ScopeArg,
    /// Edit this settings file instead of a scope's.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub target: SettingsTargetArgs,
    /// auto: ours if there is none, else keep yours; chain: ours runs yours and
    /// shows both; force: replace yours; skip: leave the status line alone.
    #[arg(long, value_enum, default_value_t = StatusLineArg::Auto)]
    pub statusline: StatusLineArg,
    /// Set the status line only, no hooks: for the Claude Code plugin, which
    /// brings the hooks but cannot set a status line.
    #[arg(long)]
    pub statusline_only: bool,
    /// Print the change as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub target: SettingsTargetArgs,
    /// skip leaves the status line as it is; any other mode removes ours and
    /// restores yours.
    #[arg(long, value_enum, default_value_t = StatusLineArg::Auto)]
    pub statusline: StatusLineArg,
    /// Print the change as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the tool home (config, store, logs).
    #[arg(long)]
    pub purge: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A built-in scenario (`--list` names them); default: steady-heavy.
    #[arg(long, conflicts_with = "trace")]
    pub scenario: Option<String>,
    /// A scenario from a JSON trace file (format in docs/simulator.md).
    #[arg(long)]
    pub trace: Option<std::path::PathBuf>,
    /// One policy only: pace-maker, reference, log-curve or none
    /// (default: all of them side by side).
    #[arg(long)]
    pub policy: Option<String>,
    /// Every policy on every built-in scenario (or on the one chosen).
    #[arg(long)]
    pub compare: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG chart (utilization against the target pace, and the delay) to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also run seeds 1 to N of each scenario (on every core) and show each
    /// policy's figures over them: lockouts, needless delay, work against
    /// the oracle.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub seeds: Option<u64>,
    /// List the built-in scenarios.
    #[arg(long)]
    pub list: bool,
    /// Print the chosen scenario as a JSON trace (a starting point for `--trace`).
    #[arg(long)]
    pub print_trace: bool,
    /// Every metric in the table (wider than 100 columns).
    #[arg(long)]
    pub wide: bool,
}

/// `--scope`: the command line's words for a settings [`Scope`] (the
/// install core knows nothing of the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// `<claude dir>/settings.json`: every project of this user.
    User,
    /// `<project>/.claude/settings.json`: this project, shared with its team.
    Project,
    /// `<project>/.claude/settings.local.json`: this project, this machine only.
    Local,
}

impl From<ScopeArg> for Scope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::User => Scope::User,
            ScopeArg::Project => Scope::Project,
            ScopeArg::Local => Scope::Local,
        }
    }
}

/// `--statusline`: the command line's words for a [`StatusLineMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusLineArg {
    /// Install ours when there is none; otherwise leave the user's and say how to chain it.
    Auto,
    /// Wrap the user's status line: ours runs it and shows its output too.
    Chain,
    /// Replace the user's status line (it is kept in the backup and restored by uninstall).
    Force,
    /// Leave the status line alone.
    Skip,
}

impl From<StatusLineArg> for StatusLineMode {
    fn from(mode: StatusLineArg) -> Self {
        match mode {
            StatusLineArg::Auto => StatusLineMode::Auto,
            StatusLineArg::Chain => StatusLineMode::Chain,
            StatusLineArg::Force => StatusLineMode::Force,
            StatusLineArg::Skip => StatusLineMode::Skip,
        }
    }
}
