//! File writes that never leave a half-written file behind.
//!
//! A user's `settings.json` and our own config are replaced, never edited in
//! place: the new content goes to a temporary file in the same folder (so
//! the rename stays on one filesystem), is synced, and is renamed over the
//! target. A symlinked target is resolved first, so the link survives and
//! its target gets the new content.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Follows symlinks to the file that should be replaced (which may not exist yet).
pub fn resolve_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = if link.is_absolute() {
                    link
                } else {
                    current.parent().unwrap_or(Path::new("/")).join(link)
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other(format!(
        "too many levels of symbolic links at {}",
        path.display()
    )))
}

/// The start of [`write_atomic`]'s temporary file's name for a target
/// named `name`; a random part and [`TEMPORARY_SUFFIX`] follow.
pub fn temporary_prefix(name: &str) -> String {
    format!(".{name}.pace-maker-")
}

/// The end of [`write_atomic`]'s temporary file's name.
pub const TEMPORARY_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` atomically. The mode of an existing file is kept;
/// a new file gets `new_mode` (default 0600).
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: Option<u32>) -> std::io::Result<()> {
    let target = resolve_target(path)?;
    let folder = target.parent().unwrap_or(Path::new("."));
    let mode = match std::fs::metadata(&target) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(_) => new_mode.unwrap_or(0o600),
    };
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    // `tempfile` creates it with O_EXCL under a random name, so nothing
    // planted at a guessable name (a link) is followed, and removes it if
    // anything below fails.
    let mut file = tempfile::Builder::new()
        .prefix(&temporary_prefix(&name))
        .suffix(TEMPORARY_SUFFIX)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.as_file().sync_all()?;
    file.persist(&target).map_err(|error| error.error)?;
    // The rename is durable once the folder's entry is on disk too.
    std::fs::File::open(folder)?.sync_all()
}

/// Opens a file for reading only when it is a regular file, without
/// blocking: a FIFO, a device (a link to `/dev/zero`) or a folder planted
/// where a spec or a transcript should be is refused at once instead of
/// hanging the hook or feeding it forever.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Reads a regular file whole, if it is at most `cap` bytes: `Ok(None)`
/// when it is larger (nothing past the cap is read, and a file that grows
/// while read is cut at the cap plus one byte and refused the same way).
pub fn read_regular_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = open_regular(path)?;
    if file.metadata()?.len() > cap {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Creates (or opens) a file that only its owner may read and write.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_mode_and_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new", None).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn atomic_write_creates_owner_only_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.toml");
        write_atomic(&path, b"x", None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn atomic_write_leaves_only_the_target_and_fails_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", None).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        // A folder in the target's place: the rename fails, the temporary
        // file goes, the folder stays.
        let taken = dir.path().join("taken");
        std::fs::create_dir(&taken).unwrap();
        std::fs::write(taken.join("inside"), "x").unwrap();
        assert!(write_atomic(&taken, b"three", None).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        assert!(taken.join("inside").exists());
    }
}
