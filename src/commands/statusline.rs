//! `pace-maker statusline [--chain CMD]`: what Claude Code runs as its status line.
//!
//! It runs on every status-line refresh, so it is built like a hook: no
//! network, a short lock wait, and it never fails loudly. Whatever goes
//! wrong (bad stdin, a busy or broken store), it prints a line and exits 0;
//! problems go to the log file. With `--chain`, the user's own status-line
//! command runs in parallel with our work, with the same stdin and a
//! deadline, and its first line comes first, our segment appended.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::StatuslineArgs;
use crate::config::Config;
use crate::controls::{self, Control};
use crate::paths::{self, ToolHome};
use crate::store::Store;
use crate::usage::snapshot::{self, UsageSnapshot};
use crate::usage::statusline::{self, LineFacts, StatuslineReading};

/// Longest wait for the chained command.
pub const CHAIN_DEADLINE: Duration = Duration::from_millis(2000);
/// Longest wait for the store's write lock: a status line must not hang.
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Status-line input beyond this size is ignored.
const MAX_STDIN_BYTES: u64 = 1024 * 1024;
/// Between the chained command's line and ours.
const SEPARATOR: &str = " · ";

/// Shown instead of our segment when it panicked (the panic is in the log).
pub const INTERNAL_ERROR_SEGMENT: &str = "pace-maker: internal error (see pace-maker logs)";

pub fn run(home: &ToolHome, args: &StatuslineArgs) -> anyhow::Result<ExitCode> {
    crate::fail_open_process();
    let input = read_stdin();
    let chained = args.chain.clone().map(|command| {
        let input = input.clone();
        std::thread::spawn(move || chained_first_line(&command, &input))
    });
    let segment = std::panic::catch_unwind(|| segment(home, &input))
        .unwrap_or_else(|_| INTERNAL_ERROR_SEGMENT.to_string());
    let line = match chained.and_then(|handle| handle.join().ok().flatten()) {
        Some(first) => format!("{first}{SEPARATOR}{segment}"),
        None => segment,
    };
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

/// The user's command's first non-empty line, if it printed one in time.
fn chained_first_line(command: &str, input: &[u8]) -> Option<String> {
    let mut shell = std::process::Command::new("sh");
    shell.arg("-c").arg(command);
    let finished = crate::subprocess::run_with_deadline(shell, input, CHAIN_DEADLINE).ok()?;
    let text = String::from_utf8_lossy(&finished.stdout);
    text.lines()
        .map(str::trim_end)
        .find(|line| !line.is_empty())
        .map(str::to_string)
}

/// Our segment. A store that cannot be opened costs only what it knows.
fn segment(home: &ToolHome, input: &[u8]) -> String {
    if paths::kill_switch() {
        return "pace-maker disabled".to_string();
    }
    if home.trust().is_err() {
        return "pace-maker: unsafe tool home (pace-maker doctor)".to_string();
    }
    let loaded = Config::load(home, Some(&paths::project_dir()));
    crate::logging::init(home, &loaded.config.log.level, loaded.config.log.keep_days);
    for warning in &loaded.warnings {
        tracing::warn!("config: {warning}");
    }
    let config = &loaded.config;
    let now_ms = crate::clock::now_ms();
    let reading = statusline::parse_input(input, now_ms);
    let (stored, delay_ms, control) = match from_store(home, config, &reading, now_ms) {
        Ok(found) => found,
        Err(error) => {
            // The input's own figures can still be shown.
            tracing::warn!("statusline: {error:#}");
            (None, None, Control::On)
        }
    };
    paths::test_panic("statusline");
    // The input's own figures are the freshest; without them, the store's.
    let shown = match reading.snapshot {
        Some(snapshot) => Some(snapshot.at(now_ms.div_euclid(1000))),
        None => stored,
    };
    statusline::render(
        &LineFacts {
            snapshot: shown,
            stale_after_ms: config.pacing.stale_after_seconds as i64 * 1000,
            target_percent: config.pacing.target_percent,
            delay_ms,
            control,
        },
        now_ms,
    )
}

/// Records the reading, and reads what the store knows: the current
/// official figures, the recent delay, the switch.
fn from_store(
    home: &ToolHome,
    config: &Config,
    reading: &StatuslineReading,
    now_ms: i64,
) -> anyhow::Result<(Option<UsageSnapshot>, Option<i64>, Control)> {
    let busy = BUSY_TIMEOUT.min(Duration::from_millis(config.store.busy_timeout_ms));
    let mut store = Store::open(&home.store_file(), busy)?;
    if let Err(error) = statusline::record(&mut store, reading) {
        // Showing the line matters more than this one record.
        tracing::warn!("statusline: cannot record the reading: {error}");
    }
    let connection = store.connection();
    let stored = match reading.snapshot {
        Some(_) => None,
        None => snapshot::current_official(connection, now_ms)?,
    };
    Ok((
        stored,
        statusline::recent_delay_ms(connection, now_ms)?,
        controls::read(connection, now_ms)?,
    ))
}
