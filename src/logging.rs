//! Logging with `tracing` into daily files under `<tool home>/logs/`.
//!
//! Hooks must never write logs to stdout or stderr (stdout is Claude Code's
//! reply channel), so every log line goes to a file. The file is opened on
//! the first line written, not at start-up: a hook that has nothing to say
//! creates no file and pays nothing for it.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::fmt::writer::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::paths::ToolHome;

use crate::paths::LOG_PREFIX;

/// The day's log file, opened on first use.
///
/// The file is opened without following a symbolic link, without blocking
/// (a FIFO planted under the name cannot hang a hook) and kept only when it
/// is a regular file; the log folder must be a real folder, not a link.
/// Appends are `O_APPEND`, so lines of concurrent hooks do not interleave
/// within a line.
struct DailyFile {
    dir: PathBuf,
    keep_days: usize,
    file: OnceLock<Option<Mutex<File>>>,
}

impl DailyFile {
    fn file(&self) -> Option<&Mutex<File>> {
        self.file
            .get_or_init(|| {
                let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
                let (file, created) = open_log(&self.dir, &day).ok()?;
                if created {
                    prune(&self.dir, self.keep_days);
                }
                Some(Mutex::new(file))
            })
            .as_ref()
    }
}

/// Opens (or creates, owner-only) the log file of `day` in `dir`. Returns
/// whether it was created.
fn open_log(dir: &Path, day: &str) -> std::io::Result<(File, bool)> {
    crate::paths::ensure_private_dir(dir)?;
    if !std::fs::symlink_metadata(dir)?.is_dir() {
        return Err(std::io::Error::other("the log folder is not a folder"));
    }
    let path = dir.join(format!("{LOG_PREFIX}.{day}"));
    let open = |create_new: bool| {
        let mut options = std::fs::OpenOptions::new();
        options
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
        if create_new {
            options.create_new(true);
        }
        options.open(&path)
    };
    let (file, created) = match open(true) {
        Ok(file) => (file, true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => (open(false)?, false),
        Err(error) => return Err(error),
    };
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("the log file is not a regular file"));
    }
    Ok((file, created))
}

/// Keeps the newest `keep_days` log files.
fn prune(dir: &Path, keep_days: usize) {
    let mut files = files_in(dir);
    let excess = files.len().saturating_sub(keep_days.max(1));
    for old in files.drain(..excess) {
        let _ = std::fs::remove_file(old);
    }
}

impl<'a> MakeWriter<'a> for DailyFile {
    type Writer = Quiet<LogWriter<'a>>;

    fn make_writer(&'a self) -> Self::Writer {
        Quiet(LogWriter(self.file()))
    }
}

/// Writes one formatted event to the day's file, or nowhere.
pub struct LogWriter<'a>(Option<&'a Mutex<File>>);

impl std::io::Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0 {
            Some(file) => {
                let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                file.write_all(buf)?;
                Ok(buf.len())
            }
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A log writer that never reports a failed write. tracing-subscriber
/// prints such a failure to stderr, and a hook's stderr must stay empty
/// whatever happens to the log file (a full disk, a read-only home): a
/// lost log line is the lesser harm.
pub struct Quiet<W>(W);

impl<W: std::io::Write> std::io::Write for Quiet<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

/// Installs the file logger. `level` comes from config (`log.level`), which
/// already folded in `PACE_MAKER_LOG`.
pub fn init(home: &ToolHome, level: &str, keep_days: u64) {
    let filter = EnvFilter::try_new(format!("pace_maker={level},warn"))
        .unwrap_or_else(|_| EnvFilter::new("pace_maker=info,warn"));
    let writer = DailyFile {
        dir: home.log_dir(),
        keep_days: keep_days as usize,
        file: OnceLock::new(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// The log files, oldest first.
pub fn files(home: &ToolHome) -> Vec<PathBuf> {
    files_in(&home.log_dir())
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(LOG_PREFIX))
        })
        .collect();
    files.sort();
    files
}

/// Sets up a process that Claude Code runs (a hook, the status line),
/// whose stderr is shown to the user or the model and whose failure must
/// not disturb the session: a panic message goes to the log file, not
/// stderr; and past a file size limit (`ulimit -f`) a write fails with
/// EFBIG and is handled like any failed write, instead of SIGXFSZ killing
/// the process.
pub fn fail_open_process() {
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        tracing::error!("internal error, a bug (please report it): {info}\n{backtrace}");
    }));
    // SAFETY: setting a signal's disposition to "ignore" is always sound.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_planted_link_or_fifo_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine\n").unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::os::unix::fs::symlink(&victim, logs.join(format!("{LOG_PREFIX}.2026-01-01"))).unwrap();
        assert!(open_log(&logs, "2026-01-01").is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine\n");

        let fifo = logs.join(format!("{LOG_PREFIX}.2026-01-02"));
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(open_log(&logs, "2026-01-02").is_err(), "no hang, no write");

        let (mut file, created) = open_log(&logs, "2026-01-03").unwrap();
        assert!(created);
        file.write_all(b"line\n").unwrap();
        assert!(!open_log(&logs, "2026-01-03").unwrap().1);
    }

    #[test]
    fn a_linked_log_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let logs = dir.path().join("logs");
        std::os::unix::fs::symlink(&elsewhere, &logs).unwrap();
        assert!(open_log(&logs, "2026-01-01").is_err());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn pruning_keeps_the_newest_days() {
        let dir = tempfile::tempdir().unwrap();
        for day in ["2026-01-01", "2026-01-02", "2026-01-03"] {
            std::fs::write(dir.path().join(format!("{LOG_PREFIX}.{day}")), "").unwrap();
        }
        std::fs::write(dir.path().join("other"), "").unwrap();
        prune(dir.path(), 2);
        let left: Vec<_> = files_in(dir.path())
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            [
                format!("{LOG_PREFIX}.2026-01-02"),
                format!("{LOG_PREFIX}.2026-01-03")
            ]
        );
        assert!(dir.path().join("other").exists());
    }
}
