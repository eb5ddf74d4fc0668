//! `pace-maker doctor [--json]`: everything pacing depends on, one line each.
//!
//! Two halves. [`gather`] does the I/O: the settings files of every scope,
//! the plugin (where `enabledPlugins` turns it on, the copy Claude Code
//! installed and its hooks file, the binary its launcher finds),
//! the credentials file (only its expiry and plan: the token is never
//! read into a field), the store (schema, a write probe, the switch, the
//! usage API state, the latest status-line capture, the epic), config
//! warnings and the kill switch, all into plain [`Facts`]. [`checks`] is a
//! pure function from facts to check lines, so every verdict and wording
//! is tested without a machine in a particular state. A check fails when
//! it would stop pacing (not installed, hooks pointing at a missing
//! binary, store unusable, switched off, ...); the command then exits 1.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::clock;
use crate::config::{Config, HOOK_TIMEOUT_MARGIN_SECONDS};
use crate::controls::{self, Control};
use crate::dashboard::paint::Paint;
use crate::hook::event::EventKind;
use crate::install::merge::{self, FoundHook, Installation, StatusLineState};
use crate::install::plugin::{self, Enablement, FoundBinary, InstalledCopy};
use crate::install::settings_file::{self, Scope};
use crate::paths::{self, ToolHome};
use crate::store::{Store, SCHEMA_VERSION};

/// The version of the `doctor --json` schema.
pub const DOCTOR_SCHEMA_VERSION: u32 = 1;

/// Claude Code's timeout for an entry without one, in seconds.
const CLAUDE_DEFAULT_TIMEOUT_SECONDS: u64 = 600;

/// Everything the checks look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub now_ms: i64,
    pub version: String,
    /// The running binary (what a current entry calls).
    pub binary: String,
    pub scopes: Vec<ScopeFacts>,
    pub plugin: PluginFacts,
    pub credentials: CredentialsFacts,
    pub store: StoreState,
    pub config_file: String,
    pub config_file_exists: bool,
    pub config_warnings: Vec<String>,
    /// Keys the project's file set that a project may not set.
    pub config_refused: Vec<crate::config::Refused>,
    /// The tool home, and why it may not be used if it may not.
    pub home: String,
    pub home_refused: Option<String>,
    pub limits: Limits,
    pub kill_switch: bool,
    pub project_dir: String,
}

/// The config values the checks compare against.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_delay_seconds: u64,
    pub post_tool_use_timeout_seconds: u64,
    pub stop_timeout_seconds: u64,
    pub other_timeout_seconds: u64,
    pub stale_after_seconds: u64,
    pub pacing_enabled: bool,
    pub momentum_enabled: bool,
}

