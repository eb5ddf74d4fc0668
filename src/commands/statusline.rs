//! `pace-maker statusline [--chain CMD]`: what Claude Code runs as its status line.
//!
//! It runs on every status-line refresh, so it is built like a hook: no
//! network, a short lock wait, and it never fails loudly. Whatever goes
//! wrong (bad stdin, a busy or broken store), it prints a line and exits 0;
//! problems go to the log file. With `--chain`, the user's own status-line
//! command runs in parallel with our work, with the same stdin and a
//! deadline (`statusline.chain_timeout_ms`). Every line it prints is kept
//! as it is, our segment appended to its first non-blank line. Its last
//! output is cached in the tool home (owner-only): when it misses the
//! deadline (it is killed, with its process group), the cached output is
//! shown instead, so a slow command's line does not vanish.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::StatuslineArgs;
use crate::config::{Config, Loaded};
use crate::controls::{self, Control};
use crate::paths::{self, ToolHome};
use crate::store::Store;
use crate::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowKind};
use crate::usage::statusline::{self, LineFacts, StatuslineReading};

/// Longest wait for the store's write lock: a status line must not hang.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Status-line input beyond this size is ignored.
const MAX_STDIN_BYTES: u64 = 1024 * 1024;
/// Between the chained command's line and ours.
const SEPARATOR: &str = " · ";

/// Shown instead of our segment when it panicked (the panic is in the log).
pub const INTERNAL_ERROR_SEGMENT: &str = "pace-maker: internal error (see pace-maker logs)";

pub fn run(home: &ToolHome, args: &StatuslineArgs) -> anyhow::Result<ExitCode> {
    crate::logging::fail_open_process();
    let input = read_stdin();
    let loaded = Config::load(home, Some(&paths::project_dir()));
    let deadline = Duration::from_millis(loaded.config.statusline.chain_timeout_ms);
    let chained = args.chain.clone().map(|command| {
        let input = input.clone();
        let cache = home
            .trust()
            .is_ok()
            .then(|| home.root().join(paths::STATUSLINE_CACHE_FILE));
        std::thread::spawn(move || chained_output(&command, &input, deadline, cache.as_deref()))
    });
    let segment = std::panic::catch_unwind(|| segment(home, &loaded, &input))
        .unwrap_or_else(|_| INTERNAL_ERROR_SEGMENT.to_string());
    let chained = chained.and_then(|handle| handle.join().ok().flatten());
    let line = combine(chained.as_deref(), &segment);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe is not our problem, nor a reason to fail.
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
    Ok(ExitCode::SUCCESS)
}

fn read_stdin() -> Vec<u8> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Vec::new();
    }
    let mut bytes = Vec::with_capacity(8192);
    let _ = stdin.lock().take(MAX_STDIN_BYTES).read_to_end(&mut bytes);
    bytes
}

/// The chained command's last output, as cached in the tool home.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cached {
    command: String,
    output: String,
}

/// What the user's command printed (trailing blank lines dropped), or,
/// when it missed the deadline or could not start, its last output cached
/// for the same command. `None` when there is nothing to show.
fn chained_output(
    command: &str,
    input: &[u8],
    deadline: Duration,
    cache: Option<&std::path::Path>,
) -> Option<String> {
    let mut shell = std::process::Command::new("sh");
    shell.arg("-c").arg(command);
    let finished = crate::subprocess::run_with_deadline(shell, input, deadline);
    match finished {
        Ok(finished) if !finished.timed_out => {
            let output = tidy(&String::from_utf8_lossy(&finished.stdout));
            if let (Some(path), Some(output)) = (cache, output.as_ref()) {
                store_cache(path, command, output);
            }
            output
        }
        Ok(_) => {
            tracing::debug!("statusline: the chained command missed its deadline");
            cache.and_then(|path| read_cache(path, command))
        }
        Err(error) => {
            tracing::warn!("statusline: cannot run the chained command: {error}");
            cache.and_then(|path| read_cache(path, command))
        }
    }
}

/// The lines as printed, each without a trailing `\r`, trailing blank
/// lines dropped; `None` if nothing is left.
fn tidy(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let end = lines.iter().rposition(|line| !line.trim().is_empty())?;
    Some(lines[..=end].join("\n"))
}

fn store_cache(path: &std::path::Path, command: &str, output: &str) {
    if path.parent().is_none_or(|folder| !folder.is_dir()) {
        return;
    }
    let cached = Cached {
        command: command.to_string(),
        output: output.to_string(),
    };
    let Ok(bytes) = serde_json::to_vec(&cached) else {
        return;
    };
    if read_cache(path, command).as_deref() == Some(output) {
        return;
    }
    if let Err(error) = crate::fsutil::write_atomic(path, &bytes, Some(0o600)) {
        tracing::warn!("statusline: cannot cache the chained output: {error}");
    }
}

fn read_cache(path: &std::path::Path, command: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // Only a regular file of ours, owner-only and small.
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file()
        || meta.uid() != paths::current_uid()
        || meta.mode() & 0o077 != 0
        || meta.len() > MAX_STDIN_BYTES
    {
        return None;
    }
    let cached: Cached = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (cached.command == command).then_some(cached.output)
}

