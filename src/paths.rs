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
/// Set (to `1`) by Claude Code for every command it runs, its hooks and
/// the model's Bash tool alike: `epic attach` run there approves no check
/// (docs/security.md).
pub const ENV_CLAUDECODE: &str = "CLAUDECODE";
/// The user's home directory.
pub const ENV_HOME_DIR: &str = "HOME";
/// The program search path, which the plugin's launcher searches for `pace-maker`.
pub const ENV_PATH: &str = "PATH";
/// Cargo's home (default `~/.cargo`): `cargo install` puts programs in its `bin/`.
pub const ENV_CARGO_HOME: &str = "CARGO_HOME";
/// The plugin's folder, set by Claude Code for a plugin's hooks.
pub const ENV_CLAUDE_PLUGIN_ROOT: &str = "CLAUDE_PLUGIN_ROOT";
/// Standard switch that turns colour off.
pub const ENV_NO_COLOR: &str = "NO_COLOR";
/// The terminal type; `dumb` means no colour.
pub const ENV_TERM: &str = "TERM";
/// Testing only: `hook` or `statusline` makes that command panic after its
/// bookkeeping, so the tests can prove a bug still fails open (exit 0,
/// nothing on stderr, the panic in the log).
pub const ENV_TEST_PANIC: &str = "PACE_MAKER_TEST_PANIC";
/// Testing only, and only in debug builds: a virtual now (milliseconds
/// since the epoch) for every clock reading; pacing sleeps are recorded,
/// not taken. See `clock::now_ms`.
pub const ENV_TEST_NOW_MS: &str = "PACE_MAKER_TEST_NOW_MS";

