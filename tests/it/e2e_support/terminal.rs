//! An interactive process in a pseudo-terminal.
//!
//! Claude Code runs its status line only in an interactive session, and an
//! interactive session needs a terminal. This opens a pseudo-terminal pair
//! with `posix_openpt`, gives the child the secondary side as its
//! controlling terminal (a new session, `TIOCSCTTY`), and keeps reading the
//! primary side on a thread so the child never blocks on a full buffer. The
//! screen output is kept as raw bytes for diagnostics; the tests assert on
//! what the status-line command recorded, not on the screen.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child running in a pseudo-terminal.
pub struct TerminalSession {
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    started: Instant,
}

impl TerminalSession {
    /// Starts `command` with a 40x120 terminal as its stdin, stdout and stderr.
    pub fn spawn(mut command: Command) -> io::Result<Self> {
        // SAFETY: plain libc calls on descriptors this function owns; the
        // name buffer is NUL-terminated by ptsname_r.
        let (primary, secondary) = unsafe {
            let primary = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            if primary < 0 {
                return Err(io::Error::last_os_error());
            }
            let primary = OwnedFd::from_raw_fd(primary);
            if libc::grantpt(primary.as_raw_fd()) != 0 || libc::unlockpt(primary.as_raw_fd()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let size = libc::winsize {
                ws_row: 40,
                ws_col: 120,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            libc::ioctl(primary.as_raw_fd(), libc::TIOCSWINSZ, &size);
            let mut name = [0 as libc::c_char; 128];
            if libc::ptsname_r(primary.as_raw_fd(), name.as_mut_ptr(), name.len()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let secondary = libc::open(
                CStr::from_ptr(name.as_ptr()).as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            );
            if secondary < 0 {
                return Err(io::Error::last_os_error());
            }
            (primary, OwnedFd::from_raw_fd(secondary))
        };
        command
            .stdin(Stdio::from(secondary.try_clone()?))
            .stdout(Stdio::from(secondary.try_clone()?))
            .stderr(Stdio::from(secondary));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let child = command.spawn()?;
        // The child holds the secondary side now; `command` still holds its
        // copies until it is dropped, here.
        drop(command);
        let primary = File::from(primary);
        let screen = Arc::new(Mutex::new(Vec::new()));
        {
            // The reader owns the primary side: the terminal stays open
            // as long as the child may write to it.
            let mut reader = primary;
            let screen = Arc::clone(&screen);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                // Ends with EIO once the child and its children closed the terminal.
                while let Ok(read) = reader.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    screen.lock().unwrap().extend_from_slice(&buffer[..read]);
                }
            });
        }
        Ok(Self {
            child,
            screen,
            started,
        })
    }

    /// Everything the child printed so far, with escape sequences.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// The screen text with escape sequences removed, for diagnostics.
    pub fn screen_text(&self) -> String {
        strip_escapes(&self.screen())
    }

    /// Polls `condition` until it holds or `deadline` passes; true if it held.
    pub fn wait_for(
        &mut self,
        deadline: Duration,
        mut condition: impl FnMut(&Self) -> bool,
    ) -> bool {
        while self.started.elapsed() < deadline {
            if condition(self) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return condition(self);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether the child has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Ends the session: the whole process group gets SIGTERM, then SIGKILL.
    pub fn terminate(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: signals to the session this test started (setsid made
        // the child its group leader).
        unsafe {
            libc::kill(group, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.has_exited() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        if !self.has_exited() {
            self.terminate();
        }
    }
}

/// Removes ANSI escape sequences (CSI, OSC and two-byte ones).
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}
