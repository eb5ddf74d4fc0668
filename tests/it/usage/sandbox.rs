//! A throwaway machine for one test: a user home with a Claude folder and
//! a tool home inside a temporary directory, and the built binary pointed
//! at them (and at a loopback usage API) through its environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pace_maker::config::Config;
use pace_maker::store::Store;

/// The token the tests plant; it must never show up anywhere else.
pub const TOKEN: &str = "sk-ant-oat01-PLANTED-TOKEN-7f3c9a1e5b2d4c6e8f0a";
/// Far in the future, in epoch milliseconds.
pub const NEVER_EXPIRES_MS: i64 = 4_102_444_800_000;

pub struct UsageSandbox {
    pub dir: tempfile::TempDir,
}

impl UsageSandbox {
    pub fn new() -> Self {
        let sandbox = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        for folder in [sandbox.claude_dir(), sandbox.project_dir()] {
            std::fs::create_dir_all(folder).unwrap();
        }
        sandbox
    }

    pub fn user_home(&self) -> PathBuf {
        self.dir.path().join("user")
    }

    pub fn tool_home(&self) -> PathBuf {
        self.user_home().join(".claude-pace-maker")
    }

    pub fn claude_dir(&self) -> PathBuf {
        self.user_home().join(".claude")
    }

    pub fn project_dir(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.claude_dir().join(".credentials.json")
    }

    /// Writes Claude Code's credentials file the way Claude Code does:
    /// a new file renamed over the old one.
    pub fn write_credentials(&self, token: &str, expires_at_ms: i64) {
        let text = format!(
            r#"{{"claudeAiOauth":{{"accessToken":"{token}","refreshToken":"sk-ant-ort01-refresh","expiresAt":{expires_at_ms},"scopes":["user:inference","user:profile"],"subscriptionType":"max"}}}}"#
        );
        let temporary = self.claude_dir().join(".credentials.json.tmp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, self.credentials_path()).unwrap();
    }

    /// The config a library-level test polls with.
    pub fn config(&self, base: &str) -> Config {
        let mut config = Config::default();
        config.usage.api_base = base.to_string();
        config.usage.connect_timeout_ms = 500;
        config.usage.total_timeout_ms = 1000;
        config
    }

    /// Writes an official snapshot an hour old (10 % of the 5-hour
    /// window): stale, so the next hook polls.
    pub fn store_stale_snapshot(&self) {
        use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};
        let stale = UsageSnapshot {
            source: SnapshotSource::Api,
            taken_at_ms: pace_maker::clock::now_ms() - 3_600_000,
            five_hour: Some(WindowReading {
                percent: 10.0,
                resets_at_s: None,
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        self.store()
            .write(|transaction| snapshot::insert(transaction, &stale))
            .unwrap();
    }

    /// The store, with the calls hooks spooled under a no-delay pass
    /// filed first.
    pub fn store(&self) -> Store {
        let mut store = Store::open(
            &self.tool_home().join("pace-maker.db"),
            Duration::from_secs(5),
        )
        .unwrap();
        pace_maker::pacing::spool::drain(&mut store, &self.tool_home().join("fast")).unwrap();
        store
    }

    /// The built binary with this sandbox's environment.
    pub fn command(&self, api_base: &str) -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("pace-maker"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PACE_MAKER_") || name == "CLAUDE_CONFIG_DIR" {
                command.env_remove(name);
            }
        }
        command
            .current_dir(self.project_dir())
            .env("HOME", self.user_home())
            .env("PACE_MAKER_HOME", self.tool_home())
            .env("CLAUDE_CONFIG_DIR", self.claude_dir())
            .env("CLAUDE_PROJECT_DIR", self.project_dir())
            .env("PACE_MAKER_API_BASE", api_base)
            .env("PACE_MAKER_USAGE_CONNECT_TIMEOUT_MS", "500")
            .env("PACE_MAKER_USAGE_TOTAL_TIMEOUT_MS", "1000")
            // These tests are about the figures; a pacing sleep would only slow them.
            .env("PACE_MAKER_PACING_ENABLED", "false");
        command
    }

    /// Every file under `root`, with its bytes.
    pub fn files_under(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut found = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    found.push((path, bytes));
                }
            }
        }
        found
    }
}

/// A fixture of the real Claude Code CLI, kept in the repository.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude-code-2.1.330")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The captured PostToolUse hook input.
pub fn post_tool_use_payload() -> String {
    fixture("hook-inputs-basic.jsonl")
        .lines()
        .find(|line| line.contains(r#""hook_event_name":"PostToolUse""#))
        .expect("the fixture has a PostToolUse line")
        .to_string()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