/// Name of the tool home folder under `$HOME`.
pub const HOME_FOLDER: &str = ".claude-pace-maker";
/// The config file inside the tool home.
pub const CONFIG_FILE: &str = "config.toml";
/// The SQLite store inside the tool home.
pub const STORE_FILE: &str = "pace-maker.db";
/// The log folder inside the tool home.
pub const LOG_FOLDER: &str = "logs";
/// Install's copies of the settings files it changed, inside the tool home.
pub const BACKUP_FOLDER: &str = "backups";
/// The PostToolUse fast path's folder inside the tool home: the sessions'
/// no-delay passes and the calls spooled under them
/// (`pacing::pass`, `pacing::spool`).
pub const FAST_FOLDER: &str = "fast";
/// What each install remembers for its uninstall, inside the tool home.
pub const RECEIPTS_FILE: &str = "installs.json";
/// The last output of the `statusline --chain` command, inside the tool home.
pub const STATUSLINE_CACHE_FILE: &str = "statusline-chain.json";
/// The path of the program `install` ran from, one line, inside the tool
/// home: the first place the plugin's launcher looks for the binary.
pub const BINARY_RECORD_FILE: &str = "binary-path";
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

    pub fn fast_dir(&self) -> PathBuf {
        self.root.join(FAST_FOLDER)
    }

    /// Creates the tool home (0700) if it is missing.
    pub fn ensure(&self) -> std::io::Result<()> {
        ensure_private_dir(&self.root)
    }

    /// Whether the tool home may be used: it holds the config that says
    /// where the token goes, and the logs a hook appends to. It must be a
    /// folder owned by this user and writable by no one else, in a folder
    /// no one else can swap it out of (owned by this user or root, and
    /// writable by others only with the sticky bit, like `/tmp`). A home
    /// that does not exist yet is judged by the folder it will be made in.
    /// When this fails, hooks end at once (exit 0, nothing written there)
    /// and commands refuse with the reason; `doctor` shows it.
    pub fn trust(&self) -> Result<(), String> {
        if env(ENV_HOME).is_none() && env(ENV_HOME_DIR).is_none() {
            return Err(format!(
                "neither {ENV_HOME_DIR} nor {ENV_HOME} is set, so there is no tool home"
            ));
        }
        let me = current_uid();
        match std::fs::metadata(&self.root) {
            // A home that is not a folder is no one's door: the store
            // simply cannot be opened there, as before.
            Ok(meta) => check_owned(&self.root, &meta, me, false)?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(format!("cannot read {}: {error}", self.root.display())),
        }
        // The nearest existing folder above it.
        let mut parent = self.root.parent();
        while let Some(folder) = parent {
            match std::fs::metadata(folder) {
                Ok(meta) => return check_owned(folder, &meta, me, true),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    parent = folder.parent();
                }
                Err(error) => return Err(format!("cannot read {}: {error}", folder.display())),
            }
        }
        Ok(())
    }
}

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// The tool home itself must be ours and closed to others; the folder
/// above it ours or root's, and shared only with the sticky bit.
fn check_owned(
    path: &Path,
    meta: &std::fs::Metadata,
    me: u32,
    is_parent: bool,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let owner = meta.uid();
    let mode = meta.mode();
    let writable_by_others = mode & 0o022 != 0;
    if is_parent {
        if owner != me && owner != 0 {
            return Err(format!(
                "{} (the folder of the tool home) belongs to user {owner}, not to you ({me})",
                path.display()
            ));
        }
        if writable_by_others && mode & 0o1000 == 0 {
            return Err(format!(
                "{} (the folder of the tool home) is writable by others (mode {:o})",
                path.display(),
                mode & 0o7777
            ));
        }
        return Ok(());
    }
    if owner != me {
        return Err(format!(
            "the tool home {} belongs to user {owner}, not to you ({me})",
            path.display()
        ));
    }
    if writable_by_others {
        return Err(format!(
            "the tool home {} is writable by others (mode {:o}); `chmod 700` it",
            path.display(),
            mode & 0o7777
        ));
    }
    Ok(())
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

/// The file that marks a folder as pace-maker's tool home, written when
/// pace-maker makes the folder (or finds it holding nothing but its own
/// files). `uninstall --purge` trusts a folder with it, or one that looks
/// like a home an earlier version made; it refuses any other.
pub const HOME_MARKER: &str = ".pace-maker-home";
/// The lock that serialises updates of [`RECEIPTS_FILE`].
pub const RECEIPTS_LOCK: &str = "installs.json.lock";
/// Doctor's write probe in the tool home, `<prefix><pid>`, deleted at once.
pub const PROBE_PREFIX: &str = ".pace-maker-probe-";

const HOME_MARKER_TEXT: &str = "This folder is pace-maker's tool home: its store, config, logs and install receipts.\n\
`pace-maker uninstall --purge` deletes pace-maker's own files here, then the folder once it is empty;\n\
it refuses if anything else is here.\n";

/// Creates the tool home (0700) if it is missing, like [`ToolHome::ensure`],
/// and marks it with [`HOME_MARKER`] (owner-only). A home that exists
/// without the marker is marked too when it holds nothing but pace-maker's
/// own files: one made by a version before the marker, or by the logger.
/// A folder holding anything else is never marked. Marking is best effort
/// (a read-only home stays unmarked); only a failure to create the folder
/// is an error. The common case, a marked home, costs one `lstat`.
pub fn ensure_home(root: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let marker = root.join(HOME_MARKER);
    if std::fs::symlink_metadata(&marker).is_ok() {
        return Ok(());
    }
    ensure_private_dir(root)?;
    if home_entries(root).is_ok_and(|entries| entries.foreign.is_empty()) {
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&marker)
            .and_then(|mut file| file.write_all(HOME_MARKER_TEXT.as_bytes()));
        if let Err(error) = written {
            if error.kind() != std::io::ErrorKind::AlreadyExists {
                tracing::debug!("cannot mark {}: {error}", root.display());
            }
        }
    }
    Ok(())
}

