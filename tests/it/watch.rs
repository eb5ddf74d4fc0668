//! `pace-maker watch` in a real pseudo-terminal: it draws the dashboard,
//! follows a resize, quits on `q` (and on Ctrl-C), and leaves the terminal
//! as it found it: main screen, cursor shown, cooked mode.

use crate::support;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{refused_url, Sandbox};

const ENTER_ALTERNATE_SCREEN: &str = "\x1b[?1049h";
const LEAVE_ALTERNATE_SCREEN: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";
const HIDE_CURSOR: &str = "\x1b[?25l";

/// The watch process on the slave side of a pseudo-terminal, with
/// everything it writes collected from the master side.
struct PtySession {
    master: std::fs::File,
    /// Kept open so the terminal's modes can be read after the child exits.
    slave: Option<OwnedFd>,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn window_size(columns: u16, rows: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl PtySession {
    fn spawn(sandbox: &Sandbox, args: &[&str], columns: u16, rows: u16) -> Self {
        Self::spawn_program(
            sandbox,
            Path::new(env!("CARGO_BIN_EXE_pace-maker")),
            args,
            &[],
            columns,
            rows,
        )
    }

    fn spawn_program(
        sandbox: &Sandbox,
        program: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        columns: u16,
        rows: u16,
    ) -> Self {
        let mut master_fd = -1;
        let mut slave_fd = -1;
        let size = window_size(columns, rows);
        // SAFETY: openpty writes two descriptors we then own; the size is read only.
        let result = unsafe {
            libc::openpty(
                &mut master_fd,
                &mut slave_fd,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(result, 0, "openpty failed");
        // SAFETY: both descriptors are fresh from openpty and owned here only.
        let (master, slave) = unsafe {
            (
                std::fs::File::from_raw_fd(master_fd),
                OwnedFd::from_raw_fd(slave_fd),
            )
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(support::clock_env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", sandbox.home())
            .env("PACE_MAKER_HOME", sandbox.tool_home())
            .env("TERM", "xterm-256color")
            // No credentials in the sandbox, so no request; and were one
            // made, it would go to a closed loopback port.
            .env("PACE_MAKER_API_BASE", refused_url())
            .envs(envs.iter().copied())
            .current_dir(sandbox.dir.path())
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn watch");
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reading = master.try_clone().unwrap();
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            // Ends with EIO once every slave descriptor is closed.
            while let Ok(count) = reading.read(&mut buffer) {
                if count == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..count]);
            }
        });
        Self {
            master,
            slave: Some(slave),
            child,
            output,
            reader: Some(reader),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the output after byte `from` satisfies `check`.
    fn wait_for(&self, from: usize, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text();
            let tail = text.get(from..).unwrap_or("");
            if check(tail) {
                return tail.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; output so far:\n{text:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn len(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
        self.master.flush().unwrap();
    }

    fn resize(&self, columns: u16, rows: u16) {
        let size = window_size(columns, rows);
        // SAFETY: TIOCSWINSZ reads a winsize from the pointer.
        let result = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(result, 0, "TIOCSWINSZ failed");
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watch did not exit; output:\n{:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The terminal's local modes, read from the slave side.
    fn local_modes(&self) -> libc::tcflag_t {
        let slave = self.slave.as_ref().expect("slave still open");
        // SAFETY: tcgetattr fills the zeroed struct.
        unsafe {
            let mut modes: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut modes), 0);
            modes.c_lflag
        }
    }

    /// Closes our slave descriptor and collects the rest of the output.
    fn finish(&mut self) -> String {
        self.slave = None;
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.text()
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_cooked(modes: libc::tcflag_t) {
    assert_ne!(
        modes & libc::ICANON,
        0,
        "canonical mode is off: raw mode left on"
    );
    assert_ne!(modes & libc::ECHO, 0, "echo is off: raw mode left on");
}

/// The screen a terminal would show after `output`: a small interpreter
/// for what the dashboard writes (text, cursor moves, clears; styles and
/// modes are skipped).
fn screen(output: &str, columns: usize, rows: usize) -> Vec<String> {
    let mut grid = vec![vec![' '; columns]; rows];
    let (mut row, mut column) = (0usize, 0usize);
    let mut characters = output.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\x1b' => {
                if characters.peek() != Some(&'[') {
                    characters.next();
                    continue;
                }
                characters.next();
                let mut parameters = String::new();
                let mut command = ' ';
                for next in characters.by_ref() {
                    if next.is_ascii_alphabetic() || next == '@' || next == '~' {
                        command = next;
                        break;
                    }
                    parameters.push(next);
                }
                let numbers: Vec<usize> = parameters
                    .trim_start_matches('?')
                    .split(';')
                    .map(|part| part.parse().unwrap_or(0))
                    .collect();
                match command {
                    'H' | 'f' => {
                        row = numbers.first().copied().unwrap_or(1).max(1) - 1;
                        column = numbers.get(1).copied().unwrap_or(1).max(1) - 1;
                    }
                    'J' if numbers.first() == Some(&2) => {
                        grid = vec![vec![' '; columns]; rows];
                    }
                    _ => {}
                }
            }
            '\r' => column = 0,
            '\n' => row += 1,
            other => {
                if row < rows && column < columns {
                    grid[row][column] = other;
                }
                column += 1;
            }
        }
    }
    grid.into_iter()
        .map(|line| line.into_iter().collect())
        .collect()
}

/// The longest run of `character` in `text`.
fn longest_run(text: &str, character: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for found in text.chars() {
        if found == character {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[test]
fn watch_draws_the_dashboard_follows_a_resize_and_quits_on_q_with_the_terminal_restored() {
    let sandbox = Sandbox::new();
    let mut session = PtySession::spawn(&sandbox, &["watch"], 80, 24);
    assert_cooked(session.local_modes());

    let first = session.wait_for(0, "the first frame", |text| {
        let lines = screen(text, 80, 24);
        lines[0].starts_with(" pace-maker ")
            && lines[1].starts_with("┌ windows · no usage reading yet ─")
            && lines[2].starts_with("│5-hour  ░░░")
            && lines[4].starts_with("│weekly  ░░░")
            && lines[7].starts_with("┌ 5-hour window: usage against target pace and projection ")
            && lines[17].starts_with("┌ sessions (0 active) ")
            && lines[17].contains("┌ recent pacing decisions ")
            && lines[23].starts_with(" q quit · delay today 0 s")
    });
    assert!(first.contains(ENTER_ALTERNATE_SCREEN), "{first:?}");
    assert!(first.contains(HIDE_CURSOR), "{first:?}");
    // The frame fits 80 columns: no border is wider.
    assert!(longest_run(&first, '─') <= 78, "{first:?}");
    // Raw mode while it runs.
    assert_eq!(session.local_modes() & libc::ICANON, 0, "not in raw mode");

    let before_resize = session.len();
    session.resize(132, 40);
    session.wait_for(before_resize, "a redraw at the new size", |text| {
        let lines = screen(text, 132, 40);
        longest_run(text, '─') > 100 && lines[1].ends_with("┐") && lines[39].starts_with(" q quit")
    });

    let before_quit = session.len();
    session.send(b"q");
    let status = session.wait_exit();
    assert!(status.success(), "watch exited with {status}");
    assert_cooked(session.local_modes());
    let output = session.finish();
    let exit = &output[before_quit..];
    assert!(exit.contains(LEAVE_ALTERNATE_SCREEN), "{exit:?}");
    assert!(exit.contains(SHOW_CURSOR), "{exit:?}");
    // Nothing is drawn on the main screen after leaving the alternate one.
    let after = &exit[exit.rfind(LEAVE_ALTERNATE_SCREEN).unwrap()..];
    assert!(!after.contains("5-hour"), "{after:?}");
}

#[test]
fn watch_quits_on_control_c_and_on_escape_with_the_terminal_restored() {
    for (name, key) in [("Ctrl-C", &b"\x03"[..]), ("Esc", &b"\x1b"[..])] {
        let sandbox = Sandbox::new();
        let mut session = PtySession::spawn(&sandbox, &["watch"], 80, 24);
        session.wait_for(0, "the first frame", |text| {
            screen(text, 80, 24)[23].starts_with(" q quit")
        });
        let before_quit = session.len();
        session.send(key);
        let status = session.wait_exit();
        assert!(status.success(), "{name}: watch exited with {status}");
        assert_cooked(session.local_modes());
        let output = session.finish();
        let exit = &output[before_quit..];
        assert!(exit.contains(LEAVE_ALTERNATE_SCREEN), "{name}: {exit:?}");
        assert!(exit.contains(SHOW_CURSOR), "{name}: {exit:?}");
    }
}

/// Set in the child process of the panic test.
const PANIC_CHILD: &str = "PACE_MAKER_TEST_PANIC_CHILD";

/// The child of the panic test, not a test of its own: it takes over the
/// terminal exactly as `watch` does, draws, then panics. The parent runs
/// this test binary again, in a pseudo-terminal, with only this test.
#[test]
#[ignore = "run by a_panic_while_the_dashboard_owns_the_terminal_gives_it_back_first"]
fn panic_child_takes_over_the_terminal_and_panics() {
    if std::env::var_os(PANIC_CHILD).is_none() {
        return;
    }
    let mut guard = pace_maker::dashboard::live::TerminalGuard::enter().expect("a terminal");
    guard
        .draw(|frame| {
            frame.render_widget(
                ratatui::widgets::Paragraph::new("drawn before the panic"),
                frame.area(),
            )
        })
        .expect("draw");
    std::thread::sleep(Duration::from_millis(200));
    panic!("a deliberate panic while the dashboard owns the terminal");
}

#[test]
fn a_panic_while_the_dashboard_owns_the_terminal_gives_it_back_first() {
    let sandbox = Sandbox::new();
    let mut session = PtySession::spawn_program(
        &sandbox,
        &std::env::current_exe().unwrap(),
        &[
            "watch::panic_child_takes_over_the_terminal_and_panics",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(PANIC_CHILD, "1")],
        80,
        24,
    );
    session.wait_for(0, "the frame", |text| {
        screen(text, 80, 24)[0].starts_with("drawn before the panic")
    });
    let status = session.wait_exit();
    assert!(!status.success(), "the child should have panicked");
    assert_cooked(session.local_modes());
    let output = session.finish();
    let leave = output
        .find(LEAVE_ALTERNATE_SCREEN)
        .expect("left the alternate screen");
    assert!(output[leave..].contains(SHOW_CURSOR), "{output:?}");
    // The message comes after the terminal is restored, so it stays readable.
    let message = output
        .find("a deliberate panic")
        .expect("the panic message");
    assert!(message > leave, "{output:?}");
}

#[test]
fn status_colours_a_terminal_but_not_under_no_color_or_in_a_pipe() {
    for (name, envs, coloured) in [
        ("a terminal", &[][..], true),
        ("NO_COLOR", &[("NO_COLOR", "1")][..], false),
        ("a dumb terminal", &[("TERM", "dumb")][..], false),
    ] {
        let sandbox = Sandbox::new();
        let mut session = PtySession::spawn_program(
            &sandbox,
            Path::new(env!("CARGO_BIN_EXE_pace-maker")),
            &["status"],
            envs,
            100,
            30,
        );
        assert!(session.wait_exit().success(), "{name}");
        let output = session.finish();
        assert!(output.contains("pace-maker: "), "{name}: {output:?}");
        assert_eq!(output.contains("\x1b["), coloured, "{name}: {output:?}");
    }
    let sandbox = Sandbox::new();
    let piped = sandbox.command().arg("status").output().unwrap();
    assert!(piped.status.success());
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\x1b'));
}

#[test]
fn watch_without_a_terminal_says_so_and_fails() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .arg("watch")
        .assert()
        .failure()
        .stderr(predicates::str::contains("error: watch needs a terminal"))
        .stderr(predicates::str::contains("hint:"));
}