impl Limits {
    fn from_config(config: &Config) -> Self {
        Self {
            max_delay_seconds: config.pacing.max_delay_seconds,
            post_tool_use_timeout_seconds: config.hooks.post_tool_use_timeout_seconds,
            stop_timeout_seconds: config.hooks.stop_timeout_seconds,
            other_timeout_seconds: config.hooks.other_timeout_seconds,
            stale_after_seconds: config.pacing.stale_after_seconds,
            pacing_enabled: config.pacing.enabled,
            momentum_enabled: config.momentum.enabled,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScopeFacts {
    pub scope: Scope,
    pub path: String,
    pub settings: SettingsFacts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SettingsFacts {
    Missing,
    Broken {
        error: String,
    },
    Read {
        installation: Installation,
        /// Programs our entries call that do not exist.
        missing_programs: Vec<String>,
    },
}

/// The Claude Code plugin, as this machine has it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginFacts {
    /// Each id of the plugin that a scope's `enabledPlugins` names, with
    /// the scope that decides whether it is on.
    pub enablement: Vec<Enablement>,
    /// The copies Claude Code installed, or why its record cannot be read.
    pub copies: Result<Vec<PluginCopyFacts>, String>,
    /// What the plugin's launcher runs.
    pub binary: Option<FoundBinary>,
    /// That binary is the one running doctor (the same file).
    pub binary_is_this: bool,
}

/// One installed copy of the plugin and the hooks its hooks file registers.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginCopyFacts {
    pub copy: InstalledCopy,
    /// Or why the hooks file cannot be read.
    pub hooks: Result<Vec<FoundHook>, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CredentialsFacts {
    Missing {
        path: String,
    },
    /// On macOS Claude Code keeps them in the login keychain.
    Keychain,
    Broken {
        path: String,
        error: String,
    },
    Present {
        path: String,
        /// Whether a subscription (OAuth) login is there at all.
        oauth: bool,
        expires_at_ms: Option<i64>,
        subscription_type: Option<String>,
    },
}

/// The store, as doctor found it. Doctor never creates it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreState {
    /// No file yet: install or the first hook creates it.
    Missing {
        path: String,
    },
    /// It exists but cannot be opened or read.
    Broken {
        error: String,
    },
    Open(Box<StoreFacts>),
}

impl StoreState {
    fn open(&self) -> Option<&StoreFacts> {
        match self {
            StoreState::Open(store) => Some(store),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreFacts {
    pub path: String,
    pub schema_version: i64,
    /// A real write worked: a probe file in the tool home and a committed
    /// row in the store (see `prove_write`); else why not.
    pub writable: Result<(), String>,
    pub control: Control,
    pub api: ApiFacts,
    /// When the status line last recorded official figures.
    pub statusline_taken_at_ms: Option<i64>,
    /// Extra usage as the usage endpoint last reported it.
    pub extra_usage: Option<crate::usage::snapshot::ExtraUsage>,
    /// `pacing.allow_extra_usage` and `pacing.extra_usage_max_spend`.
    pub extra_usage_setting: (bool, f64),
    pub epic: Option<EpicFacts>,
    /// The store was found unreadable and started anew (`meta.store_recovered`).
    pub recovered: Option<Recovery>,
}

/// A corrupt store that was moved aside and replaced by a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub at_ms: i64,
    /// Where the unreadable file went.
    pub moved_to: String,
    /// Whether that file is still there (the person may have deleted it).
    pub moved_file_exists: bool,
}

impl Recovery {
    /// Reads the `meta` note: `<epoch ms> <path>`.
    pub fn from_note(note: &str) -> Option<Self> {
        let (at, path) = note.split_once(' ')?;
        Some(Self {
            at_ms: at.parse().ok()?,
            moved_file_exists: Path::new(path).exists(),
            moved_to: path.to_string(),
        })
    }
}

/// The `api_state` row, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFacts {
    pub state: String,
    pub last_success_at_ms: Option<i64>,
    pub backoff_until_ms: Option<i64>,
    pub failures: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpicFacts {
    /// The folder it is attached to (the project or an ancestor).
    pub attached_to: String,
    pub spec_path: String,
    pub spec_exists: bool,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Info,
    Warn,
    /// Stops pacing (or every hook).
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, status: Status, summary: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status,
            summary: summary.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The `--json` report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// No check failed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// The checks, in report order. Pure.
pub fn checks(facts: &Facts) -> Vec<Check> {
    let mut out = vec![Check::new(
        "version",
        Status::Ok,
        format!("pace-maker {} at {}", facts.version, facts.binary),
    )];
    for scope in &facts.scopes {
        out.push(scope_check(scope, facts));
    }
    out.push(plugin_check(facts));
    out.push(home_check(facts));
    out.push(installed_check(facts));
    out.push(credentials_check(facts));
    out.push(api_check(facts));
    if let Some(check) = extra_usage_check(facts) {
        out.push(check);
    }
    out.push(status_line_check(facts));
    out.push(store_check(facts));
    if let Some(check) = recovery_check(facts) {
        out.push(check);
    }
    out.push(config_check(facts));
    if let Some(check) = project_config_check(facts) {
        out.push(check);
    }
    out.push(switch_check(facts));
    out.push(epic_check(facts));
    out
}

fn ago(now_ms: i64, then_ms: i64) -> String {
    format!("{} ago", clock::human_duration((now_ms - then_ms) / 1000))
}

fn within(now_ms: i64, then_ms: i64) -> String {
    clock::human_duration((then_ms - now_ms) / 1000)
}

fn scope_check(scope: &ScopeFacts, facts: &Facts) -> Check {
    let name = format!("{} scope", scope.scope);
    let reinstall = format!("pace-maker install --scope {}", scope.scope);
    let (installation, missing_programs) = match &scope.settings {
        SettingsFacts::Missing => {
            return Check::new(
                name,
                Status::Info,
                format!("not installed (no {})", scope.path),
            )
        }
        SettingsFacts::Broken { error } => {
            return Check::new(name, Status::Warn, error.clone())
                .hint("fix the file by hand: Claude Code cannot read it either")
        }
        SettingsFacts::Read {
            installation,
            missing_programs,
        } => (installation, missing_programs),
    };
    if !installation.is_installed() {
        if installation.all_hooks_disabled {
            return Check::new(
                name,
                Status::Fail,
                format!(
                    "not installed, and disableAllHooks in {} turns every hook off",
                    scope.path
                ),
            )
            .hint(format!("remove disableAllHooks from {}", scope.path));
        }
        return Check::new(
            name,
            Status::Info,
            format!("not installed ({})", scope.path),
        );
    }
    let mut failures: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    if installation.all_hooks_disabled {
        failures.push("disableAllHooks turns every hook off".into());
    }
    for program in missing_programs {
        failures.push(format!("calls {program}, which does not exist"));
    }
    let mut other_programs: Vec<&str> = installation
        .hooks
        .iter()
        .map(|hook| hook.program.as_str())
        .filter(|program| {
            *program != facts.binary && !missing_programs.iter().any(|m| m == program)
        })
        .collect();
    other_programs.dedup();
    for program in other_programs {
        warnings.push(format!("calls {program}, not this binary"));
    }
    hook_problems(
        &installation.hooks,
        &facts.limits,
        &mut failures,
        &mut warnings,
    );
    if !failures.is_empty() {
        failures.extend(warnings);
        return Check::new(
            name,
            Status::Fail,
            format!("{}: {}", scope.path, failures.join("; ")),
        )
        .hint(reinstall);
    }
    if !warnings.is_empty() {
        return Check::new(
            name,
            Status::Warn,
            format!("{}: {}", scope.path, warnings.join("; ")),
        )
        .hint(reinstall);
    }
    Check::new(
        name,
        Status::Ok,
        format!(
            "installed in {}: {} hooks, current",
            scope.path,
            installation.hooks.len()
        ),
    )
}

/// What is wrong with a set of pace-maker's hook entries (a scope's, or
/// the plugin's): an event missing, a PostToolUse timeout too short for the
/// longest sleep, a narrowed matcher, entries in events it does not use.
fn hook_problems(
    hooks: &[FoundHook],
    limits: &Limits,
    failures: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let needed_post_timeout = limits.max_delay_seconds + HOOK_TIMEOUT_MARGIN_SECONDS;
    for kind in EventKind::ALL {
        let found: Vec<_> = hooks
            .iter()
            .filter(|hook| hook.event == kind.claude_name())
            .collect();
        match found.as_slice() {
            [] if kind == EventKind::PostToolUse => {
                failures.push("no PostToolUse entry, so no pacing".into())
            }
            [] => warnings.push(format!("no {} entry", kind.claude_name())),
            [hook, rest @ ..] => {
                if !rest.is_empty() {
                    warnings.push(format!(
                        "{} entries for {}",
                        found.len(),
                        kind.claude_name()
                    ));
                }
                if hook.argument != kind.cli_name() {
                    warnings.push(format!(
                        "the {} entry runs `hook {}`",
                        kind.claude_name(),
                        hook.argument
                    ));
                }
                let timeout = hook
                    .timeout_seconds
                    .unwrap_or(CLAUDE_DEFAULT_TIMEOUT_SECONDS);
                if kind == EventKind::PostToolUse {
                    if timeout < needed_post_timeout {
                        failures.push(format!(
                            "PostToolUse timeout {timeout} s is under max delay + {HOOK_TIMEOUT_MARGIN_SECONDS} s ({needed_post_timeout} s): long sleeps get killed"
                        ));
                    }
                    if !matches!(hook.matcher.as_deref(), None | Some("" | "*" | ".*")) {
                        warnings.push(format!(
                            "PostToolUse only runs for tools matching `{}`",
                            hook.matcher.as_deref().unwrap_or_default()
                        ));
                    }
                } else if kind == EventKind::Stop {
                    if timeout < limits.stop_timeout_seconds {
                        warnings.push(format!(
                            "Stop timeout {timeout} s is under hooks.stop_timeout_seconds ({} s): a long criterion check gets killed with the hook",
                            limits.stop_timeout_seconds
                        ));
                    }
                } else if timeout < limits.other_timeout_seconds {
                    warnings.push(format!(
                        "{} timeout {timeout} s is under hooks.other_timeout_seconds ({} s)",
                        kind.claude_name(),
                        limits.other_timeout_seconds
                    ));
                }
            }
        }
    }
    let stray: Vec<&str> = hooks
        .iter()
        .filter(|hook| {
            EventKind::parse(&hook.event).is_none_or(|kind| kind.claude_name() != hook.event)
        })
        .map(|hook| hook.event.as_str())
        .collect();
    if !stray.is_empty() {
        warnings.push(format!(
            "entries in events it does not use: {}",
            stray.join(", ")
        ));
    }
}

fn installed_scopes(facts: &Facts) -> Vec<Scope> {
    facts
        .scopes
        .iter()
        .filter(|scope| {
            matches!(&scope.settings, SettingsFacts::Read { installation, .. } if installation.is_installed())
        })
        .map(|scope| scope.scope)
        .collect()
}

/// The programs pace-maker's entries call, over every scope, deduplicated.
fn installed_programs(facts: &Facts) -> Vec<String> {
    let mut programs: Vec<String> = Vec::new();
    for scope in &facts.scopes {
        if let SettingsFacts::Read { installation, .. } = &scope.settings {
            for hook in &installation.hooks {
                if !programs.contains(&hook.program) {
                    programs.push(hook.program.clone());
                }
            }
        }
    }
    programs
}

/// The plugin id enabled here, if any: the scope that decides says `true`.
fn enabled_plugin(facts: &Facts) -> Option<&Enablement> {
    facts.plugin.enablement.iter().find(|found| found.enabled)
}

fn installed_check(facts: &Facts) -> Check {
    let scopes = installed_scopes(facts);
    if let Some(found) = enabled_plugin(facts) {
        let plugin = format!("as the plugin {} ({} scope)", found.id, found.scope);
        if scopes.is_empty() {
            return Check::new("installed", Status::Ok, format!("once, {plugin}"));
        }
        let names: Vec<String> = scopes.iter().map(Scope::to_string).collect();
        // The plugin's commands differ from any settings entry, so Claude
        // Code runs both.
        return Check::new(
            "installed",
            Status::Warn,
            format!(
                "twice: {plugin} and in the {} scope's settings: every event runs twice (pace-maker counts it once)",
                names.join(" and ")
            ),
        )
        .hint(format!(
            "keep one: {} keeps the plugin; `{}` keeps the settings",
            scopes
                .iter()
                .map(|scope| format!("`pace-maker uninstall --scope {scope}`"))
                .collect::<Vec<_>>()
                .join(" and "),
            plugin::uninstall_command(found)
        ));
    }
    match scopes.as_slice() {
        [] => Check::new(
            "installed",
            Status::Fail,
            "not installed in any scope, and the plugin is not enabled: no hook runs",
        )
        .hint(format!(
            "pace-maker install, or the plugin: claude plugin install {}",
            plugin::PLUGIN_ID
        )),
        [scope] => Check::new(
            "installed",
            Status::Ok,
            format!("once, in the {scope} scope"),
        ),
        [first, rest @ ..] => {
            let names: Vec<String> = std::iter::once(first)
                .chain(rest)
                .map(|scope| scope.to_string())
                .collect();
            let programs = installed_programs(facts);
            // Claude Code runs identical hook commands once: two scopes
            // calling the same program are one installation at run time.
            if programs.len() <= 1 {
                return Check::new(
                    "installed",
                    Status::Ok,
                    format!(
                        "in {} scopes with the same command: Claude Code runs it once",
                        names.join(" and ")
                    ),
                );
            }
            Check::new(
                "installed",
                Status::Warn,
                format!(
                    "in {} scopes through different programs ({}): every event runs twice (pace-maker counts it once)",
                    names.join(" and "),
                    programs.join(", ")
                ),
            )
            .hint(format!(
                "keep one: pace-maker uninstall --scope {}",
                rest.last().expect("at least two scopes")
            ))
        }
    }
}

/// The plugin: whether it is enabled and where, and when it is, its hooks
/// (all six, timeouts long enough), the binary its launcher finds, and
/// whether the two versions agree.
fn plugin_check(facts: &Facts) -> Check {
    const NAME: &str = "plugin";
    let Some(found) = enabled_plugin(facts) else {
        if let Some(off) = facts.plugin.enablement.first() {
            return Check::new(
                NAME,
                Status::Info,
                format!(
                    "{} is disabled in the {} scope ({})",
                    off.id, off.scope, off.path
                ),
            );
        }
        return Check::new(NAME, Status::Info, "not enabled here");
    };
    let copies = match &facts.plugin.copies {
        Ok(copies) => copies,
        Err(why) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!(
                    "{} is enabled, but Claude Code's record of its plugins cannot be read: {why}",
                    found.id
                ),
            )
            .hint(format!(
                "install it again: claude plugin install {}",
                found.id
            ))
        }
    };
    let scope_name = found.scope.to_string();
    let candidates: Vec<&PluginCopyFacts> = copies
        .iter()
        .filter(|copy| copy.copy.id == found.id)
        .collect();
    let Some(copy) = candidates
        .iter()
        .find(|copy| copy.copy.scope == scope_name)
        .or(candidates.first())
    else {
        return Check::new(
            NAME,
            Status::Fail,
            format!(
                "{} is enabled in the {} scope ({}), but Claude Code has no installed copy of it: no hook runs",
                found.id, found.scope, found.path
            ),
        )
        .hint(format!("claude plugin install {}", found.id));
    };
    let version = copy.copy.version.as_deref().unwrap_or("?");
    let label = format!(
        "{} {version}, enabled in the {} scope",
        found.id, found.scope
    );
    let hooks = match &copy.hooks {
        Ok(hooks) => hooks,
        Err(why) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("{label}: its hooks file cannot be read: {why}"),
            )
            .hint(format!(
                "install it again: claude plugin uninstall {id} && claude plugin install {id}",
                id = found.id
            ))
        }
    };
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    hook_problems(hooks, &facts.limits, &mut failures, &mut warnings);
    let mut hint = None;
    if !failures.is_empty() || !warnings.is_empty() {
        hint = Some(format!(
            "the plugin's timeouts are this version's defaults (PostToolUse {} s): keep pacing.max_delay_seconds at {} s or less, or use `pace-maker install`, which writes them from config",
            crate::config::Config::default().hooks.post_tool_use_timeout_seconds,
            crate::config::Config::default().hooks.post_tool_use_timeout_seconds - HOOK_TIMEOUT_MARGIN_SECONDS
        ));
    }
    let running = match &facts.plugin.binary {
        None => {
            failures.push(
                "its hooks find no pace-maker program (not at the path install records, on PATH or in ~/.cargo/bin): they do nothing".into(),
            );
            hint = Some(
                "`pace-maker install --statusline-only` records this binary for the plugin (and sets the status line); or put pace-maker on PATH".into(),
            );
            String::new()
        }
        Some(binary) => {
            if !facts.plugin.binary_is_this {
                warnings.push(format!(
                    "its hooks run {} ({}), not this binary",
                    binary.path.display(),
                    binary.source
                ));
                hint.get_or_insert_with(|| {
                    "`pace-maker install --statusline-only`, run from the binary the hooks should run, records it for the plugin".into()
                });
            } else if version != facts.version {
                warnings.push(format!(
                    "the plugin is {version}, the binary {}",
                    facts.version
                ));
                hint.get_or_insert_with(|| {
                    format!(
                        "bring them to one version: `claude plugin update {}`, or install the binary of the plugin's version",
                        found.id
                    )
                });
            }
            format!(", running {} ({})", binary.path.display(), binary.source)
        }
    };
    let (status, problems) = if !failures.is_empty() {
        failures.extend(warnings);
        (Status::Fail, failures)
    } else if !warnings.is_empty() {
        (Status::Warn, warnings)
    } else {
        return Check::new(
            NAME,
            Status::Ok,
            format!("{label}: {} hooks{running}", hooks.len()),
        );
    };
    let check = Check::new(NAME, status, format!("{label}: {}", problems.join("; ")));
    match hint {
        Some(hint) => check.hint(hint),
        None => check,
    }
}

fn credentials_check(facts: &Facts) -> Check {
    const NAME: &str = "credentials";
    match &facts.credentials {
        CredentialsFacts::Missing { path } => Check::new(
            NAME,
            Status::Warn,
            format!("none at {path}: the usage API cannot be asked (the status line and the estimate still work)"),
        )
        .hint("log in to Claude Code with a Pro or Max subscription (`claude`, then /login)"),
        CredentialsFacts::Keychain => Check::new(NAME, Status::Info, "in the macOS keychain (not read by doctor)"),
        CredentialsFacts::Broken { path, error } => Check::new(NAME, Status::Warn, format!("{path}: {error}"))
            .hint("log in to Claude Code again (`claude`, then /login)"),
        CredentialsFacts::Present { oauth: false, path, .. } => Check::new(
            NAME,
            Status::Warn,
            format!("{path} holds no subscription login: the usage API cannot be asked"),
        )
        .hint("log in to Claude Code with a Pro or Max subscription (`claude`, then /login)"),
        CredentialsFacts::Present {
            expires_at_ms,
            subscription_type,
            ..
        } => {
            let plan = subscription_type
                .as_deref()
                .map(|plan| format!(" ({plan} plan)"))
                .unwrap_or_default();
            match expires_at_ms {
                Some(expires) if *expires <= facts.now_ms => Check::new(
                    NAME,
                    Status::Warn,
                    format!("present{plan}, token expired {}", ago(facts.now_ms, *expires)),
                )
                .hint("Claude Code refreshes it when it next runs; until then the usage API is skipped"),
                Some(expires) => Check::new(
                    NAME,
                    Status::Ok,
                    format!("present{plan}, token valid for {}", within(facts.now_ms, *expires)),
                ),
                None => Check::new(NAME, Status::Ok, format!("present{plan}")),
            }
        }
    }
}

fn api_check(facts: &Facts) -> Check {
    const NAME: &str = "usage api";
    let store = match &facts.store {
        StoreState::Open(store) => store,
        StoreState::Missing { .. } => return Check::new(NAME, Status::Info, "not asked yet"),
        StoreState::Broken { .. } => {
            return Check::new(NAME, Status::Info, "unknown: the store cannot be read")
        }
    };
    let api = &store.api;
    let last_success = api
        .last_success_at_ms
        .map(|at| format!(", last answer {}", ago(facts.now_ms, at)))
        .unwrap_or_default();
    match api.state.as_str() {
        "ok" => Check::new(NAME, Status::Ok, format!("reachable{last_success}")),
        "unknown" => Check::new(NAME, Status::Info, "not asked yet"),
        state => {
            let error = api
                .last_error
                .as_deref()
                .map(|error| format!(": {error}"))
                .unwrap_or_default();
            let backoff = match api.backoff_until_ms {
                Some(until) if until > facts.now_ms => {
                    format!(", next try in {}", within(facts.now_ms, until))
                }
                _ => String::new(),
            };
            Check::new(
                NAME,
                Status::Warn,
                format!(
                    "{state}{error} ({} failures{backoff}{last_success})",
                    api.failures
                ),
            )
            .hint("`pace-maker usage refresh` tries again (respecting the backoff)")
        }
    }
}

/// Extra usage, when the usage endpoint reported it: on or off, spent and
/// limit, and whether pacing lets a mission use it.
fn extra_usage_check(facts: &Facts) -> Option<Check> {
    let StoreState::Open(store) = &facts.store else {
        return None;
    };
    let extra = store.extra_usage?;
    let (allowed, max_spend) = store.extra_usage_setting;
    let pacing = if !extra.is_enabled {
        String::new()
    } else if allowed {
        format!("; pacing lets missions use it up to {max_spend:.2} (pacing.allow_extra_usage)")
    } else {
        "; pacing keeps missions inside the plan's limits".to_string()
    };
    Some(Check::new(
        "extra usage",
        Status::Info,
        format!("{}{pacing}", extra.describe()),
    ))
}

fn status_line_check(facts: &Facts) -> Check {
    const NAME: &str = "status line";
    let ours = facts.scopes.iter().any(|scope| {
        matches!(&scope.settings, SettingsFacts::Read { installation, .. }
            if matches!(installation.status_line, StatusLineState::Ours { .. }))
    });
    let captured = facts
        .store
        .open()
        .and_then(|store| store.statusline_taken_at_ms);
    match captured {
        Some(at) if facts.now_ms - at <= facts.limits.stale_after_seconds as i64 * 1000 => {
            Check::new(
                NAME,
                Status::Ok,
                format!("rate limits captured {}", ago(facts.now_ms, at)),
            )
        }
        Some(at) => Check::new(
            NAME,
            Status::Info,
            format!(
                "rate limits last captured {} (it runs only in interactive sessions)",
                ago(facts.now_ms, at)
            ),
        ),
        None if ours => Check::new(
            NAME,
            Status::Info,
            "installed, nothing captured yet (it runs only in interactive sessions)",
        ),
        None => Check::new(
            NAME,
            Status::Info,
            "not pace-maker's: usage comes from the API and the estimate",
        )
        .hint("pace-maker install --statusline chain (keeps yours and shows both)"),
    }
}

fn store_check(facts: &Facts) -> Check {
    const NAME: &str = "store";
    match &facts.store {
        StoreState::Missing { path } => {
            Check::new(NAME, Status::Warn, format!("{path} does not exist yet"))
                .hint("pace-maker install creates it (so does the first hook)")
        }
        StoreState::Broken { error } => Check::new(NAME, Status::Fail, error.clone())
            .hint("the tool home must be a writable folder (PACE_MAKER_HOME moves it)"),
        StoreState::Open(store) if store.schema_version > SCHEMA_VERSION => Check::new(
            NAME,
            Status::Fail,
            format!(
                "{}: schema {} is newer than this build's {SCHEMA_VERSION}",
                store.path, store.schema_version
            ),
        )
        .hint("update pace-maker"),
        StoreState::Open(store) => match &store.writable {
            Err(error) => Check::new(
                NAME,
                Status::Fail,
                format!("{} is not writable: {error}", store.path),
            )
            .hint(unwritable_hint(error, &store.path)),
            Ok(()) => Check::new(
                NAME,
                Status::Ok,
                format!("{}, writable, schema {}", store.path, store.schema_version),
            ),
        },
    }
}

/// What to do about a store that failed `prove_write`, by the OS or
/// SQLite reason in `error`: hooks record nothing until it is fixed.
fn unwritable_hint(error: &str, path: &str) -> String {
    let has = |needles: &[&str]| needles.iter().any(|needle| error.contains(needle));
    if has(&["os error 28", "os error 122", "disk is full"]) {
        "the disk holding it is full: free some space (hooks record nothing until then)".into()
    } else if has(&["os error 30", "readonly", "read-only"]) {
        "it is on a read-only file system or is a read-only file: make it writable, or point PACE_MAKER_HOME at a writable folder".into()
    } else if has(&["database is locked", "database is busy"]) {
        "another process held its write lock longer than store.busy_timeout_ms: run doctor again"
            .into()
    } else {
        format!("check the permissions of {path} and its folder")
    }
}

/// Said only after a recovery: the store was unreadable, and where the old file went.
fn recovery_check(facts: &Facts) -> Option<Check> {
    let recovery = facts.store.open()?.recovered.as_ref()?;
    let when = clock::iso(recovery.at_ms);
    Some(if recovery.moved_file_exists {
        Check::new(
            "store recovery",
            Status::Warn,
            format!(
                "the store was unreadable and recovered at {when}; the old file is {}",
                recovery.moved_to
            ),
        )
        .hint("history before then is in that file; delete it once you no longer need it")
    } else {
        Check::new(
            "store recovery",
            Status::Info,
            format!("the store was unreadable and recovered at {when}"),
        )
    })
}

fn home_check(facts: &Facts) -> Check {
    const NAME: &str = "home";
    match &facts.home_refused {
        None => Check::new(NAME, Status::Ok, format!("{} is yours alone", facts.home)),
        Some(why) => Check::new(NAME, Status::Fail, why.clone()).hint(
            "hooks do nothing while the tool home is not yours alone: `chmod 700` it, or point PACE_MAKER_HOME at a folder of your own",
        ),
    }
}

/// Keys a project file set that a project may not set (docs/security.md).
fn project_config_check(facts: &Facts) -> Option<Check> {
    let first = facts.config_refused.first()?;
    let keys: Vec<&str> = facts
        .config_refused
        .iter()
        .map(|refused| refused.key.as_str())
        .collect();
    Some(
        Check::new(
            "project config",
            Status::Warn,
            format!(
                "{} refused from {}: {} ({})",
                if keys.len() == 1 { "1 key" } else { "keys" },
                first.origin,
                keys.join(", "),
                first.why
            ),
        )
        .hint("a project file may not set these; they are ignored (pace-maker config list shows them)"),
    )
}

fn config_check(facts: &Facts) -> Check {
    const NAME: &str = "config";
    match facts.config_warnings.as_slice() {
        [] if facts.config_file_exists => {
            Check::new(NAME, Status::Ok, format!("{} is valid", facts.config_file))
        }
        [] => Check::new(
            NAME,
            Status::Ok,
            format!("defaults (no {})", facts.config_file),
        ),
        [first, rest @ ..] => {
            let more = if rest.is_empty() {
                String::new()
            } else {
                format!(" (and {} more)", rest.len())
            };
            Check::new(NAME, Status::Warn, format!("{first}{more}"))
                .hint("pace-maker config list --resolved shows what is in force")
        }
    }
}

fn switch_check(facts: &Facts) -> Check {
    const NAME: &str = "switch";
    if facts.kill_switch {
        return Check::new(
            NAME,
            Status::Fail,
            format!("{} is set: every hook exits at once", paths::ENV_DISABLE),
        )
        .hint(format!("unset {}", paths::ENV_DISABLE));
    }
    let control = match &facts.store {
        StoreState::Open(store) => store.control,
        // A store not created yet is switched on.
        StoreState::Missing { .. } => Control::On,
        StoreState::Broken { .. } => {
            return Check::new(NAME, Status::Info, "unknown: the store cannot be read")
        }
    };
    match control {
        Control::Off => {
            Check::new(NAME, Status::Fail, "off: hooks do nothing").hint("pace-maker on")
        }
        Control::Paused { until_ms } => Check::new(
            NAME,
            Status::Warn,
            format!(
                "paused for {} more: no delays, no stop blocks",
                within(facts.now_ms, until_ms)
            ),
        )
        .hint("pace-maker resume"),
        Control::On if !facts.limits.pacing_enabled => Check::new(
            NAME,
            Status::Fail,
            "on, but pacing.enabled is false: no delays",
        )
        .hint("pace-maker config set pacing.enabled true"),
        Control::On => Check::new(NAME, Status::Ok, "on"),
    }
}

fn epic_check(facts: &Facts) -> Check {
    const NAME: &str = "epic";
    let epic = match &facts.store {
        StoreState::Open(store) => store.epic.as_ref(),
        StoreState::Missing { .. } => None,
        StoreState::Broken { .. } => {
            return Check::new(NAME, Status::Info, "unknown: the store cannot be read")
        }
    };
    let momentum = if facts.limits.momentum_enabled {
        ""
    } else {
        " (momentum.enabled is false: Stop is never blocked)"
    };
    match epic {
        Some(epic) if !epic.spec_exists => Check::new(
            NAME,
            Status::Warn,
            format!(
                "the spec {} attached to {} is missing",
                epic.spec_path, epic.attached_to
            ),
        )
        .hint("pace-maker epic attach SPEC (or epic detach)"),
        Some(epic) => Check::new(
            NAME,
            Status::Ok,
            format!(
                "{} attached to {}{momentum}",
                epic.spec_path, epic.attached_to
            ),
        ),
        None => Check::new(
            NAME,
            Status::Info,
            format!(
                "none for {}: Stop is not blocked here{momentum}",
                facts.project_dir
            ),
        ),
    }
}

/// The report as text: one line per check, a hint under each that needs one.
pub fn render_text(checks: &[Check]) -> String {
    render_text_painted(checks, Paint::PLAIN)
}

/// The text report, its labels coloured as `status` colours its state
/// (a failure red, a warning yellow, ok green) when `paint` is enabled.
pub fn render_text_painted(checks: &[Check], paint: Paint) -> String {
    let width = checks
        .iter()
        .map(|check| check.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        let label = format!("{:<4}", check.status.label());
        let label = match check.status {
            Status::Fail => paint.red(&label),
            Status::Warn => paint.yellow(&label),
            Status::Ok => paint.green(&label),
            Status::Info => label,
        };
        out.push_str(&format!(
            "{label}  {:<width$}  {}\n",
            check.name, check.summary
        ));
        if let Some(hint) = &check.hint {
            out.push_str(&format!("{:<4}  {:<width$}  hint: {hint}\n", "", ""));
        }
    }
    let failures = checks
        .iter()
        .filter(|check| check.status == Status::Fail)
        .count();
    let warnings = checks
        .iter()
        .filter(|check| check.status == Status::Warn)
        .count();
    let plural =
        |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    if failures == 0 {
        out.push_str(&format!(
            "pacing can work ({})\n",
            plural(warnings, "warning")
        ));
    } else {
        out.push_str(&format!(
            "{} {} pacing ({})\n",
            plural(failures, "problem"),
            if failures == 1 { "stops" } else { "stop" },
            plural(warnings, "warning")
        ));
    }
    out
}

/// Reads everything the checks need. Never fails: what cannot be read
/// becomes a fact of its own.
pub fn gather(home: &ToolHome, now_ms: i64) -> Facts {
    let project_dir =
        std::path::absolute(paths::project_dir()).unwrap_or_else(|_| paths::project_dir());
    let loaded = Config::load(home, Some(&project_dir));
    let home_refused = home.trust().err();
    let claude_dir = paths::claude_dir();
    let mut seen = Vec::new();
    let mut scopes = Vec::new();
    let mut values = Vec::new();
    for scope in Scope::ALL {
        let path = scope.path(&claude_dir, &project_dir);
        let identity = settings_file::identity(&path);
        // With the project at $HOME, two scopes name one file.
        if seen.contains(&identity) {
            continue;
        }
        seen.push(identity);
        let settings = match settings_file::read(&path) {
            Ok(file) if !file.exists() => SettingsFacts::Missing,
            Ok(file) => {
                values.push((scope, path.display().to_string(), file.value.clone()));
                let installation = merge::inspect(&file.value);
                let mut missing_programs: Vec<String> = installation
                    .hooks
                    .iter()
                    .map(|hook| hook.program.clone())
                    .filter(|program| !program_exists(program))
                    .collect();
                missing_programs.dedup();
                SettingsFacts::Read {
                    installation,
                    missing_programs,
                }
            }
            Err(error) => SettingsFacts::Broken {
                error: strip_hint(&error.to_string()),
            },
        };
        scopes.push(ScopeFacts {
            scope,
            path: path.display().to_string(),
            settings,
        });
    }
    Facts {
        now_ms,
        version: env!("CARGO_PKG_VERSION").to_string(),
        binary: crate::commands::install::current_binary()
            .unwrap_or_else(|error| format!("unknown ({error})")),
        scopes,
        plugin: read_plugin(&claude_dir, &values),
        credentials: read_credentials(&claude_dir),
        store: match &home_refused {
            None => read_store(home, &loaded.config, &project_dir, now_ms),
            Some(_) => StoreState::Broken {
                error: "not opened: the tool home is not yours alone".into(),
            },
        },
        config_file: home.config_file().display().to_string(),
        config_file_exists: home.config_file().is_file(),
        config_warnings: loaded.warnings,
        config_refused: loaded.refused,
        home: home.root().display().to_string(),
        home_refused,
        limits: Limits::from_config(&loaded.config),
        kill_switch: paths::kill_switch(),
        project_dir: project_dir.display().to_string(),
    }
}

/// The plugin: where the settings enable it, the copies Claude Code
/// installed with their hooks files, and the binary its launcher finds.
fn read_plugin(claude_dir: &Path, settings: &[(Scope, String, serde_json::Value)]) -> PluginFacts {
    let enablement = plugin::enablement(
        settings
            .iter()
            .map(|(scope, path, value)| (*scope, path.as_str(), value)),
    );
    let copies = plugin::installed_copies(claude_dir).map(|copies| {
        copies
            .into_iter()
            .map(|copy| {
                let path = copy.install_path.join(plugin::HOOKS_FILE);
                let hooks = std::fs::read_to_string(&path)
                    .map_err(|error| format!("{}: {error}", path.display()))
                    .and_then(|text| {
                        serde_json::from_str(&text)
                            .map_err(|error| format!("{}: {error}", path.display()))
                    })
                    .map(|value| plugin::inspect_hooks(&value));
                PluginCopyFacts { copy, hooks }
            })
            .collect()
    });
    let binary = plugin::find_binary(&plugin::Lookup::from_env());
    let this = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let binary_is_this = binary.as_ref().is_some_and(|found| {
        std::fs::canonicalize(&found.path)
            .ok()
            .is_some_and(|path| Some(path) == this)
    });
    PluginFacts {
        enablement,
        copies,
        binary,
        binary_is_this,
    }
}

fn strip_hint(message: &str) -> String {
    match message.find(" (hint:") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// Whether the program an entry calls is there (a bare name is looked up in `PATH`).
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|folder| folder.join(program).is_file()))
        .unwrap_or(false)
}

