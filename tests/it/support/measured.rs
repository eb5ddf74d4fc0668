//! Runs a child process to its end and measures it the way the hardening
//! tests need: exit status (or the signal that ended it), stdout, stderr,
//! wall time, and the child's own peak memory from `wait4`'s rusage (the
//! kernel's figure for that process alone, not the test's).

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signalled(i32),
}

/// One finished process.
#[derive(Debug, Clone)]
pub struct Measured {
    pub ended: Ended,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub wall: Duration,
    /// Peak resident set size, KiB.
    pub max_rss_kib: i64,
}

impl Measured {
    pub fn succeeded(&self) -> bool {
        self.ended == Ended::Exited(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Asserts what every hook must do: exit 0 with nothing on stderr and
    /// nothing on stdout (unless `stdout_allowed`).
    pub fn assert_quiet_success(&self, what: &str) {
        assert_eq!(
            self.ended,
            Ended::Exited(0),
            "{what}: stderr {}",
            self.stderr_text()
        );
        assert!(
            self.stdout.is_empty(),
            "{what}: stdout {}",
            self.stdout_text()
        );
        assert!(
            self.stderr.is_empty(),
            "{what}: stderr {}",
            self.stderr_text()
        );
    }
}

/// Spawns `command` with `stdin` piped in, then [`finish`]es it.
pub fn run(command: &mut Command, stdin: &[u8]) -> Measured {
    let started = Instant::now();
    let child = spawn(command, stdin);
    finish(child, started)
}

/// Spawns `command` with pipes and writes `stdin` (a child that stops
/// reading early is fine).
pub fn spawn(command: &mut Command, stdin: &[u8]) -> Child {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut pipe = child.stdin.take().expect("stdin piped");
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child
}

/// Collects the output of a spawned child and reaps it with `wait4`.
pub fn finish(mut child: Child, started: Instant) -> Measured {
    let mut stdout_pipe = child.stdout.take().expect("stdout piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr piped");
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut bytes);
        bytes
    });
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `status` and `usage` are valid out pointers.
    let reaped = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(reaped, child.id() as libc::pid_t, "wait4 failed");
    let wall = started.elapsed();
    let ended = if libc::WIFEXITED(status) {
        Ended::Exited(libc::WEXITSTATUS(status))
    } else {
        Ended::Signalled(libc::WTERMSIG(status))
    };
    Measured {
        ended,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        wall,
        max_rss_kib: usage.ru_maxrss,
    }
}

/// The `q`-quantile (0..=1) of some durations.
pub fn quantile(durations: &[Duration], q: f64) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}
