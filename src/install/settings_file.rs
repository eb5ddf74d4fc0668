//! Reading and writing Claude Code's settings files, around the pure merge.
//!
//! The file belongs to the user, so this layer is careful: it refuses a
//! file it cannot parse (saying where it broke) rather than overwrite it,
//! refuses a read-only file rather than replace it behind the user's back,
//! keeps a timestamped owner-only copy in the tool home before any change,
//! and writes through [`crate::fsutil::write_atomic`] (temporary file,
//! rename, mode kept, symlink followed) so a crash never leaves half a file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::fsutil;
use crate::paths;
pub use crate::paths::backup_stamp;

/// Where a settings file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// `<claude dir>/settings.json`: every project of this user.
    #[default]
    User,
    /// `<project>/.claude/settings.json`: this project, shared with its team.
    Project,
    /// `<project>/.claude/settings.local.json`: this project, this machine only.
    Local,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::User, Scope::Project, Scope::Local];

    pub fn name(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
            Scope::Local => "local",
        }
    }

    /// The settings file of this scope.
    pub fn path(self, claude_dir: &Path, project_dir: &Path) -> PathBuf {
        match self {
            Scope::User => claude_dir.join("settings.json"),
            Scope::Project => project_dir.join(".claude").join("settings.json"),
            Scope::Local => project_dir.join(".claude").join("settings.local.json"),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a settings file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path} is not valid JSON: {message} at line {line}, column {column}", path = .path.display())]
    InvalidJson {
        path: PathBuf,
        message: String,
        line: usize,
        column: usize,
    },
    #[error("{path} holds {found} at the top level, not a JSON object", path = .path.display())]
    NotAnObject { path: PathBuf, found: &'static str },
    #[error("cannot read {path}: {source}", path = .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is read-only", path = .path.display())]
    ReadOnly { path: PathBuf },
}

impl SettingsError {
    /// What the person can do about it (shown after the error).
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            SettingsError::InvalidJson { .. } | SettingsError::NotAnObject { .. } => {
                Some("fix the file by hand; it was not changed")
            }
            SettingsError::ReadOnly { .. } => Some(
                "make it writable with `chmod u+w`, or choose another --scope; it was not changed",
            ),
            SettingsError::Unreadable { .. } => None,
        }
    }
}

/// A settings file as read.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsFile {
    pub path: PathBuf,
    /// The text as read; `None` when the file does not exist.
    pub text: Option<String>,
    /// The parsed value (an empty object for a missing or blank file).
    pub value: Value,
}

impl SettingsFile {
    pub fn exists(&self) -> bool {
        self.text.is_some()
    }
}

/// Reads and parses a settings file. A missing or blank file reads as `{}`.
pub fn read(path: &Path) -> Result<SettingsFile, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SettingsError::Unreadable {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let value = match text.as_deref() {
        None => Value::Object(Default::default()),
        Some(text) if text.trim().is_empty() => Value::Object(Default::default()),
        Some(text) => parse(path, text)?,
    };
    Ok(SettingsFile {
        path: path.to_path_buf(),
        text,
        value,
    })
}

fn parse(path: &Path, text: &str) -> Result<Value, SettingsError> {
    let value: Value = serde_json::from_str(text).map_err(|error| SettingsError::InvalidJson {
        path: path.to_path_buf(),
        message: strip_position(&error.to_string()),
        line: error.line(),
        column: error.column(),
    })?;
    let found = match &value {
        Value::Object(_) => return Ok(value),
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
    };
    Err(SettingsError::NotAnObject {
        path: path.to_path_buf(),
        found,
    })
}

