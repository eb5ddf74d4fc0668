//! The project's state: what a check's result is filed under, so that a
//! project nobody has changed is not checked twice.
//!
//! In a git work tree the state is `HEAD`, the index and the work tree as
//! `git status` sees them, plus the size and modification time of every
//! path it lists: a file edited a second time stays "modified" for git
//! but gets a new time. Git answers from its index (and its fsmonitor or
//! untracked cache where the repository has them), so this costs one
//! `git status` however large the repository; ignored files (build
//! output) are not part of it. Outside git, the state is the size and
//! time of every file under the project folder, up to [`MAX_WALKED_FILES`]:
//! past that, or when git fails, the state is unknown and results are
//! never reused (the checks run whenever they are due).
//!
//! The attached spec itself is left out: ticking a box changes no code,
//! so it must not make the checks run again.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The most files a project outside git may hold for its state to be known.
pub const MAX_WALKED_FILES: usize = 20_000;

/// How long `git status` (or the walk) may take.
pub const STATE_DEADLINE: Duration = Duration::from_secs(10);

/// The state of a project at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectState {
    /// A digest: equal digests mean nothing a check reads has changed.
    Known(String),
    /// Could not be told (and why): no result is reused.
    Unknown(String),
}

impl ProjectState {
    /// The digest, when known.
    pub fn digest(&self) -> Option<&str> {
        match self {
            ProjectState::Known(digest) => Some(digest),
            ProjectState::Unknown(_) => None,
        }
    }
}

/// The state of the project at `project_dir`, leaving out `spec_path`.
pub fn take(project_dir: &Path, spec_path: &Path) -> ProjectState {
    take_with(project_dir, spec_path, MAX_WALKED_FILES, STATE_DEADLINE)
}

fn take_with(
    project_dir: &Path,
    spec_path: &Path,
    max_files: usize,
    deadline: Duration,
) -> ProjectState {
    let spec = spec_path
        .canonicalize()
        .unwrap_or_else(|_| spec_path.to_path_buf());
    match git_root(project_dir) {
        Some(root) => from_git(&root, &spec, deadline),
        None => from_walk(project_dir, &spec, max_files, deadline),
    }
}

/// The nearest folder from `project_dir` up that holds `.git` (a folder,
/// or a file in a linked work tree or submodule).
fn git_root(project_dir: &Path) -> Option<PathBuf> {
    project_dir
        .ancestors()
        .find(|folder| folder.join(".git").symlink_metadata().is_ok())
        .map(Path::to_path_buf)
}

fn from_git(root: &Path, spec: &Path, deadline: Duration) -> ProjectState {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(root)
        .args([
            "status",
            "--porcelain=v2",
            "-z",
            "--branch",
            "--untracked-files=all",
        ])
        // `git status` refreshes the index when it can; a hook must not
        // take the index lock from under the person's own git commands.
        .env("GIT_OPTIONAL_LOCKS", "0");
    let finished = match crate::subprocess::run_with_deadline(command, b"", deadline) {
        Ok(finished) => finished,
        Err(error) => return ProjectState::Unknown(format!("cannot run git: {error}")),
    };
    if finished.timed_out {
        return ProjectState::Unknown(format!(
            "git status took longer than {} s",
            deadline.as_secs()
        ));
    }
    if !finished.success {
        return ProjectState::Unknown("git status failed".into());
    }
    if finished.stdout.len() as u64 >= crate::subprocess::STDOUT_LIMIT {
        return ProjectState::Unknown("git status listed too much".into());
    }
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let spec_relative = spec.strip_prefix(&root).ok().map(Path::to_path_buf);
    let mut digest = Digest::new();
    let mut records = finished.stdout.split(|byte| *byte == 0).peekable();
    let mut listed = 0usize;
    while let Some(record) = records.next() {
        if record.is_empty() {
            continue;
        }
        // A rename's record is followed by the path it came from.
        let original = if record.starts_with(b"2 ") {
            records.next()
        } else {
            None
        };
        let path = match record.first() {
            Some(b'1') => nth_field_rest(record, 8),
            Some(b'2') => nth_field_rest(record, 9),
            Some(b'u') => nth_field_rest(record, 10),
            Some(b'?') | Some(b'!') => nth_field_rest(record, 1),
            // `# branch.oid ...` and the other headers: HEAD is in them.
            _ => None,
        };
        if let Some(path) = path {
            if spec_relative.as_deref() == Some(Path::new(std::ffi::OsStr::from_bytes(path))) {
                continue;
            }
            listed += 1;
            if listed > MAX_WALKED_FILES {
                return ProjectState::Unknown("git status listed too many paths".into());
            }
            digest.add(record);
            digest.add(original.unwrap_or_default());
            digest.add_file(&root.join(std::ffi::OsStr::from_bytes(path)));
        } else {
            digest.add(record);
        }
    }
    ProjectState::Known(format!("git:{}", digest.hex()))
}

/// What follows the `n`th space of a record: its path (which may hold spaces).
fn nth_field_rest(record: &[u8], fields: usize) -> Option<&[u8]> {
    let mut rest = record;
    for _ in 0..fields {
        let space = rest.iter().position(|byte| *byte == b' ')?;
        rest = &rest[space + 1..];
    }
    Some(rest)
}