fn read_credentials(claude_dir: &Path) -> CredentialsFacts {
    let path = crate::usage::credentials::credentials_file(claude_dir);
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return if cfg!(target_os = "macos") {
                CredentialsFacts::Keychain
            } else {
                CredentialsFacts::Missing { path: shown }
            };
        }
        Err(error) => {
            return CredentialsFacts::Broken {
                path: shown,
                error: error.to_string(),
            }
        }
    };
    match crate::usage::credentials::login_facts(text.as_bytes()) {
        Ok(Some(facts)) => CredentialsFacts::Present {
            path: shown,
            oauth: true,
            expires_at_ms: facts.expires_at_ms,
            subscription_type: facts.subscription_type,
        },
        Ok(None) => CredentialsFacts::Present {
            path: shown,
            oauth: false,
            expires_at_ms: None,
            subscription_type: None,
        },
        // The parser's message could quote the file; say only where it broke.
        Err(error) => CredentialsFacts::Broken {
            path: shown,
            error: format!(
                "not valid JSON (line {}, column {})",
                error.line(),
                error.column()
            ),
        },
    }
}

fn read_store(home: &ToolHome, config: &Config, project_dir: &Path, now_ms: i64) -> StoreState {
    let path = home.store_file();
    if !path.exists() {
        return StoreState::Missing {
            path: path.display().to_string(),
        };
    }
    match open_store(home, config, project_dir, now_ms) {
        Ok(store) => StoreState::Open(Box::new(store)),
        Err(error) => StoreState::Broken { error },
    }
}