/// The chained lines with our segment appended to the first non-blank one.
fn combine(chained: Option<&str>, segment: &str) -> String {
    let Some(chained) = chained else {
        return segment.to_string();
    };
    let mut appended = false;
    let lines: Vec<String> = chained
        .lines()
        .map(|line| {
            if !appended && !line.trim().is_empty() {
                appended = true;
                format!("{}{SEPARATOR}{segment}", line.trim_end())
            } else {
                line.to_string()
            }
        })
        .collect();
    lines.join("\n")
}

/// Our segment. A store that cannot be opened costs only what it knows.
fn segment(home: &ToolHome, loaded: &Loaded, input: &[u8]) -> String {
    if paths::kill_switch() {
        return "pace-maker disabled".to_string();
    }
    if home.trust().is_err() {
        return "pace-maker: unsafe tool home (pace-maker doctor)".to_string();
    }
    crate::logging::init(home, &loaded.config.log.level, loaded.config.log.keep_days);
    for warning in &loaded.warnings {
        tracing::warn!("config: {warning}");
    }
    let config = &loaded.config;
    let now_ms = crate::clock::now_ms();
    let reading = statusline::parse_input(input, now_ms);
    let (stored, api, delay, control) = match from_store(home, config, &reading, now_ms) {
        Ok(found) => found,
        Err(error) => {
            // The input's own figures can still be shown.
            tracing::warn!("statusline: {error:#}");
            (None, None, None, Control::On)
        }
    };
    paths::test_panic("statusline");
    // The input's own figures are the freshest; without them, the store's.
    let mut shown = match reading.snapshot {
        Some(snapshot) => Some(snapshot.at(now_ms.div_euclid(1000))),
        None => stored,
    };
    // The per-model weekly windows come only from the usage endpoint (the
    // status-line input carries the 5-hour and weekly ones): its freshest
    // reading fills in what the input left out.
    if let (Some(shown), Some(api)) = (shown.as_mut(), api.as_ref()) {
        let api = api.at(now_ms.div_euclid(1000));
        shown.seven_day_opus = shown.seven_day_opus.or(api.seven_day_opus);
        shown.seven_day_sonnet = shown.seven_day_sonnet.or(api.seven_day_sonnet);
    }
    let extra_usage = api.as_ref().and_then(UsageSnapshot::extra_usage);
    statusline::render(
        &LineFacts {
            snapshot: shown,
            stale_after_ms: config.pacing.stale_after_seconds as i64 * 1000,
            target_percent: config.pacing.target_percent,
            delay_ms: delay.map(|(delay_ms, _)| delay_ms),
            delay_window: delay.and_then(|(_, window)| window),
            extra_usage,
            control,
        },
        now_ms,
    )
}

/// What the store knows for the line: the current official figures (when
/// the input had none), the latest usage-API reading (per-model windows,
/// extra usage), the recent delay and its window, the switch.
type Stored = (
    Option<UsageSnapshot>,
    Option<UsageSnapshot>,
    Option<(i64, Option<WindowKind>)>,
    Control,
);

/// Records the reading, and reads what the store knows: the current
/// official figures, the recent delay, the switch.
fn from_store(
    home: &ToolHome,
    config: &Config,
    reading: &StatuslineReading,
    now_ms: i64,
) -> anyhow::Result<Stored> {
    let busy = BUSY_TIMEOUT.min(Duration::from_millis(config.store.busy_timeout_ms));
    let mut store = Store::open(&home.store_file(), busy)?;
    if let Err(error) = crate::pacing::spool::drain(&mut store, &home.fast_dir()) {
        tracing::warn!("statusline: cannot file the spooled calls: {error:#}");
    }
    match statusline::record(&mut store, reading) {
        // New figures end every session's no-delay pass: the next tool
        // call decides on them.
        Ok(recorded) if recorded.new_figures => {
            if let Err(error) = crate::pacing::pass::revoke_all(&home.fast_dir()) {
                tracing::warn!("statusline: cannot end the no-delay passes: {error}");
            }
        }
        Ok(_) => {}
        // Showing the line matters more than this one record.
        Err(error) => tracing::warn!("statusline: cannot record the reading: {error}"),
    }
    let connection = store.connection();
    let stored = match reading.snapshot {
        Some(_) => None,
        None => snapshot::current_official(connection, now_ms)?,
    };
    let api = snapshot::latest(connection, SnapshotSource::Api)?;
    Ok((
        stored,
        api,
        crate::pacing::decisions::latest_since(
            connection,
            now_ms - statusline::RECENT_DECISION_MS,
        )?
        .map(|(delay_ms, window)| (delay_ms, window.as_deref().and_then(WindowKind::from_key))),
        controls::read(connection, now_ms)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_lines_are_kept_and_ours_goes_on_the_first_with_text() {
        assert_eq!(combine(None, "ours"), "ours");
        assert_eq!(combine(Some("a\nb"), "ours"), "a · ours\nb");
        assert_eq!(combine(Some("\n  \nx  \n y"), "ours"), "\n  \nx · ours\n y");
        assert_eq!(tidy("a\r\n\n b \n\n  \n"), Some("a\n\n b ".to_string()));
        assert_eq!(tidy(" \n\n"), None);
        assert_eq!(tidy(""), None);
    }

    #[test]
    fn the_cache_answers_only_for_its_own_command() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(paths::STATUSLINE_CACHE_FILE);
        store_cache(&path, "cmd", "one\ntwo");
        assert_eq!(read_cache(&path, "cmd").as_deref(), Some("one\ntwo"));
        assert_eq!(read_cache(&path, "other"), None);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A cache others can read is not trusted.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_cache(&path, "cmd"), None);
    }
}