/// Whether `name`, directly in the tool home, is a file pace-maker makes:
/// the marker, config, receipts and their lock, the status line's cache
/// of the chained command's output, the binary's recorded path, the store with its
/// `-wal`/`-shm`/`-journal` and lock, a store moved aside as corrupt
/// (`pace-maker.db.corrupt-<ms>`, with its `-wal`/`-shm`), the temporary
/// file of an interrupted atomic write of config, receipts, that cache or
/// the recorded path,
/// and doctor's write probe. The log folder is judged by [`is_own_log_file`].
pub fn is_own_home_file(name: &str) -> bool {
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if [
        HOME_MARKER,
        CONFIG_FILE,
        RECEIPTS_FILE,
        RECEIPTS_LOCK,
        STATUSLINE_CACHE_FILE,
        BINARY_RECORD_FILE,
    ]
    .contains(&name)
    {
        return true;
    }
    if let Some(rest) = name.strip_prefix(STORE_FILE) {
        if ["", "-wal", "-shm", "-journal", ".lock"].contains(&rest) {
            return true;
        }
        if let Some(stamp) = rest.strip_prefix(".corrupt-") {
            let stamp = stamp
                .strip_suffix("-wal")
                .or_else(|| stamp.strip_suffix("-shm"))
                .unwrap_or(stamp);
            return digits(stamp);
        }
        return false;
    }
    // `fsutil::write_atomic`'s `.<name>.pace-maker-<random>.tmp` (letters
    // and digits; older builds wrote a process id there).
    for file in [
        CONFIG_FILE,
        RECEIPTS_FILE,
        STATUSLINE_CACHE_FILE,
        BINARY_RECORD_FILE,
    ] {
        let random = name
            .strip_prefix('.')
            .and_then(|rest| rest.strip_prefix(file))
            .and_then(|rest| rest.strip_prefix(".pace-maker-"))
            .and_then(|rest| rest.strip_suffix(".tmp"));
        if random.is_some_and(|random| {
            !random.is_empty() && random.bytes().all(|byte| byte.is_ascii_alphanumeric())
        }) {
            return true;
        }
    }
    name.strip_prefix(PROBE_PREFIX).is_some_and(digits)
}

/// File name prefix of the daily log files: `pace-maker.log.2026-11-25`
/// (the day in UTC).
pub const LOG_PREFIX: &str = "pace-maker.log";

/// Whether `name`, inside the tool home's log folder, is a pace-maker log file.
pub fn is_own_log_file(name: &str) -> bool {
    name.starts_with(LOG_PREFIX)
}

/// Whether `name`, inside the tool home's [`FAST_FOLDER`], is a pass
/// (`pass-<digest>`, or its atomic write's temporary file) or a spooled
/// call (`call-….json`, or its temporary `.call-…`).
pub fn is_own_fast_file(name: &str) -> bool {
    ["pass-", "call-", ".call-", ".pass-"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Whether `name`, inside the tool home's [`BACKUP_FOLDER`], is a backup
/// install wrote: `<path>.<16 hex digits>.<stamp>` (see
/// [`crate::install::settings_file::backup`]).
pub fn is_own_backup_file(name: &str) -> bool {
    let mut parts = name.rsplitn(3, '.');
    let (Some(stamp), Some(hash), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !path.is_empty()
        && hash.len() == 16
        && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
        && backup_stamp(stamp).is_some()
}

/// Whether `rest` (what follows a backup's prefix) is a stamp as
/// [`crate::install::settings_file::backup`] writes it, `20260101T120000Z` or `20260101T120000Z-<n>`:
/// its sort key (stamp, then attempt) if so.
pub fn backup_stamp(rest: &str) -> Option<(String, u32)> {
    let (stamp, attempt) = match rest.split_once('-') {
        Some((stamp, attempt)) => (stamp, attempt.parse::<u32>().ok()?),
        None => (rest, 1),
    };
    let bytes = stamp.as_bytes();
    let is_stamp = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8]
            .iter()
            .chain(&bytes[9..15])
            .all(u8::is_ascii_digit);
    is_stamp.then(|| (stamp.to_string(), attempt))
}

/// What a tool home holds, read without following a symlink.
#[derive(Debug, Default)]
pub struct HomeEntries {
    /// Pace-maker's files, and symlinks bearing its names (each one is
    /// removed as a link, never what it points to), log files and backups
    /// first, the marker last.
    pub own_files: Vec<PathBuf>,
    /// The log and backup folders, when each is a real folder holding only
    /// pace-maker's files.
    pub own_folders: Vec<PathBuf>,
    /// Everything else, relative to the home (`notes.txt`, `logs/app.log`), sorted.
    pub foreign: Vec<String>,
    /// The marker is there, a plain file.
    pub marked: bool,
    /// A plain store, receipts or log file is there: a home made by a
    /// version before the marker.
    pub looks_like_a_home: bool,
}

/// Sorts every entry of the tool home at `root` into pace-maker's and the
/// rest: its files, and its folders `logs/` and `backups/` while each holds
/// only its own kind of file.
pub fn home_entries(root: &Path) -> std::io::Result<HomeEntries> {
    let mut found = HomeEntries::default();
    let (mut logs, mut files, mut marker) = (Vec::new(), Vec::new(), None);
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            found
                .foreign
                .push(entry.file_name().to_string_lossy().into_owned());
            continue;
        };
        let folder_rule: Option<fn(&str) -> bool> = match name.as_str() {
            LOG_FOLDER => Some(is_own_log_file),
            BACKUP_FOLDER => Some(is_own_backup_file),
            FAST_FOLDER => Some(is_own_fast_file),
            _ => None,
        };
        if let (Some(is_own), true) = (folder_rule, kind.is_dir()) {
            for inner in std::fs::read_dir(entry.path())? {
                let inner = inner?;
                let inner_kind = inner.file_type()?;
                match inner.file_name().to_str() {
                    Some(inner_name) if is_own(inner_name) && !inner_kind.is_dir() => {
                        // Logs say a home was here; backups alone do not.
                        found.looks_like_a_home |= name == LOG_FOLDER && inner_kind.is_file();
                        logs.push(inner.path());
                    }
                    _ => found
                        .foreign
                        .push(format!("{name}/{}", inner.file_name().to_string_lossy())),
                }
            }
            found.own_folders.push(entry.path());
        } else if (folder_rule.is_some() && kind.is_symlink())
            || (is_own_home_file(&name) && !kind.is_dir())
        {
            if name == HOME_MARKER {
                found.marked = kind.is_file();
                marker = Some(entry.path());
            } else {
                found.looks_like_a_home |=
                    kind.is_file() && (name == STORE_FILE || name == RECEIPTS_FILE);
                files.push(entry.path());
            }
        } else {
            found.foreign.push(name);
        }
    }
    found.own_files = logs.into_iter().chain(files).chain(marker).collect();
    found.foreign.sort();
    Ok(found)
}

