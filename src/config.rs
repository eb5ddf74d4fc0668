//! Configuration: every default in one `impl Default`, layered overrides.
//!
//! Layers, later wins: built-in defaults, `<tool home>/config.toml`, the
//! project's `.claude/pace-maker.toml`, then `PACE_MAKER_<SECTION>_<KEY>`
//! environment variables. Each key is applied on its own, so one bad value
//! costs only that key (it falls back to the value below it, with a
//! warning) and never the whole file: a hook must keep working with a
//! half-broken config. `config set` edits the file with `toml_edit` so the
//! user's comments survive.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::paths::{self, ToolHome};

/// The whole configuration. Field names are the keys in `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub pacing: PacingConfig,
    pub usage: UsageConfig,
    pub momentum: MomentumConfig,
    pub hooks: HooksConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub statusline: StatuslineConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingConfig {
    /// Pacing on or off (the `on`/`off` commands are the runtime switch).
    pub enabled: bool,
    /// Utilization (percent) a window should reach at most by its reset.
    pub target_percent: f64,
    /// Longest single sleep after a tool call, in seconds.
    pub max_delay_seconds: u64,
    /// Whether the 5-hour window is paced.
    pub five_hour: bool,
    /// Whether the weekly window is paced.
    pub seven_day: bool,
    /// Usage figures older than this mean "no data": no delay (fail open).
    pub stale_after_seconds: u64,
    /// A delay at least this long is announced to the user with a systemMessage.
    pub message_threshold_seconds: u64,
    /// Prompt-cache time-to-live assumed when the status line has not reported one.
    pub default_cache_ttl_seconds: u64,
    /// A single sleep stays this far below the cache time-to-live.
    pub cache_ttl_margin_seconds: u64,
    /// Pace on the local estimate when no official figure is fresh.
    pub use_estimate: bool,
    /// Percentage points subtracted from the target when pacing on the estimate.
    pub estimate_safety_margin_percent: f64,
    /// Whether the weekly window of the session's model family
    /// (`seven_day_opus`, `seven_day_sonnet`) is paced too.
    pub per_model: bool,
    /// Whether a mission may go past the plan's limits on extra usage
    /// (billed at API prices) while less than `extra_usage_max_spend` of it
    /// is spent this month: pacing then holds back no window. Off by
    /// default: pacing keeps the mission inside the plan's limits.
    pub allow_extra_usage: bool,
    /// The extra-usage spend (in the usage endpoint's `used_credits` unit)
    /// up to which `allow_extra_usage` lets a mission run unpaced.
    pub extra_usage_max_spend: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageConfig {
    /// Base URL of the OAuth usage API (`PACE_MAKER_API_BASE` overrides).
    pub api_base: String,
    /// A snapshot younger than this is used as is; older triggers one poll.
    pub poll_interval_seconds: u64,
    /// HTTP connect deadline.
    pub connect_timeout_ms: u64,
    /// HTTP deadline for the whole request.
    pub total_timeout_ms: u64,
    /// Longest backoff after failures.
    pub max_backoff_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MomentumConfig {
    /// Block premature stops while an epic with open criteria is attached.
    pub enabled: bool,
    /// Allow the stop after this many blocks in a row without tool use between them.
    pub max_consecutive_blocks: u32,
    /// Allow the stop after this many blocks in one session.
    pub max_blocks_per_session: u32,
    /// Allow the stop after blocking this long without a criterion being ticked.
    pub max_blocking_minutes: u64,
    /// How much of the transcript's end the Stop hook reads at most.
    pub transcript_tail_bytes: u64,
    /// Phrase with which the assistant declares the mission complete.
    pub complete_phrase: String,
    /// Phrase (followed by a reason) with which the assistant declares itself blocked.
    pub blocked_phrase: String,
    /// Longest run of one criterion's check command at a stop; past it the
    /// check is killed (with its children) and counts as failed. Stays
    /// [`HOOK_TIMEOUT_MARGIN_SECONDS`] under `hooks.stop_timeout_seconds`.
    pub check_timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksConfig {
    /// Timeout written for the PostToolUse hook; `max_delay_seconds` stays below it.
    pub post_tool_use_timeout_seconds: u64,
    /// Timeout written for the Stop hook, which runs the criteria's checks;
    /// `momentum.check_timeout_seconds` stays below it.
    pub stop_timeout_seconds: u64,
    /// Timeout written for every other hook.
    pub other_timeout_seconds: u64,
    /// Stdin held in memory at most; beyond it the input is streamed.
    pub max_stdin_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// How long a process waits for the SQLite write lock.
    pub busy_timeout_ms: u64,
    /// Sessions idle this long are closed and pruned.
    pub session_idle_hours: u64,
    /// History (snapshots, decisions, tool calls) older than this is deleted.
    pub history_days: u64,
    /// Pruning runs at most this often.
    pub prune_interval_minutes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace` (`PACE_MAKER_LOG` overrides).
    pub level: String,
    /// Daily log files kept.
    pub keep_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatuslineConfig {
    /// How long `statusline --chain` waits for the user's command; past it,
    /// the command's last output (cached in the tool home) is shown.
    pub chain_timeout_ms: u64,
}

/// Seconds a hook keeps in hand between its longest sleep (or check) and its timeout.
pub const HOOK_TIMEOUT_MARGIN_SECONDS: u64 = 30;

/// The longest `momentum.check_timeout_seconds`: an hour.
pub const MAX_CHECK_TIMEOUT_SECONDS: u64 = 3600;

impl Default for Config {
    fn default() -> Self {
        Self {
            pacing: PacingConfig {
                enabled: true,
                target_percent: 95.0,
                // Under the default 5-minute prompt-cache TTL minus its margin.
                max_delay_seconds: 240,
                five_hour: true,
                seven_day: true,
                stale_after_seconds: 900,
                message_threshold_seconds: 10,
                default_cache_ttl_seconds: 300,
                cache_ttl_margin_seconds: 30,
                use_estimate: true,
                estimate_safety_margin_percent: 5.0,
                per_model: true,
                allow_extra_usage: false,
                extra_usage_max_spend: 0.0,
            },
            usage: UsageConfig {
                api_base: "https://api.anthropic.com".to_string(),
                poll_interval_seconds: 300,
                connect_timeout_ms: 1000,
                total_timeout_ms: 3000,
                max_backoff_seconds: 3600,
            },
            momentum: MomentumConfig {
                enabled: true,
                max_consecutive_blocks: 3,
                max_blocks_per_session: 25,
                max_blocking_minutes: 60,
                transcript_tail_bytes: 1024 * 1024,
                complete_phrase: "MISSION COMPLETE".to_string(),
                blocked_phrase: "MISSION BLOCKED:".to_string(),
                // A focused test command (`cargo test some_name`) with a
                // build before it fits; a whole slow suite is a script's job.
                check_timeout_seconds: 120,
            },
            hooks: HooksConfig {
                post_tool_use_timeout_seconds: 300,
                // A check (120 s) and the margin, with room for a second,
                // shorter one in the same stop. A Stop without checks takes
                // milliseconds: the timeout only bounds the checks.
                stop_timeout_seconds: 300,
                other_timeout_seconds: 10,
                max_stdin_bytes: 16 * 1024 * 1024,
            },
            store: StoreConfig {
                // Under heavy load (32 sessions on 2 busy cores) a writer can
                // queue for over 2 s; 5 s stays well inside the 10 s hook timeout.
                busy_timeout_ms: 5000,
                session_idle_hours: 24,
                history_days: 60,
                prune_interval_minutes: 60,
            },
            log: LogConfig {
                level: "info".to_string(),
                keep_days: 14,
            },
            statusline: StatuslineConfig {
                chain_timeout_ms: 2000,
            },
        }
    }
}

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Default,
    ConfigFile,
    Project,
    Environment,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::ConfigFile => "config.toml",
            Source::Project => "project",
            Source::Environment => "environment",
        })
    }
}

impl Config {
    /// Every key, `section.name`, in file order.
    pub fn keys() -> Vec<String> {
        let table = Config::default().to_table();
        let mut keys = Vec::new();
        for (section, value) in &table {
            if let toml::Value::Table(inner) = value {
                for key in inner.keys() {
                    keys.push(format!("{section}.{key}"));
                }
            }
        }
        keys
    }

    fn to_table(&self) -> toml::Table {
        match toml::Value::try_from(self) {
            Ok(toml::Value::Table(table)) => table,
            _ => unreachable!("the config always serializes to a table"),
        }
    }

    /// The value of one key.
    pub fn get(&self, key: &str) -> Option<toml::Value> {
        let (section, name) = key.split_once('.')?;
        self.to_table().get(section)?.get(name).cloned()
    }

    /// Sets one key, checking its type and range; on error nothing changes.
    pub fn set(&mut self, key: &str, value: toml::Value) -> Result<(), String> {
        let mut candidate = self.clone();
        candidate.set_unchecked(key, value)?;
        candidate.validate()?;
        *self = candidate;
        Ok(())
    }

    /// Sets one key, checking its name and type but not ranges; returns
    /// the value it replaced. On error nothing changes.
    fn set_unchecked(&mut self, key: &str, value: toml::Value) -> Result<toml::Value, String> {
        let (section, name) = key.split_once('.').ok_or_else(|| unknown_key(key))?;
        let mut table = self.to_table();
        let slot = table
            .get_mut(section)
            .and_then(toml::Value::as_table_mut)
            .and_then(|inner| inner.get_mut(name))
            .ok_or_else(|| unknown_key(key))?;
        // Integers are accepted where a float is expected.
        let value = match (&*slot, value) {
            (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
            (_, value) => value,
        };
        if std::mem::discriminant(&*slot) != std::mem::discriminant(&value) {
            return Err(format!(
                "`{key}` expects {}, got {}",
                type_name(slot),
                type_name(&value)
            ));
        }
        let previous = std::mem::replace(slot, value);
        let candidate: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|error: toml::de::Error| format!("`{key}`: {}", error.message()))?;
        *self = candidate;
        Ok(previous)
    }

    /// Range checks that types cannot express: the first problem's message.
    pub fn validate(&self) -> Result<(), String> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem.message),
            None => Ok(()),
        }
    }

    /// Every range problem of the whole configuration, each with the keys
    /// it involves (a problem between two keys names both).
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, keys: &[&'static str], message: String| {
            if !ok {
                problems.push(Problem {
                    keys: keys.to_vec(),
                    message,
                });
            }
        };
        let pacing = &self.pacing;
        check(
            pacing.target_percent > 0.0 && pacing.target_percent <= 100.0,
            &["pacing.target_percent"],
            "`pacing.target_percent` must be in (0, 100]".into(),
        );
        check(
            pacing.max_delay_seconds.saturating_add(HOOK_TIMEOUT_MARGIN_SECONDS)
                <= self.hooks.post_tool_use_timeout_seconds,
            &[
                "pacing.max_delay_seconds",
                "hooks.post_tool_use_timeout_seconds",
            ],
            format!(
                "`pacing.max_delay_seconds` ({}) must stay {HOOK_TIMEOUT_MARGIN_SECONDS} s under `hooks.post_tool_use_timeout_seconds` ({})",
                pacing.max_delay_seconds, self.hooks.post_tool_use_timeout_seconds
            ),
        );
        check(
            (0.0..50.0).contains(&pacing.estimate_safety_margin_percent),
            &["pacing.estimate_safety_margin_percent"],
            "`pacing.estimate_safety_margin_percent` must be in [0, 50)".into(),
        );
        check(
            pacing.extra_usage_max_spend.is_finite() && pacing.extra_usage_max_spend >= 0.0,
            &["pacing.extra_usage_max_spend"],
            "`pacing.extra_usage_max_spend` must be a number at least 0".into(),
        );
        check(
            self.usage.poll_interval_seconds >= 30,
            &["usage.poll_interval_seconds"],
            "`usage.poll_interval_seconds` must be at least 30".into(),
        );
        check(
            self.usage.total_timeout_ms > 0,
            &["usage.total_timeout_ms"],
            "`usage.total_timeout_ms` must be positive".into(),
        );
        check(
            self.usage.connect_timeout_ms > 0,
            &["usage.connect_timeout_ms"],
            "`usage.connect_timeout_ms` must be positive".into(),
        );
        check(
            self.usage.connect_timeout_ms <= self.usage.total_timeout_ms,
            &["usage.connect_timeout_ms", "usage.total_timeout_ms"],
            "`usage.connect_timeout_ms` must not exceed `usage.total_timeout_ms`".into(),
        );
        check(
            (1..=MAX_CHECK_TIMEOUT_SECONDS).contains(&self.momentum.check_timeout_seconds),
            &["momentum.check_timeout_seconds"],
            format!("`momentum.check_timeout_seconds` must be in [1, {MAX_CHECK_TIMEOUT_SECONDS}]"),
        );
        check(
            self.momentum
                .check_timeout_seconds
                .saturating_add(HOOK_TIMEOUT_MARGIN_SECONDS)
                <= self.hooks.stop_timeout_seconds,
            &[
                "momentum.check_timeout_seconds",
                "hooks.stop_timeout_seconds",
            ],
            format!(
                "`momentum.check_timeout_seconds` ({}) must stay {HOOK_TIMEOUT_MARGIN_SECONDS} s under `hooks.stop_timeout_seconds` ({})",
                self.momentum.check_timeout_seconds, self.hooks.stop_timeout_seconds
            ),
        );
        check(
            self.hooks.other_timeout_seconds > 0,
            &["hooks.other_timeout_seconds"],
            "`hooks.other_timeout_seconds` must be positive".into(),
        );
        check(
            self.momentum.max_consecutive_blocks > 0,
            &["momentum.max_consecutive_blocks"],
            "`momentum.max_consecutive_blocks` must be at least 1".into(),
        );
        check(
            self.momentum.max_blocks_per_session > 0,
            &["momentum.max_blocks_per_session"],
            "`momentum.max_blocks_per_session` must be at least 1".into(),
        );
        check(
            !self.momentum.complete_phrase.trim().is_empty(),
            &["momentum.complete_phrase"],
            "`momentum.complete_phrase` must not be empty".into(),
        );
        check(
            !self.momentum.blocked_phrase.trim().is_empty(),
            &["momentum.blocked_phrase"],
            "`momentum.blocked_phrase` must not be empty".into(),
        );
        check(
            self.log.level.parse::<tracing::Level>().is_ok(),
            &["log.level"],
            format!(
                "`log.level` must be one of error, warn, info, debug, trace (got `{}`)",
                self.log.level
            ),
        );
        check(
            (50..=10_000).contains(&self.statusline.chain_timeout_ms),
            &["statusline.chain_timeout_ms"],
            "`statusline.chain_timeout_ms` must be in [50, 10000]".into(),
        );
        problems
    }

    /// Loads every layer for the current environment and project
    /// directory: each key is checked on its own as it is read (name, type,
    /// and for a project file what a project may set), then the merged
    /// whole is validated, so two keys that only fit together (a lower
    /// max delay with a lower hook timeout) are in force together.
    pub fn load(home: &ToolHome, project_dir: Option<&Path>) -> Loaded {
        let mut loaded = Loaded {
            config: Config::default(),
            warnings: Vec::new(),
            sources: Vec::new(),
            refused: Vec::new(),
            applied: Vec::new(),
        };
        // A home someone else controls could name where the token goes.
        match home.trust() {
            Ok(()) => loaded.apply_file(&home.config_file(), Source::ConfigFile),
            Err(why) => loaded
                .warnings
                .push(format!("{why}: its config.toml is not read")),
        }
        if let Some(project) = project_dir {
            loaded.apply_file(&project.join(paths::PROJECT_CONFIG), Source::Project);
        }
        loaded.apply_environment();
        loaded.settle();
        loaded
    }
}

/// A range problem of a configuration, with the keys it involves.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub keys: Vec<&'static str>,
    pub message: String,
}

/// A key a project file set that a project may not set, or not to that
/// value: ignored, logged, and shown by `config list` and `doctor`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refused {
    pub key: String,
    pub value: String,
    /// The file that set it.
    pub origin: String,
    pub why: String,
}

/// One value a layer put in force, and the value it replaced.
#[derive(Debug, Clone)]
struct Applied {
    key: String,
    previous: toml::Value,
    source: Source,
    origin: String,
}

/// A loaded configuration with the warnings met while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    pub sources: Vec<(String, Source)>,
    pub refused: Vec<Refused>,
    applied: Vec<Applied>,
}

impl Loaded {
    fn apply_file(&mut self, path: &Path, source: Source) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
            Err(error) => {
                self.warnings.push(format!(
                    "cannot read {}: {error}; using defaults",
                    path.display()
                ));
                return;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(error) => {
                self.warnings.push(format!(
                    "{} is not valid TOML ({}); its values are ignored",
                    path.display(),
                    toml_error_text(&text, &error)
                ));
                return;
            }
        };
        for (section, value) in table {
            let Some(inner) = value.as_table() else {
                self.warnings.push(format!(
                    "{}: `{section}` should be a [section]; ignored",
                    path.display()
                ));
                continue;
            };
            for (name, value) in inner {
                self.apply(
                    &format!("{section}.{name}"),
                    value.clone(),
                    source,
                    &path.display().to_string(),
                );
            }
        }
    }

    fn apply_environment(&mut self) {
        let special = [
            (paths::ENV_API_BASE, "usage.api_base"),
            (paths::ENV_LOG, "log.level"),
        ];
        // Every hook loads the config, and listing the keys serializes the
        // whole default config: look for them only when a variable that
        // could name one is set (usually none is).
        let candidate = std::env::vars_os().any(|(name, _)| {
            name.to_str().is_some_and(|name| {
                name.starts_with(paths::ENV_CONFIG_PREFIX) && !NOT_KEY_VARIABLES.contains(&name)
            })
        });
        if candidate {
            for key in Config::keys() {
                let name = env_name(&key);
                if let Some(raw) = paths::env(&name) {
                    self.apply(&key, parse_value(&raw), Source::Environment, &name);
                }
            }
        }
        for (name, key) in special {
            if let Some(raw) = paths::env(name) {
                self.apply(key, parse_value(&raw), Source::Environment, name);
            }
        }
    }

    fn apply(&mut self, key: &str, value: toml::Value, source: Source, origin: &str) {
        if source == Source::Project {
            if let Err(why) = project_may_set(key, &value, &self.config) {
                self.warnings.push(format!(
                    "{origin}: `{key}` refused: {why}; a project file may not set it (docs/security.md)"
                ));
                self.refused.push(Refused {
                    key: key.to_string(),
                    value: value.to_string(),
                    origin: origin.to_string(),
                    why,
                });
                return;
            }
        }
        match self.config.set_unchecked(key, value) {
            Ok(previous) => self.applied.push(Applied {
                key: key.to_string(),
                previous,
                source,
                origin: origin.to_string(),
            }),
            Err(error) => self.warnings.push(format!(
                "{origin}: {error}; keeping {}",
                self.config
                    .get(key)
                    .map(|value| value.to_string())
                    .unwrap_or_else(|| "nothing".into())
            )),
        }
    }

    /// Validates the merged whole. While a problem remains, the value set
    /// last among the keys it involves is taken back (to the value below
    /// it), with a warning naming where it came from.
    fn settle(&mut self) {
        while let Some(problem) = self.config.problems().into_iter().next() {
            let Some(index) = self
                .applied
                .iter()
                .rposition(|applied| problem.keys.contains(&applied.key.as_str()))
            else {
                // Only a layer can cause a problem: the defaults validate.
                break;
            };
            let applied = self.applied.remove(index);
            let _ = self
                .config
                .set_unchecked(&applied.key, applied.previous.clone());
            self.warnings.push(format!(
                "{}: {}; keeping `{}` = {}",
                applied.origin, problem.message, applied.key, applied.previous
            ));
        }
        self.sources = Vec::new();
        for applied in &self.applied {
            self.sources.retain(|(known, _)| *known != applied.key);
            self.sources.push((applied.key.clone(), applied.source));
        }
    }

    /// The file or variable that set the effective value of a key, when a
    /// layer above the defaults did.
    pub fn origin_of(&self, key: &str) -> Option<&str> {
        self.applied
            .iter()
            .rev()
            .find(|applied| applied.key == key)
            .map(|applied| applied.origin.as_str())
    }

    /// Where the effective value of a key came from.
    pub fn source_of(&self, key: &str) -> Source {
        self.sources
            .iter()
            .rev()
            .find(|(known, _)| known == key)
            .map(|(_, source)| *source)
            .unwrap_or(Source::Default)
    }
}

/// The project whose `.claude/pace-maker.toml` is in force for a command
/// run in a shell: `CLAUDE_PROJECT_DIR` when set (what the hooks read),
/// else the nearest folder from the cwd up that holds that file, the way
/// `epic show` finds the epic of a folder above. The user's home is not a
/// project (its `.claude` is Claude Code's own folder). Without one, the cwd.
pub fn project_dir_from_cwd() -> std::path::PathBuf {
    if let Some(project) = paths::env(paths::ENV_CLAUDE_PROJECT_DIR) {
        return project.into();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return paths::project_dir();
    };
    let user_home = paths::env(paths::ENV_HOME_DIR).map(std::path::PathBuf::from);
    cwd.ancestors()
        .filter(|folder| user_home.as_deref() != Some(*folder))
        .find(|folder| folder.join(paths::PROJECT_CONFIG).is_file())
        .map_or_else(|| cwd.clone(), Path::to_path_buf)
}

/// Points by which a project file may lower `pacing.target_percent`.
pub const PROJECT_TARGET_SPAN: f64 = 10.0;

/// What a project's `.claude/pace-maker.toml` may set, given the user's
/// own configuration so far. A project file is content the user may not
/// have written (a cloned repository): it may never choose where requests
/// go or what they carry, how long a hook may hold a session, or loosen a
/// breaker. It may tighten momentum, turn momentum off, name its phrases,
/// and lower the pacing target a little. docs/security.md has the table.
pub fn project_may_set(key: &str, value: &toml::Value, user: &Config) -> Result<(), String> {
    let number = || match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    };
    let at_most = |limit: f64, what: &str| match number() {
        Some(n) if n <= limit => Ok(()),
        Some(_) => Err(format!(
            "a project may only tighten {what} (at most the user's {limit})"
        )),
        // A wrong type is refused later with its own message.
        None => Ok(()),
    };
    let momentum = &user.momentum;
    match key {
        "momentum.max_consecutive_blocks" => {
            at_most(momentum.max_consecutive_blocks as f64, "a breaker")
        }
        "momentum.max_blocks_per_session" => {
            at_most(momentum.max_blocks_per_session as f64, "a breaker")
        }
        "momentum.max_blocking_minutes" => {
            at_most(momentum.max_blocking_minutes as f64, "a breaker")
        }
        "momentum.enabled" => match value {
            toml::Value::Boolean(true) if !momentum.enabled => {
                Err("the user turned momentum off; a project may only turn it off".into())
            }
            _ => Ok(()),
        },
        "momentum.complete_phrase" | "momentum.blocked_phrase" => Ok(()),
        // It bounds how long the Stop hook holds the session: shorter only.
        "momentum.check_timeout_seconds" => at_most(
            momentum.check_timeout_seconds as f64,
            "how long a check may run",
        ),
        "pacing.target_percent" => {
            let user_target = user.pacing.target_percent;
            let lowest = (user_target - PROJECT_TARGET_SPAN).max(1.0);
            match number() {
                Some(n) if (lowest..=user_target).contains(&n) => Ok(()),
                Some(_) => Err(format!(
                    "a project may only lower the target, by at most {PROJECT_TARGET_SPAN} points ({lowest} to {user_target})"
                )),
                None => Ok(()),
            }
        }
        _ => {
            let why = match key.split_once('.').map(|(section, _)| section) {
                Some("usage") => "it decides where requests go and what they carry",
                Some("hooks") => "it decides how long a hook may hold a session",
                _ if key == "pacing.max_delay_seconds" => {
                    "it decides how long a hook may hold a session"
                }
                Some("pacing") => "pacing spends the user's own budget",
                Some("store") | Some("log") => "it concerns the user's own files",
                Some("statusline") => "it decides how long the status line runs",
                _ => "it is not a project setting",
            };
            Err(why.to_string())
        }
    }
}

/// `unknown key `x``, with the nearest known key when there is one.
pub fn unknown_key(key: &str) -> String {
    let mut message = format!("unknown key `{key}`");
    if let Some(near) = closest_key(key) {
        message.push_str(&format!(" (did you mean `{near}`?)"));
    } else if !key.contains('.') {
        message.push_str(" (keys look like `pacing.target_percent`)");
    }
    message
}

/// The known key nearest to a misspelt one, when it is near enough.
pub fn closest_key(key: &str) -> Option<String> {
    let key = key.to_ascii_lowercase();
    Config::keys()
        .into_iter()
        .map(|known| {
            let name = known.split_once('.').map_or(known.as_str(), |(_, n)| n);
            let mut distance = edit_distance(&key, &known).min(edit_distance(&key, name) + 1);
            // A key cut short and misspelt (`pacing.targt`): against the
            // known key's start of the same length.
            if key.len() * 2 >= known.len() && key.len() < known.len() {
                let start = &known[..key.len()];
                distance = distance.min(edit_distance(&key, start) + 1);
            }
            (distance, known)
        })
        .filter(|(distance, known)| *distance <= (known.len() / 4).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A TOML parse error with its line and column.
pub fn toml_error_text(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            format!("line {line}, column {column}: {}", error.message())
        }
        None => error.message().to_string(),
    }
}

/// The tool's variables that share the config prefix but name no key.
const NOT_KEY_VARIABLES: [&str; 6] = [
    paths::ENV_HOME,
    paths::ENV_DISABLE,
    paths::ENV_API_BASE,
    paths::ENV_LOG,
    paths::ENV_TEST_PANIC,
    paths::ENV_TEST_NOW_MS,
];

/// The environment variable that overrides a key.
pub fn env_name(key: &str) -> String {
    format!(
        "{}{}",
        paths::ENV_CONFIG_PREFIX,
        key.replace('.', "_").to_ascii_uppercase()
    )
}

/// Parses a command-line or environment value: a TOML literal when it is
/// one (`95`, `true`, `"text"`), else the raw text as a string.
pub fn parse_value(raw: &str) -> toml::Value {
    let wrapped = format!("value = {raw}");
    match wrapped.parse::<toml::Table>() {
        Ok(mut table) => table
            .remove("value")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// One line of documentation per key, written as comments into the default file.
const KEY_DOCS: &[(&str, &str)] = &[
    ("pacing.enabled", "Pacing on or off (`pace-maker on|off` is the runtime switch)."),
    ("pacing.target_percent", "Utilization a window should reach at most by its reset."),
    ("pacing.max_delay_seconds", "Longest single sleep after a tool call; stays under the prompt-cache TTL and the hook timeout."),
    ("pacing.five_hour", "Pace the 5-hour window."),
    ("pacing.seven_day", "Pace the weekly window."),
    ("pacing.stale_after_seconds", "Usage figures older than this mean no data: no delay."),
    ("pacing.message_threshold_seconds", "Announce delays at least this long to the user."),
    ("pacing.default_cache_ttl_seconds", "Prompt-cache TTL assumed until the status line reports one."),
    ("pacing.cache_ttl_margin_seconds", "A single sleep stays this far under the cache TTL."),
    ("pacing.use_estimate", "Pace on the local transcript estimate when no official figure is fresh."),
    ("pacing.estimate_safety_margin_percent", "Points taken off the target when pacing on the estimate."),
    ("pacing.per_model", "Pace the weekly window of the session's model family too (seven_day_opus, seven_day_sonnet)."),
    ("pacing.allow_extra_usage", "Let a mission run past the plan's limits on extra usage (billed) while under extra_usage_max_spend; off keeps it inside the plan."),
    ("pacing.extra_usage_max_spend", "Extra-usage spend this month (the usage API's used_credits) up to which allow_extra_usage lets a mission run unpaced."),
    ("usage.api_base", "OAuth usage API base URL (https, or http to loopback)."),
    ("usage.poll_interval_seconds", "Poll the usage API at most this often."),
    ("usage.connect_timeout_ms", "HTTP connect deadline."),
    ("usage.total_timeout_ms", "HTTP deadline for a whole request."),
    ("usage.max_backoff_seconds", "Longest wait after usage API failures."),
    ("momentum.enabled", "Keep a mission going while its epic has open criteria."),
    ("momentum.max_consecutive_blocks", "Let Claude stop after this many blocks in a row without tool use."),
    ("momentum.max_blocks_per_session", "Let Claude stop after this many blocks in a session."),
    ("momentum.max_blocking_minutes", "Let Claude stop after blocking this long with no criterion ticked."),
    ("momentum.transcript_tail_bytes", "Bytes read from the transcript's end at a Stop."),
    ("momentum.complete_phrase", "Phrase that declares the mission complete."),
    ("momentum.blocked_phrase", "Phrase (then a reason) that declares the mission blocked."),
    ("momentum.check_timeout_seconds", "Kill a criterion's check command after this long (it then counts as failed); at least 30 s under hooks.stop_timeout_seconds."),
    ("hooks.post_tool_use_timeout_seconds", "Timeout installed for PostToolUse; at least max delay + 30 s."),
    ("hooks.stop_timeout_seconds", "Timeout installed for Stop, which runs the criteria's checks; at least check timeout + 30 s."),
    ("hooks.other_timeout_seconds", "Timeout installed for the other hooks."),
    ("hooks.max_stdin_bytes", "Hook input held in memory at most; a larger one is read as a stream, its large fields skipped."),
    ("store.busy_timeout_ms", "Wait at most this long for the store's write lock."),
    ("store.session_idle_hours", "Forget sessions idle this long."),
    ("store.history_days", "Keep history this many days."),
    ("store.prune_interval_minutes", "Prune at most this often."),
    ("log.level", "error, warn, info, debug or trace."),
    ("log.keep_days", "Daily log files kept."),
    ("statusline.chain_timeout_ms", "Wait this long for the `statusline --chain` command, then show its last output."),
];

/// The commented `config.toml` the first install writes: every key, commented
/// out at its default, so the file documents itself.
pub fn default_file_text() -> String {
    let mut out = String::from(
        "# pace-maker configuration. Every key is shown at its default, commented out.\n\
         # Uncomment and edit, or use `pace-maker config set KEY VALUE`.\n\
         # A project can override keys in <project>/.claude/pace-maker.toml, and the\n\
         # environment with PACE_MAKER_<SECTION>_<KEY> (PACE_MAKER_PACING_TARGET_PERCENT=90).\n",
    );
    let table = Config::default().to_table();
    for (section, value) in &table {
        out.push_str(&format!("\n[{section}]\n"));
        if let toml::Value::Table(inner) = value {
            for (name, value) in inner {
                let key = format!("{section}.{name}");
                if let Some((_, doc)) = KEY_DOCS.iter().find(|(known, _)| *known == key) {
                    out.push_str(&format!("# {doc}\n"));
                }
                out.push_str(&format!("# {name} = {value}\n"));
            }
        }
    }
    out
}

/// The documentation line of a key.
pub fn doc_of(key: &str) -> Option<&'static str> {
    KEY_DOCS
        .iter()
        .find(|(known, _)| *known == key)
        .map(|(_, doc)| *doc)
}

/// Writes `config set` into the file, keeping comments and layout.
/// `check_more` checks what this module cannot on its own (the usage
/// API base URL, which the usage module checks) on the config as it
/// would be; an error refuses the value.
pub fn set_in_file(
    path: &Path,
    key: &str,
    raw: &str,
    check_more: impl Fn(&Config) -> anyhow::Result<()>,
) -> anyhow::Result<toml::Value> {
    let value = parse_value(raw);
    // Validate against the file's current effective content first.
    let mut check = Config::default();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let document = parse_document(path, &text)?;
    if let Ok(table) = text.parse::<toml::Table>() {
        for (section, inner) in table {
            if let Some(inner) = inner.as_table() {
                for (name, value) in inner {
                    let _ = check.set_unchecked(&format!("{section}.{name}"), value.clone());
                }
            }
        }
    }
    if let Err(error) = check.set_unchecked(key, value.clone()) {
        bail!("{error}");
    }
    // The file as a whole must hold: a problem the new value takes part in
    // refuses it; one between other keys of the file is not its doing.
    if let Some(problem) = check
        .problems()
        .into_iter()
        .find(|problem| problem.keys.contains(&key))
    {
        bail!("{}", problem.message);
    }
    check_more(&check)?;
    let stored = check.get(key).unwrap_or(value);
    let (section, name) = key.split_once('.').expect("validated key has a section");
    let mut document = document;
    let section_item = document
        .entry(section)
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let Some(table) = section_item.as_table_like_mut() else {
        bail!("`{section}` in {} is not a table", path.display());
    };
    let edit_value: toml_edit::Value = stored
        .to_string()
        .parse()
        .map_err(|_| anyhow::anyhow!("cannot encode value for `{key}`"))?;
    match table.get_mut(name) {
        Some(item) if item.is_value() => {
            let decor = item.as_value().map(|v| v.decor().clone());
            let mut new_value = edit_value;
            if let Some(decor) = decor {
                *new_value.decor_mut() = decor;
            }
            *item = toml_edit::Item::Value(new_value);
        }
        _ => {
            table.insert(name, toml_edit::Item::Value(edit_value));
        }
    }
    if let Some(parent) = path.parent() {
        paths::ensure_private_dir(parent)?;
    }
    crate::fsutil::write_atomic(path, document.to_string().as_bytes(), Some(0o600))?;
    Ok(stored)
}

/// The file's text as an editable document; a parse error names its line and column.
fn parse_document(path: &Path, text: &str) -> anyhow::Result<toml_edit::DocumentMut> {
    if let Err(error) = text.parse::<toml::Table>() {
        return Err(crate::hint::hinted(
            format!(
                "{} is not valid TOML ({})",
                path.display(),
                toml_error_text(text, &error)
            ),
            "fix it first, or move it aside",
        ));
    }
    text.parse()
        .with_context(|| format!("{} is not valid TOML; fix it first", path.display()))
}

/// Removes `section.name`, handing the comment lines above it (its
/// decor) to whatever follows: the next key, the next section's header,
/// or the end of the file. Whether it was there.
fn remove_keeping_comments(
    document: &mut toml_edit::DocumentMut,
    section: &str,
    name: &str,
) -> bool {
    let sections: Vec<String> = document.iter().map(|(key, _)| key.to_string()).collect();
    let Some(table) = document
        .get_mut(section)
        .and_then(toml_edit::Item::as_table_mut)
    else {
        return false;
    };
    let keys: Vec<String> = table.iter().map(|(key, _)| key.to_string()).collect();
    let Some(at) = keys.iter().position(|key| key == name) else {
        return false;
    };
    let comments = table
        .key(name)
        .and_then(|key| key.leaf_decor().prefix())
        .and_then(|prefix| prefix.as_str())
        .filter(|prefix| prefix.contains('#'))
        .map(str::to_string);
    table.remove(name);
    let Some(comments) = comments else {
        return true;
    };
    let joined = |before: Option<&toml_edit::RawString>| {
        format!(
            "{comments}{}",
            before.and_then(|raw| raw.as_str()).unwrap_or("")
        )
    };
    if let Some(next) = keys.get(at + 1) {
        if let Some(mut key) = table.key_mut(next) {
            let prefix = joined(key.leaf_decor().prefix());
            key.leaf_decor_mut().set_prefix(prefix);
        }
        return true;
    }
    let next_section = sections
        .iter()
        .skip_while(|known| *known != section)
        .nth(1)
        .and_then(|next| document.get_mut(next))
        .and_then(toml_edit::Item::as_table_mut);
    match next_section {
        Some(next) => {
            let prefix = joined(next.decor().prefix());
            next.decor_mut().set_prefix(prefix);
        }
        None => {
            let trailing = joined(Some(document.trailing()));
            document.set_trailing(trailing);
        }
    }
    true
}

/// What `config unset` did.
#[derive(Debug, PartialEq)]
pub enum Unset {
    Removed,
    /// The file does not set the key.
    NotSet,
}

/// Removes a key from the file (`config unset`), keeping every comment;
/// refused when the value below it would not hold with the rest of the file.
pub fn unset_in_file(path: &Path, key: &str) -> anyhow::Result<Unset> {
    if Config::default().get(key).is_none() {
        bail!("{}", unknown_key(key));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Unset::NotSet),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut document = parse_document(path, &text)?;
    let (section, name) = key.split_once('.').expect("a known key has a section");
    if !remove_keeping_comments(&mut document, section, name) {
        return Ok(Unset::NotSet);
    }
    let remaining = document.to_string();
    let mut check = Config::default();
    if let Ok(table) = remaining.parse::<toml::Table>() {
        for (section, inner) in table {
            if let Some(inner) = inner.as_table() {
                for (name, value) in inner {
                    let _ = check.set_unchecked(&format!("{section}.{name}"), value.clone());
                }
            }
        }
    }
    if let Some(problem) = check
        .problems()
        .into_iter()
        .find(|problem| problem.keys.contains(&key))
    {
        return Err(crate::hint::hinted(
            format!("without it, {}", problem.message),
            "change the other key first",
        ));
    }
    crate::fsutil::write_atomic(path, remaining.as_bytes(), Some(0o600))?;
    Ok(Unset::Removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_variable_skipped_as_not_a_key_names_a_key() {
        for key in Config::keys() {
            assert!(
                !NOT_KEY_VARIABLES.contains(&env_name(&key).as_str()),
                "{key}"
            );
        }
    }

    #[test]
    fn a_misspelt_or_shortened_key_finds_its_neighbour() {
        assert_eq!(
            closest_key("pacing.targt").as_deref(),
            Some("pacing.target_percent")
        );
        assert_eq!(closest_key("log.lvel").as_deref(), Some("log.level"));
        assert_eq!(
            closest_key("max_delay_secnds").as_deref(),
            Some("pacing.max_delay_seconds")
        );
        assert_eq!(closest_key("zzzz.qqqq"), None);
    }

    #[test]
    fn defaults_validate() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn every_key_is_documented() {
        for key in Config::keys() {
            assert!(doc_of(&key).is_some(), "{key} has no doc line");
        }
    }

    #[test]
    fn set_rejects_wrong_type_and_range_and_unknown_keys() {
        let mut config = Config::default();
        assert!(config
            .set("pacing.target_percent", toml::Value::String("x".into()))
            .is_err());
        assert!(config
            .set("pacing.target_percent", toml::Value::Float(150.0))
            .is_err());
        assert!(config
            .set("pacing.nope", toml::Value::Boolean(true))
            .is_err());
        assert!(config.set("nope", toml::Value::Boolean(true)).is_err());
        assert_eq!(config, Config::default());
        config
            .set("pacing.target_percent", toml::Value::Integer(90))
            .unwrap();
        assert_eq!(config.pacing.target_percent, 90.0);
    }

    #[test]
    fn the_check_timeout_must_stay_under_the_stop_hook_timeout() {
        let mut config = Config::default();
        assert!(config
            .set("momentum.check_timeout_seconds", toml::Value::Integer(271))
            .is_err());
        assert!(config
            .set("momentum.check_timeout_seconds", toml::Value::Integer(0))
            .is_err());
        config
            .set("momentum.check_timeout_seconds", toml::Value::Integer(270))
            .unwrap();
        assert!(config
            .set("hooks.stop_timeout_seconds", toml::Value::Integer(299))
            .is_err());
    }

    #[test]
    fn a_project_may_only_shorten_the_check_timeout() {
        let user = Config::default();
        assert!(project_may_set(
            "momentum.check_timeout_seconds",
            &toml::Value::Integer(30),
            &user
        )
        .is_ok());
        assert!(project_may_set(
            "momentum.check_timeout_seconds",
            &toml::Value::Integer(121),
            &user
        )
        .is_err());
        assert!(project_may_set(
            "hooks.stop_timeout_seconds",
            &toml::Value::Integer(30),
            &user
        )
        .is_err());
    }

    #[test]
    fn max_delay_must_stay_under_hook_timeout() {
        let mut config = Config::default();
        assert!(config
            .set("pacing.max_delay_seconds", toml::Value::Integer(290))
            .is_err());
    }

    #[test]
    fn default_file_parses_to_defaults() {
        let text = default_file_text();
        // As written, every key is commented out: the file changes nothing.
        let table: toml::Table = text.parse().unwrap();
        assert!(table
            .values()
            .all(|v| v.as_table().is_some_and(|t| t.is_empty())));
        // Uncommented, it names every key once, in order, each at its default.
        let is_key = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let uncommented: Vec<&str> = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.split_once(" = ").is_some_and(|(name, _)| is_key(name)) => rest,
                _ => line,
            })
            .collect();
        let uncommented = uncommented.join("\n");
        let table: toml::Table = uncommented.parse().unwrap();
        let defaults = Config::default();
        let mut keys = Vec::new();
        for (section, inner) in &table {
            for (name, value) in inner.as_table().unwrap() {
                let key = format!("{section}.{name}");
                assert_eq!(Some(value), defaults.get(&key).as_ref(), "{key}");
                keys.push(key);
            }
        }
        assert_eq!(keys, Config::keys());
        let parsed: Config = toml::from_str(&uncommented).unwrap();
        assert_eq!(parsed, defaults);
        // A value the file shows, read as a person reads it.
        assert!(
            text.contains(&format!(
                "# target_percent = {:?}\n",
                defaults.pacing.target_percent
            )),
            "{text}"
        );
    }

    #[test]
    fn parse_value_reads_literals_and_falls_back_to_strings() {
        assert_eq!(parse_value("95"), toml::Value::Integer(95));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(parse_value("debug"), toml::Value::String("debug".into()));
        assert_eq!(
            parse_value("http://127.0.0.1:9"),
            toml::Value::String("http://127.0.0.1:9".into())
        );
    }
}
