//! The terminal around the live dashboard: raw mode and the alternate
//! screen on the way in, and always back out, whichever way the program
//! leaves (`q`, Esc, Ctrl-C, SIGTERM, an error or a panic).
//!
//! The loop gathers from the store and redraws once a second, and at once
//! on a key or a resize. It reads only the store: usage figures arrive
//! through the hooks and the status line, which poll the usage API at most
//! once per `usage.poll_interval_seconds` under their own single flight,
//! so a dashboard left open all day adds no request.
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
use crate::store::Store;

/// Time between redraws.
pub const REDRAW_INTERVAL: Duration = Duration::from_secs(1);

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

/// Runs the dashboard until the person quits.
pub fn run(store: &Store, config: &Config) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "watch needs a terminal (hint: use `pace-maker status` or `status --json` in scripts)"
        );
    }
    let time_zone = jiff::tz::TimeZone::system();
    install_signal_handlers();
    let mut guard = TerminalGuard::enter()?;
    let options = GatherOptions { chart: true };
    loop {
        let now_ms = crate::clock::now_ms();
        let data = data::gather(store.connection(), config, now_ms, &time_zone, options)
            .context("cannot read the store")?;
        guard
            .terminal
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
