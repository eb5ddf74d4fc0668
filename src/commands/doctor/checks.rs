//! The checks: a pure function from [`Facts`] to check lines, so every
//! verdict and wording is tested without a machine in a particular state.

use serde::Serialize;

use super::facts::*;
use crate::clock;
use crate::config::HOOK_TIMEOUT_MARGIN_SECONDS;
use crate::controls::Control;
use crate::event::EventKind;
use crate::install::merge::{FoundHook, StatusLineState};
use crate::install::plugin::{self, Enablement};
use crate::install::settings_file::Scope;
use crate::paths::{self};
use crate::store::SCHEMA_VERSION;

/// Claude Code's timeout for an entry without one, in seconds.
const CLAUDE_DEFAULT_TIMEOUT_SECONDS: u64 = 600;

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
    pub(super) fn label(self) -> &'static str {
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
    limits: &ConfigLimits,
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
