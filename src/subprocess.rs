//! Running another program with a deadline.
//!
//! Three places start a child process: the macOS keychain lookup (`security`
//! can sit waiting for a person to answer a dialog), the user's own
//! status-line command behind `statusline --chain`, and the Stop hook's
//! criterion checks (and `git status` before them). None may hold up a
//! hook or the status line. The first two go through [`run_with_deadline`]:
//! the child gets its input, its stdout is collected on a thread, and when
//! the deadline passes the child's whole process group is killed (a shell
//! script's own children included) and whatever it printed so far is
//! returned. Checks go through [`run_merged`], which also keeps stderr
//! (interleaved with stdout, as a terminal shows them) but only its last
//! bytes, and ends whatever the command left running once it exits.

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
pub const STDOUT_LIMIT: u64 = 1024 * 1024;

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

/// How a command run by [`run_merged`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (not ours).
    Signaled(i32),
    /// The deadline passed: it was killed with its process group.
    TimedOut,
}

/// What a command run by [`run_merged`] printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub ending: Ending,
    /// The last bytes of its stdout and stderr, as they arrived.
    pub output_tail: Vec<u8>,
    /// How many bytes it printed in all.
    pub output_bytes: u64,
    pub duration: Duration,
}

/// How long the output is drained once the command's group is gone.
const DRAIN_AFTER_END: Duration = Duration::from_millis(500);

