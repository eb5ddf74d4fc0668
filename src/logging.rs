//! Logging with `tracing` into daily files under `<tool home>/logs/`.
//!
//! Hooks must never write logs to stdout or stderr (stdout is Claude Code's
//! reply channel), so every log line goes to a file. The file is opened on
//! the first line written, not at start-up: a hook that has nothing to say
//! creates no file and pays nothing for it.

use std::sync::OnceLock;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::writer::{EitherWriter, MakeWriter};
use tracing_subscriber::EnvFilter;

use crate::paths::ToolHome;

/// File name prefix of the daily log files: `pace-maker.log.2026-11-25`.
pub const LOG_PREFIX: &str = "pace-maker.log";

/// Opens the appender on first use.
struct LazyAppender {
    home: ToolHome,
    keep_days: usize,
    appender: OnceLock<Option<RollingFileAppender>>,
}

impl LazyAppender {
    fn appender(&self) -> Option<&RollingFileAppender> {
        self.appender
            .get_or_init(|| {
                let dir = self.home.log_dir();
                crate::paths::ensure_private_dir(&dir).ok()?;
                RollingFileAppender::builder()
                    .rotation(Rotation::DAILY)
                    .filename_prefix(LOG_PREFIX)
                    .max_log_files(self.keep_days.max(1))
                    .build(dir)
                    .ok()
            })
            .as_ref()
    }
}

impl<'a> MakeWriter<'a> for LazyAppender {
    type Writer = Quiet<EitherWriter<tracing_appender::rolling::RollingWriter<'a>, std::io::Sink>>;

    fn make_writer(&'a self) -> Self::Writer {
        Quiet(match self.appender() {
            Some(appender) => EitherWriter::A(appender.make_writer()),
            None => EitherWriter::B(std::io::sink()),
        })
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
    let writer = LazyAppender {
        home: home.clone(),
        keep_days: keep_days as usize,
        appender: OnceLock::new(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// The log files, oldest first.
pub fn files(home: &ToolHome) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(home.log_dir())
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
