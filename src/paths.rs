//! Every path and environment variable the tool reads, in one place.
//!
//! Hooks run with whatever environment Claude Code gives them, and tests
//! point everything at a temporary directory, so nothing else in the crate
//! calls `std::env::var` for a location: it asks this module.

use std::path::{Path, PathBuf};

/// Moves the tool home (config, store, logs) away from `~/.claude-pace-maker`.
pub const ENV_HOME: &str = "PACE_MAKER_HOME";
/// Set to `1` (or `true`) to make every hook exit 0 at once without opening a file.
pub const ENV_DISABLE: &str = "PACE_MAKER_DISABLE";
/// Base URL of the OAuth usage API (https, or http to a loopback address).
pub const ENV_API_BASE: &str = "PACE_MAKER_API_BASE";
/// Log level (`error`, `warn`, `info`, `debug`, `trace`), overriding `log.level`.
pub const ENV_LOG: &str = "PACE_MAKER_LOG";
/// Prefix of per-key config overrides: `PACE_MAKER_PACING_TARGET_PERCENT=90`
/// sets `pacing.target_percent`.
pub const ENV_CONFIG_PREFIX: &str = "PACE_MAKER_";
/// Claude Code's user folder (settings, credentials, transcripts); default `~/.claude`.
pub const ENV_CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
/// The project a Claude Code session runs in, set by Claude Code for hooks.
pub const ENV_CLAUDE_PROJECT_DIR: &str = "CLAUDE_PROJECT_DIR";
/// The user's home directory.
pub const ENV_HOME_DIR: &str = "HOME";
/// Standard switch that turns colour off.
pub const ENV_NO_COLOR: &str = "NO_COLOR";
/// The terminal type; `dumb` means no colour.
pub const ENV_TERM: &str = "TERM";
/// Testing only: `hook` or `statusline` makes that command panic after its
/// bookkeeping, so the tests can prove a bug still fails open (exit 0,
/// nothing on stderr, the panic in the log).
pub const ENV_TEST_PANIC: &str = "PACE_MAKER_TEST_PANIC";

/// Name of the tool home folder under `$HOME`.
pub const HOME_FOLDER: &str = ".claude-pace-maker";
/// The config file inside the tool home.
pub const CONFIG_FILE: &str = "config.toml";
/// The SQLite store inside the tool home.
pub const STORE_FILE: &str = "pace-maker.db";
/// The log folder inside the tool home.
pub const LOG_FOLDER: &str = "logs";
/// What each install remembers for its uninstall, inside the tool home.
pub const RECEIPTS_FILE: &str = "installs.json";
/// The per-project override, relative to the project directory.
pub const PROJECT_CONFIG: &str = ".claude/pace-maker.toml";

/// Reads an environment variable, treating an empty value as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Panics when the test switch [`ENV_TEST_PANIC`] names `place`.
pub fn test_panic(place: &str) {
    if env(ENV_TEST_PANIC).as_deref() == Some(place) {
        panic!("{ENV_TEST_PANIC}={place}: a deliberate panic");
    }
}

/// Whether the kill switch is set.
pub fn kill_switch() -> bool {
    matches!(
        env(ENV_DISABLE)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}

/// The user's home directory (`$HOME`, else `/`).
pub fn user_home() -> PathBuf {
    env(ENV_HOME_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Where the tool keeps its own files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolHome {
    root: PathBuf,
}

impl ToolHome {
    /// The tool home from `PACE_MAKER_HOME`, else `~/.claude-pace-maker`.
    pub fn from_env() -> Self {
        let root = env(ENV_HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| user_home().join(HOME_FOLDER));
        Self { root }
    }

    /// A tool home at an explicit location (tests, `--home`).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    pub fn store_file(&self) -> PathBuf {
        self.root.join(STORE_FILE)
    }

    pub fn log_dir(&self) -> PathBuf {
        self.root.join(LOG_FOLDER)
    }

    /// Creates the tool home (0700) if it is missing.
    pub fn ensure(&self) -> std::io::Result<()> {
        ensure_private_dir(&self.root)
    }
}

/// Claude Code's user folder: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn claude_dir() -> PathBuf {
    env(ENV_CLAUDE_CONFIG_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(|| user_home().join(".claude"))
}

/// Every folder that may hold Claude Code transcripts, existing or not:
/// `CLAUDE_CONFIG_DIR` (which may list several, comma separated) when set,
/// else both `~/.claude` and `~/.config/claude`.
pub fn claude_dirs() -> Vec<PathBuf> {
    match env(ENV_CLAUDE_CONFIG_DIR) {
        Some(value) => value
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(PathBuf::from)
            .collect(),
        None => vec![
            user_home().join(".claude"),
            user_home().join(".config").join("claude"),
        ],
    }
}

/// The project directory of the current context: `CLAUDE_PROJECT_DIR`, else the cwd.
pub fn project_dir() -> PathBuf {
    env(ENV_CLAUDE_PROJECT_DIR)
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Creates a folder and its missing parents; the last one is made 0700.
pub fn ensure_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_home_paths_hang_off_the_root() {
        let home = ToolHome::at("/tmp/x");
        assert_eq!(home.config_file(), PathBuf::from("/tmp/x/config.toml"));
        assert_eq!(home.store_file(), PathBuf::from("/tmp/x/pace-maker.db"));
        assert_eq!(home.log_dir(), PathBuf::from("/tmp/x/logs"));
    }
}