fn from_walk(
    project_dir: &Path,
    spec: &Path,
    max_files: usize,
    deadline: Duration,
) -> ProjectState {
    let started = Instant::now();
    let mut digest = Digest::new();
    let mut files = 0usize;
    let mut folders = vec![project_dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|entry| entry.file_name());
        // Folders are pushed in reverse so they are walked in name order.
        let mut inner = Vec::new();
        for entry in entries {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                inner.push(path);
                continue;
            }
            if path == spec {
                continue;
            }
            files += 1;
            if files > max_files {
                return ProjectState::Unknown(format!(
                    "more than {max_files} files under {} and no git",
                    project_dir.display()
                ));
            }
            if started.elapsed() > deadline {
                return ProjectState::Unknown(format!(
                    "listing {} took longer than {} s",
                    project_dir.display(),
                    deadline.as_secs()
                ));
            }
            let relative = path.strip_prefix(project_dir).unwrap_or(&path);
            digest.add(relative.as_os_str().as_bytes());
            digest.add_file(&path);
        }
        folders.extend(inner.into_iter().rev());
    }
    ProjectState::Known(format!("files:{}", digest.hex()))
}

/// FNV-1a over 128 bits: stable across builds and platforms (the digest is
/// stored), and wide enough that two states never meet by chance.
struct Digest(u128);

impl Digest {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Self {
        Self(Self::OFFSET)
    }

    /// Adds a field, with its length, so that fields cannot run together.
    fn add(&mut self, bytes: &[u8]) {
        for &byte in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u128::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Adds what a file's metadata says about its content (not following
    /// a symlink); a missing file adds a marker.
    fn add_file(&mut self, path: &Path) {
        match path.symlink_metadata() {
            Ok(meta) => {
                let mut fields = Vec::with_capacity(48);
                for value in [
                    meta.size() as i64,
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.ino() as i64,
                    i64::from(meta.mode()),
                ] {
                    fields.extend_from_slice(&value.to_le_bytes());
                }
                self.add(&fields);
            }
            Err(_) => self.add(b"-"),
        }
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    /// Writes `text` and sets the file's time to `seconds` past the epoch,
    /// so that two writes in the same clock tick still differ.
    fn write(path: &Path, text: &str, seconds: u64) {
        std::fs::write(path, text).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
            .unwrap();
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {status:?}");
    }

    fn git_available() -> bool {
        Command::new("git")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    }

    #[test]
    fn outside_git_the_files_decide_and_the_spec_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path();
        std::fs::create_dir_all(project.join("src/deep")).unwrap();
        write(&project.join("src/lib.rs"), "one", 1_000);
        write(&project.join("src/deep/a.rs"), "a", 1_000);
        let spec = project.join("EPIC.md");
        write(&spec, "- [ ] x", 1_000);
        let first = take(project, &spec);
        assert!(
            first.digest().is_some_and(|d| d.starts_with("files:")),
            "{first:?}"
        );
        assert_eq!(take(project, &spec), first, "nothing changed");
        write(&spec, "- [x] x", 2_000);
        assert_eq!(take(project, &spec), first, "a tick changes no code");
        write(&project.join("src/lib.rs"), "two", 2_000);
        let second = take(project, &spec);
        assert_ne!(second, first);
        write(&project.join("src/deep/new.rs"), "", 2_000);
        assert_ne!(take(project, &spec), second);
    }

    #[test]
    fn outside_git_too_many_files_leave_the_state_unknown() {
        let dir = tempfile::tempdir().unwrap();
        for index in 0..5 {
            write(&dir.path().join(format!("f{index}")), "", 1_000);
        }
        let spec = dir.path().join("none.md");
        assert!(matches!(
            take_with(dir.path(), &spec, 4, STATE_DEADLINE),
            ProjectState::Unknown(_)
        ));
        assert!(matches!(
            take_with(dir.path(), &spec, 5, STATE_DEADLINE),
            ProjectState::Known(_)
        ));
    }

    #[test]
    fn in_git_head_the_index_and_every_edit_decide_and_ignored_files_do_not() {
        if !git_available() {
            eprintln!("skipped: no git");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().canonicalize().unwrap();
        git(&project, &["init", "-q"]);
        write(&project.join(".gitignore"), "target/\n", 1_000);
        write(&project.join("lib.rs"), "one", 1_000);
        let spec = project.join("docs/EPIC.md");
        std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
        write(&spec, "- [ ] x", 1_000);
        git(&project, &["add", "."]);
        git(&project, &["commit", "-q", "-m", "start"]);
        let clean = take(&project, &spec);
        assert!(
            clean.digest().is_some_and(|d| d.starts_with("git:")),
            "{clean:?}"
        );
        // From a subfolder: the same repository, the same state.
        assert_eq!(take(&project.join("docs"), &spec), clean);

        write(&spec, "- [x] x", 2_000);
        assert_eq!(take(&project, &spec), clean, "a tick changes no code");
        std::fs::create_dir_all(project.join("target")).unwrap();
        write(&project.join("target/out"), "build", 2_000);
        assert_eq!(take(&project, &spec), clean, "ignored output");

        write(&project.join("lib.rs"), "two", 2_000);
        let edited = take(&project, &spec);
        assert_ne!(edited, clean);
        write(&project.join("lib.rs"), "tw0", 3_000);
        let edited_again = take(&project, &spec);
        assert_ne!(edited_again, edited, "still `modified`, yet changed");
        write(&project.join("new.rs"), "", 3_000);
        let with_new = take(&project, &spec);
        assert_ne!(with_new, edited_again);
        git(&project, &["add", "."]);
        git(&project, &["commit", "-q", "-m", "more"]);
        let committed = take(&project, &spec);
        assert_ne!(committed, with_new);
        assert_ne!(committed, clean);
    }
}
