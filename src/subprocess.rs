//! Running another program with a deadline.
//!
//! Two places start a child process: the macOS keychain lookup (`security`
//! can sit waiting for a person to answer a dialog) and the user's own
//! status-line command behind `statusline --chain`. Neither may hold up a
//! hook or the status line, so both go through [`run_with_deadline`]: the
//! child gets its input, its stdout is collected on a thread, and when the
//! deadline passes the child's whole process group is killed (a shell
//! script's own children included) and whatever it printed so far is
//! returned.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a child printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Everything read from its stdout (up to the limit).
    pub stdout: Vec<u8>,
    /// Whether it exited with status 0 before the deadline.
    pub success: bool,
    /// Whether the deadline passed and it was killed.
    pub timed_out: bool,
}

/// Most bytes kept from a child's stdout.
const STDOUT_LIMIT: u64 = 1024 * 1024;

/// Runs `command` with `stdin` as its input and stderr discarded, waiting at
/// most `deadline`. Fails only when the program cannot be started.
pub fn run_with_deadline(
    mut command: Command,
    stdin: &[u8],
    deadline: Duration,
) -> std::io::Result<Finished> {
    let started = Instant::now();
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a timeout can kill the grandchildren too.
        .process_group(0);
    let mut child = command.spawn()?;
    let mut child_stdin = child.stdin.take();
    let input = stdin.to_vec();
    // Writing happens on a thread: a child that never reads must not block us.
    let writer = std::thread::spawn(move || {
        if let Some(pipe) = child_stdin.as_mut() {
            let _ = pipe.write_all(&input);
        }
        drop(child_stdin);
    });
    let mut child_stdout = child.stdout.take().expect("stdout was piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut child_stdout)
            .take(STDOUT_LIMIT)
            .read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    let remaining = deadline.saturating_sub(started.elapsed());
    let stdout = receiver.recv_timeout(remaining).ok();
    let status = loop {
        match child.try_wait()? {
            Some(status) => break Some(status),
            None if started.elapsed() >= deadline => break None,
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let timed_out = status.is_none() || stdout.is_none();
    if timed_out {
        kill_group(child.id());
        let _ = child.wait();
    }
    drop(writer);
    let stdout = match stdout {
        Some(bytes) => bytes,
        // Whatever the reader got before the kill closed the pipe.
        None => receiver
            .recv_timeout(Duration::from_millis(50))
            .unwrap_or_default(),
    };
    Ok(Finished {
        stdout,
        success: !timed_out && status.is_some_and(|status| status.success()),
        timed_out,
    })
}

fn kill_group(process_id: u32) {
    let Ok(group) = libc::pid_t::try_from(process_id) else {
        return;
    };
    // SAFETY: sending a signal has no memory effects; a negative id names the
    // process group the child leads (set by `process_group(0)`).
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn a_quick_child_gets_its_input_and_returns_its_output() {
        let finished =
            run_with_deadline(shell("tr a-z A-Z"), b"hello", Duration::from_secs(5)).unwrap();
        assert_eq!(finished.stdout, b"HELLO");
        assert!(finished.success);
        assert!(!finished.timed_out);
    }

    #[test]
    fn a_child_past_its_deadline_is_killed_with_its_own_children() {
        let started = Instant::now();
        let finished = run_with_deadline(
            shell("echo early; sleep 30 & sleep 30"),
            b"",
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(finished.timed_out);
        assert!(!finished.success);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_failing_child_is_not_a_success() {
        let finished = run_with_deadline(shell("exit 3"), b"", Duration::from_secs(5)).unwrap();
        assert!(!finished.success);
        assert!(!finished.timed_out);
    }
}
