//! The terminal around the live dashboard: raw mode and the alternate
//! screen on the way in, and always back out, whichever way the program
//! leaves (`q`, Esc, Ctrl-C, SIGTERM, an error or a panic).
//!
//! The loop gathers from the store and redraws once a second, and at once
//! on a key or a resize. Usage figures arrive through the status line and
//! the hooks; so that an idle dashboard still shows current figures, a
//! background thread asks the usage module's single-flight refresh every
//! few seconds, which polls only when no official reading is younger than
//! `usage.poll_interval_seconds` and no backoff or other poller is in the
//! way: the dashboard never makes the API be asked more often than
//! configured, and a slow request never stalls the drawing.
//!
//! Restoring is done by [`TerminalGuard`]'s `Drop` and by a panic hook that
//! restores before the panic message is printed (so it lands on the normal
//! screen, readable). In raw mode Ctrl-C arrives as a key, not a signal;
//! SIGTERM, SIGHUP and SIGINT set a flag the loop checks between frames.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::data::{self, GatherOptions};
use super::render;
use crate::config::Config;
use crate::paths::ToolHome;
use crate::store::Store;
use crate::usage::poll;

/// Time between redraws.
pub const REDRAW_INTERVAL: Duration = Duration::from_secs(1);

/// How often the background thread asks the refresh whether a poll is due.
pub const REFRESH_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// Set by the signal handler; the loop leaves at its next check.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Puts the terminal back as it was: main screen, cursor shown, cooked mode.
/// Safe to call more than once.
pub fn restore_terminal() {
    let mut stdout = std::io::stdout();
    let _ = execute!(stdout, LeaveAlternateScreen, cursor::Show);
    let _ = terminal::disable_raw_mode();
    let _ = stdout.flush();
}

/// Owns the terminal while the dashboard runs; dropping it restores.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<std::io::Stdout>>,
}

impl TerminalGuard {
    /// Takes over the terminal, with a panic hook that gives it back first.
    pub fn enter() -> anyhow::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let mut stdout = std::io::stdout();
        if let Err(error) = execute!(stdout, EnterAlternateScreen, cursor::Hide) {
            restore_terminal();
            return Err(error).context("cannot switch to the alternate screen");
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(error) => {
                restore_terminal();
                Err(error).context("cannot start drawing")
            }
        }
    }
}

impl TerminalGuard {
    /// Draws one frame.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame<'_>)) -> std::io::Result<()> {
        self.terminal.draw(render).map(|_| ())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_signal_handlers() {
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, request_stop as *const () as libc::sighandler_t);
        }
    }
}

/// What a key asks for.
fn is_quit(key: &KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && (matches!(
            key.code,
            KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc
        ) || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)))
}

/// Keeps the usage figures current while the dashboard is open (see the
/// module doc). Errors are logged by the refresh; the thread ends with the
/// process.
fn spawn_refresher(home: &ToolHome, config: &Config) {
    let home = home.clone();
    let config = config.clone();
    let spawned = std::thread::Builder::new()
        .name("usage-refresh".into())
        .spawn(move || {
            let mut store = match Store::open_home(&home, &config) {
                Ok(store) => store,
                Err(error) => {
                    tracing::warn!("watch: no usage refresh: {error:#}");
                    return;
                }
            };
            loop {
                // Calls taken under a no-delay pass reach the store here,
                // so the dashboard's next frame shows them.
                if let Err(error) = crate::pacing::spool::drain(&mut store, &home.fast_dir()) {
                    tracing::warn!("watch: cannot file the spooled calls: {error:#}");
                }
                poll::refresh_if_stale(&config, &mut store, crate::clock::now_ms());
                std::thread::sleep(REFRESH_CHECK_INTERVAL);
            }
        });
    if let Err(error) = spawned {
        tracing::warn!("watch: cannot start the usage refresh: {error}");
    }
}

/// Whether this process runs in a background process group of its
/// terminal (`pace-maker watch &` in an interactive shell).
fn in_background() -> bool {
    // SAFETY: both calls only read the process's and the terminal's state.
    let (foreground, own) = unsafe { (libc::tcgetpgrp(libc::STDIN_FILENO), libc::getpgrp()) };
    foreground >= 0 && foreground != own
}

/// Runs the dashboard until the person quits.
pub fn run(home: &ToolHome, store: &Store, config: &Config) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(crate::hint::hinted(
            "watch needs a terminal",
            "use `pace-maker status` or `status --json` in scripts",
        ));
    }
    if in_background() {
        // Touching the terminal from a background job stops the process
        // (SIGTTOU, SIGTTIN) until someone brings it back, which a job
        // started with `&` may never see: say so and end instead. The
        // message itself must not stop it either (`stty tostop`).
        // SAFETY: ignoring a signal is always sound.
        unsafe {
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        }
        return Err(crate::hint::hinted(
            "watch cannot draw from a background job",
            "run it in the foreground, without `&`, or bring it back with `fg`",
        ));
    }
    let time_zone = jiff::tz::TimeZone::system();
    install_signal_handlers();
    let mut guard = TerminalGuard::enter()?;
    spawn_refresher(home, config);
    let options = GatherOptions { chart: true };
    loop {
        let now_ms = crate::clock::now_ms();
        let data = data::gather(store.connection(), config, now_ms, &time_zone, options)
            .context("cannot read the store")?;
        guard
            .draw(|frame| render::draw(frame, &data))
            .context("cannot draw")?;
        let deadline = Instant::now() + REDRAW_INTERVAL;
        loop {
            if STOP_REQUESTED.load(Ordering::SeqCst) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // Short polls so a signal is noticed quickly.
            if event::poll(left.min(Duration::from_millis(200)))? {
                match event::read()? {
                    Event::Key(key) if is_quit(&key) => return Ok(()),
                    Event::Resize(..) => {
                        guard.terminal.autoresize()?;
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_esc_and_control_c_quit_other_keys_do_not() {
        let key = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(is_quit(&key(KeyCode::Char('q'), KeyModifiers::NONE)));
        assert!(is_quit(&key(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(is_quit(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        assert!(!is_quit(&key(KeyCode::Char('c'), KeyModifiers::NONE)));
        assert!(!is_quit(&key(KeyCode::Char('x'), KeyModifiers::NONE)));
    }
}