fn open_store(
    home: &ToolHome,
    config: &Config,
    project_dir: &Path,
    now_ms: i64,
) -> Result<StoreFacts, String> {
    let mut store = Store::open_home(home, config).map_err(|error| format!("{error:#}"))?;
    let writable = prove_write(home, &mut store);
    let read = || -> rusqlite::Result<StoreFacts> {
        let connection = store.connection();
        let api = connection.query_row(
            "SELECT state, last_success_at, backoff_until, failures, last_error FROM api_state WHERE id = 1",
            [],
            |row| {
                Ok(ApiFacts {
                    state: row.get(0)?,
                    last_success_at_ms: row.get(1)?,
                    backoff_until_ms: row.get(2)?,
                    failures: row.get(3)?,
                    last_error: row.get(4)?,
                })
            },
        )?;
        let statusline_taken_at_ms = connection.query_row(
            "SELECT max(taken_at) FROM usage_snapshots WHERE source = 'statusline'",
            [],
            |row| row.get(0),
        )?;
        Ok(StoreFacts {
            path: store.path().display().to_string(),
            schema_version: store.schema_version()?,
            writable: writable.clone(),
            control: controls::read(connection, now_ms)?,
            api,
            statusline_taken_at_ms,
            extra_usage: crate::usage::snapshot::latest(
                connection,
                crate::usage::snapshot::SnapshotSource::Api,
            )?
            .and_then(|api| api.extra_usage()),
            extra_usage_setting: (
                config.pacing.allow_extra_usage,
                config.pacing.extra_usage_max_spend,
            ),
            epic: find_epic(connection, project_dir)?,
            recovered: store
                .meta(crate::store::META_STORE_RECOVERED)?
                .as_deref()
                .and_then(Recovery::from_note),
        })
    };
    read().map_err(|error| format!("cannot read the store {}: {error}", store.path().display()))
}