/// Runs `command` with stdin closed and stdout and stderr into one pipe,
/// keeping only the last `keep` bytes of what it prints, for at most
/// `deadline`. Past the deadline its process group (its children, a
/// script's background jobs) is killed; once it exits, whatever is left of
/// its group is killed too, so nothing it started outlives it or holds the
/// pipe open. Fails only when the program cannot be started.
pub fn run_merged(
    mut command: Command,
    deadline: Duration,
    keep: usize,
) -> std::io::Result<Captured> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let started = Instant::now();
    let mut ends = [0 as libc::c_int; 2];
    // SAFETY: pipe writes two new descriptors into the array it is given.
    if unsafe { libc::pipe(ends.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    let (reader, writer) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    for end in ends {
        // Only the child's stdout and stderr (dup'ed by spawn) stay open
        // across exec. SAFETY: fcntl on descriptors we own.
        unsafe {
            libc::fcntl(end, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer.try_clone()?))
        .stderr(Stdio::from(writer))
        .process_group(0);
    let spawned = command.spawn();
    // The command holds our copies of the write end: the reader sees the
    // end of the output only once they are closed.
    drop(command);
    let mut child = spawned?;
    let tail = std::sync::Arc::new(std::sync::Mutex::new(Tail::new(keep)));
    let (done_sender, done) = mpsc::channel();
    {
        let tail = std::sync::Arc::clone(&tail);
        let mut pipe = std::fs::File::from(reader);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        if let Ok(mut tail) = tail.lock() {
                            tail.push(&buffer[..read]);
                        }
                    }
                }
            }
            let _ = done_sender.send(());
        });
    }
    let ending = loop {
        if has_exited(&mut child)? {
            // Still a zombie, so its process group id cannot be reused yet.
            kill_group(child.id());
            let status = child.wait()?;
            use std::os::unix::process::ExitStatusExt;
            break match (status.code(), status.signal()) {
                (Some(code), _) => Ending::Exited(code),
                (None, Some(signal)) => Ending::Signaled(signal),
                (None, None) => Ending::Signaled(0),
            };
        }
        if started.elapsed() >= deadline {
            kill_group(child.id());
            let _ = child.wait();
            break Ending::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let duration = started.elapsed();
    // A process that left the group (setsid) may still hold the pipe: what
    // arrived by now is what is kept.
    let _ = done.recv_timeout(DRAIN_AFTER_END);
    let (output_tail, output_bytes) = match tail.lock() {
        Ok(tail) => (tail.bytes(), tail.total),
        Err(_) => (Vec::new(), 0),
    };
    Ok(Captured {
        ending,
        output_tail,
        output_bytes,
        duration,
    })
}

/// The last bytes of a stream, in a buffer that never holds more than
/// twice what it keeps.
struct Tail {
    keep: usize,
    buffer: Vec<u8>,
    total: u64,
}

impl Tail {
    fn new(keep: usize) -> Self {
        Self {
            keep,
            buffer: Vec::with_capacity(keep.min(64 * 1024)),
            total: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let bytes = &bytes[bytes.len().saturating_sub(self.keep)..];
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > self.keep.saturating_mul(2).max(1) {
            let cut = self.buffer.len() - self.keep;
            self.buffer.drain(..cut);
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.buffer[self.buffer.len().saturating_sub(self.keep)..].to_vec()
    }
}

/// Whether the child has exited, without reaping it (so its process group
/// id stays its own until the group is killed).
#[cfg(target_os = "linux")]
fn has_exited(child: &mut std::process::Child) -> std::io::Result<bool> {
    let pid: libc::id_t = child.id();
    // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child; WNOWAIT leaves it to `Child::wait`.
    let result = unsafe {
        libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if result != 0 {
        // ECHILD: nothing to wait for any more.
        return Ok(true);
    }
    // SAFETY: waitid filled `info`; si_pid is 0 while the child runs.
    Ok(unsafe { info.si_pid() != 0 })
}

/// Whether the child has exited (reaped here; `Child::wait` keeps its status).
#[cfg(not(target_os = "linux"))]
fn has_exited(child: &mut std::process::Child) -> std::io::Result<bool> {
    Ok(child.try_wait()?.is_some())
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
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!(
            "echo early; sleep 30 & echo $! > {}; sleep 30",
            pid_file.display()
        );
        let started = Instant::now();
        // 2 s: a loaded machine's shell still gets to write the pid file.
        let finished = run_with_deadline(shell(&script), b"", Duration::from_secs(2)).unwrap();
        assert!(finished.timed_out);
        assert!(!finished.success);
        assert!(started.elapsed() < Duration::from_secs(8));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "the grandchild {pid} outlived the deadline");
    }

    #[test]
    fn run_merged_keeps_the_tail_of_stdout_and_stderr_and_the_exit_code() {
        let captured = run_merged(
            shell("seq 1 5000; echo oops >&2; exit 7"),
            Duration::from_secs(10),
            64,
        )
        .unwrap();
        assert_eq!(captured.ending, Ending::Exited(7));
        let text = String::from_utf8(captured.output_tail).unwrap();
        assert!(text.ends_with("4999\n5000\noops\n"), "{text:?}");
        assert!(text.len() <= 64, "{text:?}");
        assert!(captured.output_bytes > 20_000);
    }

    #[test]
    fn run_merged_closes_stdin_and_kills_what_the_command_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!(
            "sleep 30 & echo $! > {}; read line; echo read=$?",
            pid_file.display()
        );
        let started = Instant::now();
        let captured = run_merged(shell(&script), Duration::from_secs(20), 4096).unwrap();
        assert_eq!(captured.ending, Ending::Exited(0));
        assert_eq!(String::from_utf8_lossy(&captured.output_tail), "read=1\n");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "the background sleep {pid} outlived the command");
    }

    #[test]
    fn run_merged_kills_the_group_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!(
            "echo started; sh -c 'sleep 30' & echo $! > {}; sleep 30",
            pid_file.display()
        );
        let started = Instant::now();
        // 2 s: a loaded machine's shell still gets to write the pid file.
        let captured = run_merged(shell(&script), Duration::from_secs(2), 4096).unwrap();
        assert_eq!(captured.ending, Ending::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(8));
        assert_eq!(String::from_utf8_lossy(&captured.output_tail), "started\n");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "the grandchild {pid} outlived the deadline");
    }

    #[test]
    fn run_merged_fails_for_a_program_that_does_not_exist() {
        let error = run_merged(
            Command::new("/nonexistent/program"),
            Duration::from_secs(1),
            64,
        )
        .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }

    /// Whether a process is gone: no such process, or a zombie nobody has
    /// reaped yet (it runs nothing any more).
    fn gone(pid: i32) -> bool {
        for _ in 0..200 {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(stat) => {
                    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                    if state.starts_with('Z') || state.starts_with('X') {
                        return true;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_failing_child_is_not_a_success() {
        let finished = run_with_deadline(shell("exit 3"), b"", Duration::from_secs(5)).unwrap();
        assert!(!finished.success);
        assert!(!finished.timed_out);
    }
}
