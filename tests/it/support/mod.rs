//! A sandbox for running the built binary: a temporary HOME and tool home,
//! fixture payloads, and read access to the store the binary wrote.

pub mod measured;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

/// The captured Claude Code 2.1.330 payloads, kept in the repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330")
}

/// Lines of a fixture JSONL file.
pub fn fixture_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixtures_dir().join(name))
        .unwrap_or_else(|error| panic!("cannot read fixture {name}: {error}"))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `PostToolUse` -> `post-tool-use`.
pub fn kebab(event: &str) -> String {
    let mut out = String::new();
    for (index, character) in event.chars().enumerate() {
        if character.is_ascii_uppercase() {
            if index > 0 {
                out.push('-');
            }
            out.push(character.to_ascii_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

/// The variables a cleared environment keeps for the clock: libfaketime's
/// (`LD_PRELOAD`, `FAKETIME*`), so a suite run with the clock moved (CI's
/// year-ahead pass, `.ci/year-ahead`) moves the binaries it starts too.
/// Empty on an ordinary run.
pub fn clock_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(name, _)| name == "LD_PRELOAD" || name.starts_with("FAKETIME"))
        .collect()
}

/// A port on 127.0.0.1 that refuses connections for as long as the test
/// process runs: a socket bound to it (so no other socket can take it by
/// binding port 0) that never listens, so a connection gets a reset at once.
pub fn refused_port() -> u16 {
    static BOUND: OnceLock<(OwnedFd, u16)> = OnceLock::new();
    BOUND.get_or_init(bound_but_not_listening).1
}

/// `http://127.0.0.1:<refused_port>`: a usage API base where nothing answers.
pub fn refused_url() -> String {
    format!("http://127.0.0.1:{}", refused_port())
}

fn bound_but_not_listening() -> (OwnedFd, u16) {
    let length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: socket returns a new descriptor (or -1, checked) that nothing
    // else owns; bind and getsockname read and write a `sockaddr_in` of the
    // length given.
    unsafe {
        let raw = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(raw >= 0, "socket: {}", std::io::Error::last_os_error());
        let socket = OwnedFd::from_raw_fd(raw);
        let mut address: libc::sockaddr_in = std::mem::zeroed();
        address.sin_family = libc::AF_INET as libc::sa_family_t;
        address.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let bound = libc::bind(
            socket.as_raw_fd(),
            std::ptr::addr_of!(address).cast(),
            length,
        );
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let mut named_length = length;
        let named = libc::getsockname(
            socket.as_raw_fd(),
            std::ptr::addr_of_mut!(address).cast(),
            &mut named_length,
        );
        assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
        (socket, u16::from_be(address.sin_port))
    }
}

#[test]
fn the_refused_port_refuses() {
    let port = refused_port();
    assert_ne!(port, 0);
    let error = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// Files the calls spooled in `tool_home` (`pacing::spool`) in its store,
/// when it has one, as every command that opens the store does first.
pub fn drain_spool(tool_home: &std::path::Path) {
    let path = tool_home.join(pace_maker::paths::STORE_FILE);
    if path.exists() {
        let mut store = pace_maker::store::Store::open(&path, std::time::Duration::from_secs(5))
            .expect("store opens");
        pace_maker::pacing::spool::drain(
            &mut store,
            &tool_home.join(pace_maker::paths::FAST_FOLDER),
        )
        .expect("the spool drains");
    }
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn tool_home(&self) -> PathBuf {
        self.dir.path().join("tool-home")
    }

    pub fn store_path(&self) -> PathBuf {
        self.tool_home().join("pace-maker.db")
    }

    /// The binary with a clean, sandboxed environment.
    pub fn command(&self) -> Command {
        let mut command = Command::cargo_bin("pace-maker").expect("binary built");
        command
            .env_clear()
            .envs(clock_env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("PACE_MAKER_HOME", self.tool_home())
            .current_dir(self.dir.path());
        command
    }

    /// `pace-maker hook <event>` with `payload` on stdin.
    pub fn hook(&self, event: &str, payload: impl Into<Vec<u8>>) -> assert_cmd::assert::Assert {
        self.command()
            .args(["hook", event])
            .write_stdin(payload)
            .assert()
    }

    /// The store, with the calls hooks spooled under a no-delay pass
    /// filed first, as every reader of the tool opens it.
    pub fn store(&self) -> rusqlite::Connection {
        drain_spool(&self.tool_home());
        rusqlite::Connection::open(self.store_path()).expect("store opens")
    }

    pub fn query_i64(&self, sql: &str) -> i64 {
        self.store()
            .query_row(sql, [], |row| row.get(0))
            .expect(sql)
    }

    /// Every line of every log file.
    pub fn log_lines(&self) -> Vec<String> {
        let dir = self.tool_home().join("logs");
        let mut lines = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                lines.extend(text.lines().map(str::to_string));
            }
        }
        lines
    }

    /// Paths and sizes of every file under the tool home.
    pub fn tool_home_listing(&self) -> Vec<(PathBuf, u64)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        walk(&path, out);
                    } else {
                        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                        out.push((path, size));
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.tool_home(), &mut out);
        out.sort();
        out
    }
}

/// A transcript reply at `at_ms`: a million fresh input tokens on Opus
/// 4.5, which the price table puts at $5.00.
pub fn five_dollar_reply(id: &str, at_ms: i64) -> String {
    let at = jiff::Timestamp::from_millisecond(at_ms).unwrap();
    format!(
        r#"{{"isSidechain":false,"message":{{"id":"msg_{id}","model":"claude-opus-4-5-20251101","usage":{{"input_tokens":1000000,"output_tokens":0}}}},"requestId":"req_{id}","type":"assistant","timestamp":"{}","sessionId":"s","version":"2.1.330"}}"#,
        at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
}