/// Bytes of doctor's probe file: room for a few hooks' store pages.
const PROBE_BYTES: usize = 64 * 1024;

/// Proves the store takes a write as a hook's would, or says why not (the
/// OS or SQLite error). First a file of [`PROBE_BYTES`] is written, synced
/// and deleted in the tool home: a full disk or a read-only mount fails
/// there even while SQLite could still reuse its WAL's pages. Then a row
/// is inserted into `meta` and deleted again in a committed transaction,
/// which writes the store's WAL (an empty transaction writes nothing).
fn prove_write(home: &ToolHome, store: &mut Store) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = home
        .root()
        .join(format!("{}{}", paths::PROBE_PREFIX, std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&probe)
        .and_then(|mut file| {
            file.write_all(&[0u8; PROBE_BYTES])?;
            file.sync_all()
        });
    let _ = std::fs::remove_file(&probe);
    written
        .map_err(|error| format!("cannot write a file in {}: {error}", home.root().display()))?;
    store
        .write(|transaction| {
            transaction.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('doctor_write_probe', ?1)",
                [clock::now_ms().to_string()],
            )?;
            transaction.execute("DELETE FROM meta WHERE key = 'doctor_write_probe'", [])?;
            Ok(())
        })
        .map_err(|error| format!("a committed write to the store failed: {error}"))
}