/// The absolute path of the running binary, as the entries will call it.
pub fn current_binary() -> anyhow::Result<String> {
    use anyhow::Context;
    let path = std::env::current_exe().context("cannot tell where this binary is")?;
    path.to_str().map(str::to_string).ok_or_else(|| {
        crate::hint::hinted(
            format!("the binary's path {} is not valid UTF-8", path.display()),
            "move pace-maker to a plain path",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_left_over_temporary_file_of_an_atomic_write_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        // A temporary file named as `write_atomic` names its own.
        let file = tempfile::Builder::new()
            .prefix(&crate::fsutil::temporary_prefix(CONFIG_FILE))
            .suffix(crate::fsutil::TEMPORARY_SUFFIX)
            .tempfile_in(dir.path())
            .unwrap();
        let name = file.path().file_name().unwrap().to_str().unwrap();
        assert!(is_own_home_file(name), "{name}");
        assert!(is_own_home_file(&format!(
            ".{CONFIG_FILE}.pace-maker-4242.tmp"
        )));
        assert!(!is_own_home_file(&format!(
            ".{CONFIG_FILE}.pace-maker-.tmp"
        )));
        assert!(!is_own_home_file(&format!(
            ".{CONFIG_FILE}.pace-maker-a/b.tmp"
        )));
        assert!(!is_own_home_file(".other.pace-maker-abc123.tmp"));
    }

    #[test]
    fn tool_home_paths_hang_off_the_root() {
        let home = ToolHome::at("/tmp/x");
        assert_eq!(home.config_file(), PathBuf::from("/tmp/x/config.toml"));
        assert_eq!(home.store_file(), PathBuf::from("/tmp/x/pace-maker.db"));
        assert_eq!(home.log_dir(), PathBuf::from("/tmp/x/logs"));
    }

    #[test]
    fn only_backups_as_install_names_them_are_its_own() {
        assert!(is_own_backup_file(
            "home-dev-.claude-settings.json.3f2a9c0d41e7b5a2.20260101T120000Z"
        ));
        assert!(is_own_backup_file(
            "x.json.3f2a9c0d41e7b5a2.20260101T120000Z-2"
        ));
        for not in [
            "notes.txt",
            "x.json.3f2a9c0d41e7b5a2.notes",
            "x.json.3f2a9c0d.20260101T120000Z",
            ".3f2a9c0d41e7b5a2.20260101T120000Z",
        ] {
            assert!(!is_own_backup_file(not), "{not}");
        }
    }
}