/// serde_json appends " at line L column C"; the error says it its own way.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// The text written for a value in a new file: two-space indentation and
/// a final newline (an existing file keeps its own, see [`super::layout`]).
pub fn render(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// Refuses a file that exists but may not be written. Checked before any
/// change because the atomic rename would otherwise replace even a
/// read-only file (its folder being writable).
pub fn check_writable(path: &Path) -> Result<(), SettingsError> {
    let target = fsutil::resolve_target(path).unwrap_or_else(|_| path.to_path_buf());
    let metadata = match std::fs::metadata(&target) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(SettingsError::Unreadable {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let read_only = || SettingsError::ReadOnly {
        path: path.to_path_buf(),
    };
    // Mode bits first: root may open anything, but a file nobody may write
    // is one its owner meant to keep as it is.
    if metadata.permissions().mode() & 0o222 == 0 {
        return Err(read_only());
    }
    match std::fs::OpenOptions::new().write(true).open(&target) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => Err(read_only()),
        Err(source) => Err(SettingsError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The start of the names of `settings`' backups in the backup folder:
/// its full path (symlinks followed) with `/` as `-`, so a person can tell
/// which file a copy is of, then a hash of that path, so two paths that
/// read alike never share their copies: `home-dev-.claude-settings.json.
/// 3f2a9c0d41e7b5a2.` (the stamp follows).
pub fn backup_prefix(settings: &Path) -> String {
    let identity = identity(settings).to_string_lossy().into_owned();
    let readable: String = identity
        .trim_start_matches('/')
        .chars()
        .map(|character| match character {
            '/' => '-',
            character if character.is_control() => '_',
            character => character,
        })
        .collect();
    // The end of a long path says most; a file name stays under 255 bytes.
    let skip = readable.chars().count().saturating_sub(120);
    let readable: String = readable.chars().skip(skip).collect();
    let hash = crate::digest::fnv1a(identity.as_bytes());
    format!("{}.{hash:016x}.", readable.trim_start_matches('.'))
}

/// Copies `text` (the settings file's current content) into `folder` (the
/// tool home's backup folder, created 0700) as `<`[`backup_prefix`]`><UTC
/// time>`, owner-only, never overwriting an earlier copy. Returns the
/// copy's path.
pub fn backup(folder: &Path, settings: &Path, text: &str, now_ms: i64) -> anyhow::Result<PathBuf> {
    paths::ensure_private_dir(folder)
        .with_context(|| format!("cannot create the folder {}", folder.display()))?;
    let prefix = backup_prefix(settings);
    let stamp = jiff::Timestamp::from_millisecond(now_ms)
        .map(|time| time.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| now_ms.to_string());
    // After every copy of this second still there: a name freed by pruning
    // must not be taken again, or the newest copy would sort before older
    // ones (and be the next one pruned).
    let newest_attempt = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (found, attempt) = backup_stamp(name.strip_prefix(&prefix)?)?;
            (found == stamp).then_some(attempt)
        })
        .max()
        .unwrap_or(0);
    for attempt in newest_attempt + 1..newest_attempt + 1000 {
        let suffix = if attempt == 1 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let candidate = folder.join(format!("{prefix}{stamp}{suffix}"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&candidate);
        match file {
            Ok(mut file) => {
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write the backup {}", candidate.display()))?;
                return Ok(candidate);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot create the backup {}", candidate.display()))
            }
        }
    }
    anyhow::bail!("too many backups of {} this second", settings.display())
}

/// Backups of one settings file kept by [`prune_backups`]: the oldest (the
/// file as it was before pace-maker first changed it) and the newest ones.
pub const BACKUPS_KEPT: usize = 5;

/// Removes the backups of `settings` in `folder` beyond [`BACKUPS_KEPT`],
/// never the oldest (the settings from before pace-maker) nor the newest.
/// Returns the removed paths. Only files named as [`backup`] names them
/// are touched.
pub fn prune_backups(folder: &Path, settings: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let prefix = backup_prefix(settings);
    let mut backups: Vec<((String, u32), PathBuf)> = Vec::new();
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot list {}", folder.display()))
        }
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(key) = file_name.strip_prefix(&prefix).and_then(backup_stamp) else {
            continue;
        };
        backups.push((key, entry.path()));
    }
    backups.sort();
    let mut removed = Vec::new();
    if backups.len() > BACKUPS_KEPT {
        let excess = backups.len() - BACKUPS_KEPT;
        for (_, old) in backups.drain(1..=excess) {
            std::fs::remove_file(&old)
                .with_context(|| format!("cannot remove the old backup {}", old.display()))?;
            removed.push(old);
        }
    }
    Ok(removed)
}

/// Writes `text` to `path` atomically, creating missing folders (0700).
pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let target = fsutil::resolve_target(path)
        .with_context(|| format!("cannot follow {}", path.display()))?;
    if let Some(folder) = target
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        paths::ensure_private_dir(folder)
            .with_context(|| format!("cannot create the folder {}", folder.display()))?;
    }
    fsutil::write_atomic(path, text.as_bytes(), Some(0o600))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A stable name for a settings file (symlinks followed, folder made
/// absolute), so one file is one entry however it was named.
pub fn identity(path: &Path) -> PathBuf {
    let target = fsutil::resolve_target(path).unwrap_or_else(|_| path.to_path_buf());
    let absolute = if target.is_absolute() {
        target
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&target))
            .unwrap_or(target)
    };
    match (absolute.parent(), absolute.file_name()) {
        (Some(folder), Some(name)) => folder
            .canonicalize()
            .map(|folder| folder.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{\n  \"a\": 1,\n  oops\n}\n").unwrap();
        let error = read(&path).unwrap_err();
        match &error {
            SettingsError::InvalidJson { line, column, .. } => {
                assert_eq!((*line, *column), (3, 3));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(error.to_string().contains("at line 3, column 3"), "{error}");
    }

    #[test]
    fn a_top_level_list_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "[]").unwrap();
        assert!(matches!(
            read(&path),
            Err(SettingsError::NotAnObject {
                found: "a list",
                ..
            })
        ));
    }

    #[test]
    fn missing_and_blank_files_read_as_an_empty_object() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read(&dir.path().join("nope.json")).unwrap();
        assert!(!missing.exists());
        assert_eq!(missing.value, serde_json::json!({}));
        let blank = dir.path().join("blank.json");
        std::fs::write(&blank, "  \n").unwrap();
        assert_eq!(read(&blank).unwrap().value, serde_json::json!({}));
    }

    #[test]
    fn render_indents_by_two_spaces_and_keeps_key_order() {
        let value: Value = serde_json::from_str(r#"{"z": 1, "a": {"y": [1], "b": 2}}"#).unwrap();
        assert_eq!(
            render(&value),
            "{\n  \"z\": 1,\n  \"a\": {\n    \"y\": [\n      1\n    ],\n    \"b\": 2\n  }\n}\n"
        );
    }

    #[test]
    fn backups_are_owner_only_never_overwritten_and_named_after_the_settings_path() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("home/backups");
        let path = dir.path().join("settings.json");
        let first = backup(&folder, &path, "one", 1_700_000_000_000).unwrap();
        let second = backup(&folder, &path, "two", 1_700_000_000_000).unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "two");
        let name = first.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&backup_prefix(&path)), "{name}");
        assert!(name.contains("-settings.json."), "{name}");
        assert!(name.ends_with(".20231114T221320Z"), "{name}");
        assert!(!name.starts_with('.') && !name.starts_with('-'), "{name}");
        assert_eq!(first.parent(), Some(folder.as_path()));
        let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Paths that read alike once `/` is `-` still name apart.
        assert_ne!(
            backup_prefix(&dir.path().join("a-b/settings.json")),
            backup_prefix(&dir.path().join("a/b/settings.json"))
        );
    }

    #[test]
    fn backups_past_the_limit_go_oldest_first_but_the_very_first_stays() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("backups");
        let path = dir.path().join("settings.json");
        let other = dir.path().join("settings.local.json");
        let mut made = Vec::new();
        for number in 0..9 {
            // Two in the same second sort by attempt (`-2` after none).
            made.push(
                backup(
                    &folder,
                    &path,
                    &format!("{number}"),
                    1_700_000_000_000 + (number / 2) * 1000,
                )
                .unwrap(),
            );
        }
        let others = backup(&folder, &other, "x", 1_600_000_000_000).unwrap();
        let notes = folder.join(format!("{}notes", backup_prefix(&path)));
        std::fs::write(&notes, "x").unwrap();
        let removed = prune_backups(&folder, &path).unwrap();
        assert_eq!(removed, made[1..5].to_vec());
        for kept in made.iter().take(1).chain(&made[5..]) {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert!(others.exists() && notes.exists());
        assert!(prune_backups(&folder, &path).unwrap().is_empty());
    }

    #[test]
    fn a_name_freed_by_pruning_is_not_taken_again_in_the_same_second() {
        // Seven copies in one second, pruned to the first and the newest
        // four: the next copy that second sorts after them all and stays.
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("backups");
        let path = dir.path().join("settings.json");
        let second = 1_700_000_000_000;
        for number in 0..7 {
            backup(&folder, &path, &format!("{number}"), second).unwrap();
        }
        assert_eq!(prune_backups(&folder, &path).unwrap().len(), 2);
        let newest = backup(&folder, &path, "newest", second).unwrap();
        prune_backups(&folder, &path).unwrap();
        assert!(newest.exists(), "{}", newest.display());
        assert!(prune_backups(&dir.path().join("missing"), &path)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_backup_stamp_is_a_utc_second_with_an_optional_attempt() {
        assert_eq!(
            backup_stamp("20260101T120000Z"),
            Some(("20260101T120000Z".into(), 1))
        );
        assert_eq!(
            backup_stamp("20260101T120000Z-12"),
            Some(("20260101T120000Z".into(), 12))
        );
        for not in [
            "notes",
            "20260101T120000Z-x",
            "20260101X120000Z",
            "2026010aT120000Z",
            "",
        ] {
            assert_eq!(backup_stamp(not), None, "{not}");
        }
    }

    #[test]
    fn a_file_without_write_bits_is_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        assert!(matches!(
            check_writable(&path),
            Err(SettingsError::ReadOnly { .. })
        ));
        assert!(check_writable(&dir.path().join("absent.json")).is_ok());
    }
}