/// The epic of the project folder or its nearest ancestor, as the Stop hook finds it.
fn find_epic(
    connection: &rusqlite::Connection,
    project_dir: &Path,
) -> rusqlite::Result<Option<EpicFacts>> {
    Ok(
        crate::momentum::find_epic(connection, project_dir)?.map(|epic| EpicFacts {
            spec_exists: epic.spec_path.is_file(),
            spec_path: epic.spec_path.display().to_string(),
            attached_to: epic.project_dir,
        }),
    )
}

/// `pace-maker doctor [--json]`.
pub fn run(home: &ToolHome, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let facts = gather(home, clock::now_ms());
    let checks = checks(&facts);
    let ok = checks.iter().all(|check| check.status != Status::Fail);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let report = Report {
            schema_version: DOCTOR_SCHEMA_VERSION,
            ok,
            checks,
        };
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        let paint = Paint::for_stream(std::io::stdout().is_terminal());
        stdout.write_all(render_text_painted(&checks, paint).as_bytes())?;
    }
    stdout.flush()?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::merge::{InstallOptions, StatusLineMode};
    use serde_json::json;

    const NOW: i64 = 1_780_000_000_000;
    const MINUTE: i64 = 60_000;
    const BIN: &str = "/usr/local/bin/pace-maker";

    fn installed_at(binary: &str, post_tool_use_timeout_seconds: u64) -> SettingsFacts {
        let settings = crate::install::merge::install(
            &json!({}),
            &InstallOptions {
                binary: binary.into(),
                post_tool_use_timeout_seconds,
                stop_timeout_seconds: 300,
                other_timeout_seconds: 10,
                status_line: StatusLineMode::Auto,
            },
        )
        .unwrap()
        .settings;
        SettingsFacts::Read {
            installation: merge::inspect(&settings),
            missing_programs: Vec::new(),
        }
    }

    fn scope(scope: Scope, settings: SettingsFacts) -> ScopeFacts {
        let path = match scope {
            Scope::User => "/home/dev/.claude/settings.json",
            Scope::Project => "/home/dev/project/.claude/settings.json",
            Scope::Local => "/home/dev/project/.claude/settings.local.json",
        };
        ScopeFacts {
            scope,
            path: path.into(),
            settings,
        }
    }

    fn healthy() -> Facts {
        Facts {
            now_ms: NOW,
            version: "0.1.0".into(),
            binary: BIN.into(),
            scopes: vec![
                scope(Scope::User, installed_at(BIN, 300)),
                scope(Scope::Project, SettingsFacts::Missing),
                scope(
                    Scope::Local,
                    SettingsFacts::Read {
                        installation: merge::inspect(&json!({"permissions": {}})),
                        missing_programs: Vec::new(),
                    },
                ),
            ],
            plugin: PluginFacts {
                enablement: Vec::new(),
                copies: Ok(Vec::new()),
                binary: None,
                binary_is_this: false,
            },
            credentials: CredentialsFacts::Present {
                path: "/home/dev/.claude/.credentials.json".into(),
                oauth: true,
                expires_at_ms: Some(NOW + 5 * 60 * MINUTE),
                subscription_type: Some("max".into()),
            },
            store: StoreState::Open(Box::new(StoreFacts {
                path: "/home/dev/.claude-pace-maker/pace-maker.db".into(),
                // A literal, so the snapshot outlives new migrations.
                schema_version: 1,
                writable: Ok(()),
                control: Control::On,
                api: ApiFacts {
                    state: "ok".into(),
                    last_success_at_ms: Some(NOW - 4 * MINUTE),
                    backoff_until_ms: None,
                    failures: 0,
                    last_error: None,
                },
                statusline_taken_at_ms: Some(NOW - 3 * MINUTE),
                extra_usage: None,
                extra_usage_setting: (false, 0.0),
                epic: Some(EpicFacts {
                    attached_to: "/home/dev/project".into(),
                    spec_path: "/home/dev/project/EPIC.md".into(),
                    spec_exists: true,
                }),
                recovered: None,
            })),
            config_file: "/home/dev/.claude-pace-maker/config.toml".into(),
            config_file_exists: true,
            config_warnings: Vec::new(),
            config_refused: Vec::new(),
            home: "/home/dev/.claude-pace-maker".into(),
            home_refused: None,
            limits: Limits::from_config(&Config::default()),
            kill_switch: false,
            project_dir: "/home/dev/project".into(),
        }
    }

    fn broken() -> Facts {
        let mut facts = healthy();
        let mut stale = installed_at("/old/bin/pace-maker", 60);
        if let SettingsFacts::Read {
            missing_programs, ..
        } = &mut stale
        {
            missing_programs.push("/old/bin/pace-maker".into());
        }
        facts.scopes = vec![
            scope(Scope::User, stale),
            scope(
                Scope::Project,
                SettingsFacts::Broken {
                    error: "/home/dev/project/.claude/settings.json is not valid JSON: expected `,` or `}` at line 3, column 5".into(),
                },
            ),
            scope(Scope::Local, installed_at(BIN, 300)),
        ];
        facts.credentials = CredentialsFacts::Present {
            path: "/home/dev/.claude/.credentials.json".into(),
            oauth: true,
            expires_at_ms: Some(NOW - 2 * 60 * MINUTE),
            subscription_type: Some("pro".into()),
        };
        if let StoreState::Open(store) = &mut facts.store {
            store.control = Control::Off;
            store.api = ApiFacts {
                state: "backing-off".into(),
                last_success_at_ms: Some(NOW - 3 * 60 * MINUTE),
                backoff_until_ms: Some(NOW + 10 * MINUTE),
                failures: 3,
                last_error: Some("HTTP 429 Too Many Requests".into()),
            };
            store.statusline_taken_at_ms = None;
            store.epic = Some(EpicFacts {
                attached_to: "/home/dev".into(),
                spec_path: "/home/dev/gone.md".into(),
                spec_exists: false,
            });
        }
        facts.config_warnings = vec![
            "/home/dev/.claude-pace-maker/config.toml: `pacing.target_percent` must be in (0, 100]; keeping 95.0".into(),
            "/home/dev/.claude-pace-maker/config.toml: unknown key `pacing.speed`; keeping nothing".into(),
        ];
        facts.config_refused = vec![crate::config::Refused {
            key: "usage.api_base".into(),
            value: "\"https://collector.example\"".into(),
            origin: "/home/dev/project/.claude/pace-maker.toml".into(),
            why: "it decides where requests go and what they carry".into(),
        }];
        facts.home_refused = Some(
            "the tool home /home/dev/.claude-pace-maker is writable by others (mode 777); `chmod 700` it".into(),
        );
        facts
    }

    #[test]
    fn two_scopes_run_twice_only_through_two_different_programs() {
        let mut same = healthy();
        same.scopes[2] = scope(Scope::Local, installed_at(BIN, 300));
        assert_eq!(status_of(&same, "installed"), Status::Ok);
        let mut different = healthy();
        different.scopes[2] = scope(Scope::Local, installed_at("/elsewhere/pace-maker", 300));
        assert_eq!(status_of(&different, "installed"), Status::Warn);
    }

    fn status_of(facts: &Facts, name: &str) -> Status {
        checks(facts)
            .into_iter()
            .find(|check| check.name == name)
            .unwrap_or_else(|| panic!("no check {name}"))
            .status
    }

    #[test]
    fn a_healthy_setup_reports_every_check_ok() {
        let checks = checks(&healthy());
        insta::assert_snapshot!("doctor_healthy", render_text(&checks));
        assert!(checks.iter().all(|check| check.status != Status::Fail));
    }

    #[test]
    fn a_broken_setup_reports_each_problem_with_a_hint() {
        let checks = checks(&broken());
        insta::assert_snapshot!("doctor_broken", render_text(&checks));
        for check in &checks {
            if matches!(check.status, Status::Warn | Status::Fail) {
                assert!(check.hint.is_some(), "{} has no hint", check.name);
            }
        }
    }

    #[test]
    fn a_broken_store_and_the_kill_switch_fail() {
        let mut facts = healthy();
        facts.kill_switch = true;
        facts.store = StoreState::Broken {
            error: "cannot create /home/dev/.claude-pace-maker: Not a directory (os error 20)"
                .into(),
        };
        insta::assert_snapshot!("doctor_store_broken", render_text(&checks(&facts)));
    }

    #[test]
    fn verdicts_for_single_facts() {
        type Change = fn(&mut Facts);
        let cases: [(&str, Change, &str, Status); 10] = [
            (
                "not installed anywhere fails",
                |facts| facts.scopes[0].settings = SettingsFacts::Missing,
                "installed",
                Status::Fail,
            ),
            (
                "a paused switch warns",
                |facts| {
                    if let StoreState::Open(store) = &mut facts.store {
                        store.control = Control::Paused {
                            until_ms: NOW + 42 * MINUTE,
                        };
                    }
                },
                "switch",
                Status::Warn,
            ),
            (
                "pacing disabled in config fails",
                |facts| facts.limits.pacing_enabled = false,
                "switch",
                Status::Fail,
            ),
            (
                "a store not created yet warns but leaves the switch on",
                |facts| {
                    facts.store = StoreState::Missing {
                        path: "/x/pace-maker.db".into(),
                    }
                },
                "store",
                Status::Warn,
            ),
            (
                "a newer schema fails",
                |facts| {
                    if let StoreState::Open(store) = &mut facts.store {
                        store.schema_version = SCHEMA_VERSION + 1;
                    }
                },
                "store",
                Status::Fail,
            ),
            (
                "an unwritable store fails",
                |facts| {
                    if let StoreState::Open(store) = &mut facts.store {
                        store.writable = Err("attempt to write a readonly database".into());
                    }
                },
                "store",
                Status::Fail,
            ),
            (
                "a timeout of exactly max delay plus the margin is enough",
                |facts| facts.scopes[0].settings = installed_at(BIN, 270),
                "user scope",
                Status::Ok,
            ),
            (
                "a timeout one second shorter fails",
                |facts| facts.scopes[0].settings = installed_at(BIN, 269),
                "user scope",
                Status::Fail,
            ),
            (
                "another existing binary warns",
                |facts| facts.scopes[0].settings = installed_at("/opt/pace-maker", 300),
                "user scope",
                Status::Warn,
            ),
            (
                "missing credentials warn",
                |facts| facts.credentials = CredentialsFacts::Missing { path: "/x".into() },
                "credentials",
                Status::Warn,
            ),
        ];
        for (name, change, check, expected) in cases {
            let mut facts = healthy();
            change(&mut facts);
            assert_eq!(status_of(&facts, check), expected, "{name}");
        }
        let mut missing = healthy();
        missing.store = StoreState::Missing {
            path: "/x/pace-maker.db".into(),
        };
        assert_eq!(status_of(&missing, "switch"), Status::Ok);
    }

    /// `facts` with the plugin enabled in the user scope: installed from
    /// the marketplace with the hooks file of these timeouts, its launcher
    /// finding this binary.
    fn with_plugin(mut facts: Facts, post_tool_use_timeout_seconds: u64) -> Facts {
        let file = plugin::hooks_file(post_tool_use_timeout_seconds, 10);
        facts.plugin = PluginFacts {
            enablement: vec![Enablement {
                id: plugin::PLUGIN_ID.into(),
                scope: Scope::User,
                path: "/home/dev/.claude/settings.json".into(),
                enabled: true,
            }],
            copies: Ok(vec![PluginCopyFacts {
                copy: InstalledCopy {
                    id: plugin::PLUGIN_ID.into(),
                    scope: "user".into(),
                    install_path:
                        "/home/dev/.claude/plugins/cache/claude-pace-maker/pace-maker/0.1.0".into(),
                    version: Some("0.1.0".into()),
                    project_path: None,
                },
                hooks: Ok(plugin::inspect_hooks(&file)),
            }]),
            binary: Some(FoundBinary {
                path: BIN.into(),
                source: plugin::BinarySource::Path,
            }),
            binary_is_this: true,
        };
        facts
    }

    fn check_named(facts: &Facts, name: &str) -> Check {
        checks(facts)
            .into_iter()
            .find(|check| check.name == name)
            .unwrap_or_else(|| panic!("no check {name}"))
    }

    #[test]
    fn the_plugin_alone_is_one_installation() {
        let mut facts = with_plugin(healthy(), 300);
        facts.scopes[0] = scope(
            Scope::User,
            SettingsFacts::Read {
                installation: merge::inspect(
                    &json!({"enabledPlugins": {"pace-maker@claude-pace-maker": true}}),
                ),
                missing_programs: Vec::new(),
            },
        );
        let plugin = check_named(&facts, "plugin");
        assert_eq!(plugin.status, Status::Ok, "{plugin:?}");
        assert!(
            plugin.summary.contains(
                "enabled in the user scope: 6 hooks, running /usr/local/bin/pace-maker (found on PATH)"
            ),
            "{plugin:?}"
        );
        let installed = check_named(&facts, "installed");
        assert_eq!(installed.status, Status::Ok, "{installed:?}");
        assert!(
            installed
                .summary
                .contains("as the plugin pace-maker@claude-pace-maker"),
            "{installed:?}"
        );
    }

    #[test]
    fn the_plugin_and_hooks_in_settings_run_every_event_twice() {
        let facts = with_plugin(healthy(), 300);
        let installed = check_named(&facts, "installed");
        assert_eq!(installed.status, Status::Warn, "{installed:?}");
        assert!(installed.summary.contains("twice"), "{installed:?}");
        let hint = installed.hint.unwrap();
        assert!(hint.contains("pace-maker uninstall --scope user"), "{hint}");
        assert!(
            hint.contains("claude plugin uninstall pace-maker@claude-pace-maker"),
            "{hint}"
        );
    }

    #[test]
    fn plugin_verdicts_for_single_facts() {
        type Change = fn(&mut Facts);
        let cases: [(&str, Change, Status, &str); 7] = [
            (
                "no binary for the launcher fails",
                |facts| facts.plugin.binary = None,
                Status::Fail,
                "find no pace-maker program",
            ),
            (
                "a max delay the plugin's timeout cannot hold fails",
                |facts| facts.limits.max_delay_seconds = 400,
                Status::Fail,
                "PostToolUse timeout 300 s",
            ),
            (
                "another binary warns",
                |facts| facts.plugin.binary_is_this = false,
                Status::Warn,
                "not this binary",
            ),
            (
                "another version warns",
                |facts| facts.version = "0.2.0".into(),
                Status::Warn,
                "the plugin is 0.1.0, the binary 0.2.0",
            ),
            (
                "enabled without an installed copy fails",
                |facts| facts.plugin.copies = Ok(Vec::new()),
                Status::Fail,
                "no installed copy",
            ),
            (
                "an unreadable hooks file fails",
                |facts| {
                    if let Ok(copies) = &mut facts.plugin.copies {
                        copies[0].hooks = Err("gone".into());
                    }
                },
                Status::Fail,
                "hooks file cannot be read",
            ),
            (
                "disabled in the local scope is only information",
                |facts| {
                    facts.plugin.enablement[0].enabled = false;
                    facts.plugin.enablement[0].scope = Scope::Local;
                },
                Status::Info,
                "disabled in the local scope",
            ),
        ];
        for (name, change, expected, words) in cases {
            let mut facts = with_plugin(healthy(), 300);
            change(&mut facts);
            let check = check_named(&facts, "plugin");
            assert_eq!(check.status, expected, "{name}: {check:?}");
            assert!(check.summary.contains(words), "{name}: {check:?}");
            if expected >= Status::Warn {
                assert!(check.hint.is_some(), "{name}: no hint");
            }
        }
        assert_eq!(check_named(&healthy(), "plugin").status, Status::Info);
    }

    #[test]
    fn a_recovered_store_is_reported_until_its_old_file_is_gone() {
        let healthy_checks = checks(&healthy());
        assert!(healthy_checks
            .iter()
            .all(|check| check.name != "store recovery"));
        let note = format!("{} /nowhere/pace-maker.db.corrupt-1", NOW - MINUTE);
        let mut recovered = Recovery::from_note(&note).unwrap();
        assert_eq!(recovered.at_ms, NOW - MINUTE);
        assert_eq!(recovered.moved_to, "/nowhere/pace-maker.db.corrupt-1");
        assert!(!recovered.moved_file_exists);
        let mut facts = healthy();
        if let StoreState::Open(store) = &mut facts.store {
            store.recovered = Some(recovered.clone());
        }
        assert_eq!(status_of(&facts, "store recovery"), Status::Info);
        recovered.moved_file_exists = true;
        if let StoreState::Open(store) = &mut facts.store {
            store.recovered = Some(recovered);
        }
        assert_eq!(status_of(&facts, "store recovery"), Status::Warn);
        let check = checks(&facts)
            .into_iter()
            .find(|check| check.name == "store recovery")
            .unwrap();
        assert!(check.summary.contains("/nowhere/pace-maker.db.corrupt-1"));
        assert_eq!(Recovery::from_note("garbage"), None);
    }

    #[test]
    fn disable_all_hooks_fails_even_where_we_are_not_installed() {
        let mut facts = healthy();
        facts.scopes[2].settings = SettingsFacts::Read {
            installation: merge::inspect(&json!({"disableAllHooks": true})),
            missing_programs: Vec::new(),
        };
        assert_eq!(status_of(&facts, "local scope"), Status::Fail);
    }

    #[test]
    fn the_json_report_names_status_in_lowercase() {
        let report = Report {
            schema_version: DOCTOR_SCHEMA_VERSION,
            ok: false,
            checks: checks(&broken()),
        };
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["checks"][0]["status"], "ok");
        assert!(value["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|check| check["status"] == "fail"));
    }
}
