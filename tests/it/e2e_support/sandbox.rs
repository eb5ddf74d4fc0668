//! A sandbox for one scenario: a HOME, a project, the tool home, the two
//! stand-in APIs, and the way to run `pace-maker` and `claude` in it.
//!
//! Every process starts from an empty environment plus `PATH` and the
//! sandbox's own variables, so a developer's real Claude login, settings or
//! `PACE_MAKER_*` variables can never leak into a scenario (or a scenario
//! into them). The sandbox must be created on the scenario's isolated
//! thread (see `namespace.rs`); it is not `Send`, so it cannot wander off
//! to a thread outside the namespace. A failed scenario keeps its folder
//! and prints where it is.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::marker::PhantomData;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::claude_cli::ClaudeCli;
use super::messages_api::{sequence, MessagesApi, Turn};
use super::namespace;
use super::terminal::TerminalSession;
use super::usage_api::{UsageApi, Window};

/// The built `pace-maker` binary.
pub const PACE_MAKER: &str = env!("CARGO_BIN_EXE_pace-maker");

/// How long one CLI run may take before the scenario fails.
const RUN_DEADLINE: Duration = Duration::from_secs(90);

/// A scenario's world.
pub struct ClaudeSandbox {
    root: Option<tempfile::TempDir>,
    pub home: PathBuf,
    pub claude_dir: PathBuf,
    pub project: PathBuf,
    pub tool_home: PathBuf,
    temporary: PathBuf,
    runtime: PathBuf,
    pub messages: MessagesApi,
    pub usage: UsageApi,
    cli: &'static ClaudeCli,
    environment: Vec<(String, String)>,
    _on_this_thread: PhantomData<*const ()>,
}

impl ClaudeSandbox {
    /// Creates the folders and starts both stand-ins on this thread: the
    /// Messages API with a script that only says "done" and no rate-limit
    /// headers, the usage API with `five_hour` and `seven_day`. Scenarios
    /// change either with their `set_*` methods.
    pub fn new(cli: &'static ClaudeCli, five_hour: Window, seven_day: Window) -> Self {
        let messages = MessagesApi::start(sequence(vec![Turn::text("done")]), None);
        let usage = UsageApi::start(five_hour, seven_day);
        let root = tempfile::Builder::new()
            .prefix("pace-maker-e2e-")
            .tempdir()
            .expect("create the sandbox");
        let base = root.path().to_path_buf();
        let home = base.join("home");
        let claude_dir = home.join(".claude");
        let project = base.join("project");
        let tool_home = base.join("pace-maker-home");
        let temporary = base.join("tmp");
        let runtime = base.join("run");
        for folder in [&claude_dir, &project, &temporary, &runtime] {
            std::fs::create_dir_all(folder).expect("create a sandbox folder");
        }
        Self {
            root: Some(root),
            home,
            claude_dir,
            project,
            tool_home,
            temporary,
            runtime,
            messages,
            usage,
            cli,
            environment: Vec::new(),
            _on_this_thread: PhantomData,
        }
    }

    /// Sets a variable for every later `pace-maker` and `claude` process
    /// (Claude Code passes its environment on to the hooks).
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.environment.retain(|(known, _)| known != name);
        self.environment.push((name.to_string(), value.to_string()));
    }

    /// The variables every process gets.
    fn base_environment(&self) -> Vec<(String, String)> {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let mut environment: Vec<(String, String)> = [
            ("PATH", path.as_str()),
            ("HOME", path_str(&self.home)),
            ("CLAUDE_CONFIG_DIR", path_str(&self.claude_dir)),
            ("TMPDIR", path_str(&self.temporary)),
            ("CLAUDE_CODE_TMPDIR", path_str(&self.temporary)),
            ("XDG_RUNTIME_DIR", path_str(&self.runtime)),
            ("LANG", "C.UTF-8"),
            ("PACE_MAKER_HOME", path_str(&self.tool_home)),
            ("PACE_MAKER_API_BASE", &self.usage.base_url()),
            ("PACE_MAKER_LOG", "debug"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        environment.extend(self.environment.iter().cloned());
        environment
    }

    /// The variables of a `claude` process, on top of the base ones.
    fn claude_environment(&self) -> Vec<(String, String)> {
        let mut environment = vec![
            ("ANTHROPIC_BASE_URL".to_string(), self.messages.base_url()),
            ("ANTHROPIC_API_KEY".to_string(), "sk-test".to_string()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".to_string(),
                "1".to_string(),
            ),
            ("DISABLE_TELEMETRY".to_string(), "1".to_string()),
            ("DISABLE_AUTOUPDATER".to_string(), "1".to_string()),
            ("DISABLE_ERROR_REPORTING".to_string(), "1".to_string()),
        ];
        // As root, --dangerously-skip-permissions is refused outside a sandbox.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            environment.push(("IS_SANDBOX".to_string(), "1".to_string()));
        }
        let mut all = self.base_environment();
        // Scenario variables win over the defaults above.
        for (name, value) in environment {
            if !all.iter().any(|(known, _)| *known == name) {
                all.push((name, value));
            }
        }
        all
    }

    /// A `pace-maker` command in the project folder with the sandbox's environment.
    pub fn pace_maker_command(&self, arguments: &[&str]) -> Command {
        let mut command = Command::new(PACE_MAKER);
        command
            .args(arguments)
            .current_dir(&self.project)
            .env_clear()
            .envs(self.base_environment())
            .stdin(Stdio::null());
        command
    }

    /// Runs `pace-maker` and asserts it succeeded.
    pub fn pace_maker(&self, arguments: &[&str]) -> Output {
        let output = self
            .pace_maker_command(arguments)
            .output()
            .expect("run pace-maker");
        assert!(
            output.status.success(),
            "pace-maker {arguments:?} failed: {}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `pace-maker install --scope user` into the sandbox's Claude folder.
    pub fn install(&self) {
        self.pace_maker(&["install", "--scope", "user"]);
    }

    /// A fake OAuth login for a Max subscription, valid for a day: what the
    /// hooks' usage client reads, and what makes an interactive CLI run
    /// without an API key send `Authorization: Bearer <token>`.
    pub fn write_oauth_credentials(&self) {
        let expires_at_ms = (jiff::Timestamp::now().as_second() + 86_400) * 1000;
        let credentials = serde_json::json!({"claudeAiOauth": {
            "accessToken": FAKE_ACCESS_TOKEN,
            "refreshToken": "sk-ant-ort01-e2e-fake-refresh",
            "expiresAt": expires_at_ms,
            "scopes": ["user:inference", "user:profile"],
            "subscriptionType": "max"
        }});
        write_private(
            &self.claude_dir.join(".credentials.json"),
            &credentials.to_string(),
        );
    }

    /// Marks onboarding done and the project trusted in the CLI's own state
    /// file, so an interactive session goes straight to the prompt.
    pub fn trust_project(&self) {
        let mut projects = serde_json::Map::new();
        projects.insert(
            path_str(&self.project).to_string(),
            serde_json::json!({"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}),
        );
        let state = serde_json::json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "projects": projects
        });
        write_private(&self.claude_dir.join(".claude.json"), &state.to_string());
    }

    /// The user settings file.
    pub fn settings_path(&self) -> PathBuf {
        self.claude_dir.join("settings.json")
    }

    /// `claude -p PROMPT` with stream-json output and hook events, run to
    /// its end inside the namespace. `extra` variables apply to this run only.
    pub fn claude_print(&self, prompt: &str, extra: &[(&str, &str)]) -> ClaudeRun {
        self.claude_print_in_mode(prompt, extra, true)
    }

    /// [`ClaudeSandbox::claude_print`] in the default permission mode: only what
    /// settings or a command's `allowed-tools` permit runs.
    pub fn claude_print_asking(&self, prompt: &str) -> ClaudeRun {
        self.claude_print_in_mode(prompt, &[], false)
    }

    fn claude_print_in_mode(
        &self,
        prompt: &str,
        extra: &[(&str, &str)],
        skip_permissions: bool,
    ) -> ClaudeRun {
        namespace::verify_loopback_only();
        let mut command = Command::new(&self.cli.path);
        command
            .args([
                "-p",
                prompt,
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-hook-events",
            ])
            .args(skip_permissions.then_some("--dangerously-skip-permissions"))
            .current_dir(&self.project)
            .env_clear()
            .envs(self.claude_environment())
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        run_to_end(command)
    }

    /// `pace-maker mission run OPTIONS -- claude -p PROMPT ...` (stream-json
    /// output, permissions skipped) with the CLI's environment plus
    /// `extra`, run to its end inside the namespace.
    pub fn mission_run(&self, options: &[&str], prompt: &str, extra: &[(&str, &str)]) -> Output {
        namespace::verify_loopback_only();
        Command::new(PACE_MAKER)
            .args(["mission", "run"])
            .args(options)
            .arg("--")
            .arg(&self.cli.path)
            .args([
                "-p",
                prompt,
                "--output-format",
                "stream-json",
                "--verbose",
                "--dangerously-skip-permissions",
            ])
            .current_dir(&self.project)
            .env_clear()
            .envs(self.claude_environment())
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run pace-maker mission run")
    }

    /// `claude ARGS...` run to its end (a `plugin` command, not a
    /// session), inside the namespace; asserts it succeeded.
    pub fn claude(&self, arguments: &[&str]) -> Output {
        namespace::verify_loopback_only();
        let output = Command::new(&self.cli.path)
            .args(arguments)
            .current_dir(&self.project)
            .env_clear()
            .envs(self.claude_environment())
            .stdin(Stdio::null())
            .output()
            .expect("run claude");
        assert!(
            output.status.success(),
            "claude {arguments:?} failed: {}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Every line of every session transcript the CLI wrote.
    pub fn transcript_lines(&self) -> Vec<Value> {
        let mut lines = Vec::new();
        let mut folders = vec![self.claude_dir.join("projects")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path
                    .extension()
                    .is_some_and(|extension| extension == "jsonl")
                {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    lines.extend(
                        text.lines()
                            .filter_map(|line| serde_json::from_str(line).ok()),
                    );
                }
            }
        }
        lines
    }

    /// The sandbox's own folder for files a scenario adds.
    pub fn root(&self) -> &Path {
        self.root.as_ref().expect("the sandbox is alive").path()
    }

    /// `claude [ARGS...]` as an interactive session in a pseudo-terminal.
    /// With `oauth` the run has no API key, so the CLI uses the sandbox's
    /// OAuth credentials file.
    pub fn claude_interactive(&self, arguments: &[&str], oauth: bool) -> TerminalSession {
        namespace::verify_loopback_only();
        let mut command = Command::new(&self.cli.path);
        let mut environment = self.claude_environment();
        if oauth {
            environment.retain(|(name, _)| name != "ANTHROPIC_API_KEY");
        }
        environment.push(("TERM".to_string(), "xterm-256color".to_string()));
        command
            .args(arguments)
            .current_dir(&self.project)
            .env_clear()
            .envs(environment);
        TerminalSession::spawn(command).expect("start claude in a pseudo-terminal")
    }

    /// The store, when a hook has created it.
    pub fn store(&self) -> Option<rusqlite::Connection> {
        let path = self.tool_home.join("pace-maker.db");
        crate::support::drain_spool(&self.tool_home);
        path.exists()
            .then(|| rusqlite::Connection::open(&path).expect("open the store"))
    }

    /// One number from the store (0 when the store does not exist).
    pub fn count(&self, sql: &str) -> i64 {
        match self.store() {
            Some(store) => store
                .query_row(sql, [], |row| row.get(0))
                .unwrap_or_else(|error| panic!("{sql}: {error}")),
            None => 0,
        }
    }

    /// How many `hook_events` rows each event has, e.g. `post-tool-use -> 3`.
    pub fn hook_event_counts(&self) -> BTreeMap<String, i64> {
        let Some(store) = self.store() else {
            return BTreeMap::new();
        };
        let mut statement = store
            .prepare("SELECT event, count(*) FROM hook_events GROUP BY event")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

impl Drop for ClaudeSandbox {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(root) = self.root.take() {
                let kept = root.keep();
                let _ = writeln!(
                    std::io::stderr(),
                    "e2e: the failed scenario's sandbox is kept at {}",
                    kept.display()
                );
            }
        }
    }
}

/// The fake OAuth access token of [`ClaudeSandbox::write_oauth_credentials`].
pub const FAKE_ACCESS_TOKEN: &str = "sk-ant-oat01-e2e-fake-access-token";

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    file.write_all(text.as_bytes()).unwrap();
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("sandbox paths are UTF-8")
}

/// One line of the CLI's stream-json output and when it arrived.
#[derive(Debug, Clone)]
pub struct StreamLine {
    pub at: Duration,
    pub value: Value,
}

/// A finished `claude -p` run.
#[derive(Debug)]
pub struct ClaudeRun {
    /// When the process was spawned; `StreamLine::at` counts from here.
    pub started: Instant,
    pub status: ExitStatus,
    /// From spawn to exit.
    pub duration: Duration,
    pub lines: Vec<StreamLine>,
    pub stdout: String,
    pub stderr: String,
}

impl ClaudeRun {
    /// The final `{"type": "result"}` object; panics with the output when missing.
    pub fn result(&self) -> &Value {
        self.lines
            .iter()
            .map(|line| &line.value)
            .find(|value| value["type"] == "result")
            .unwrap_or_else(|| panic!("the run has no result line: {self}"))
    }

    /// From the CLI's `init` line to its `result` line: the turn itself,
    /// without process start-up and shutdown.
    pub fn turn_duration(&self) -> Duration {
        let at = |kind: &str, subtype: &str| {
            self.lines
                .iter()
                .find(|line| line.value["type"] == kind && line.value["subtype"] == subtype)
                .map(|line| line.at)
                .unwrap_or_else(|| panic!("the run has no {kind}/{subtype} line: {self}"))
        };
        at("result", "success").saturating_sub(at("system", "init"))
    }

    /// Asserts the run ended well: exit 0 and a successful result.
    pub fn assert_success(&self) {
        assert!(self.status.success(), "claude failed: {self}");
        let result = self.result();
        assert_eq!(result["subtype"], "success", "claude failed: {self}");
        assert_eq!(result["is_error"], false, "claude failed: {self}");
    }

    /// Each hook run of an event (`PostToolUse`), as its `hook_response`
    /// line together with how long the hook took (from `hook_started`).
    pub fn hook_runs(&self, event: &str) -> Vec<(Value, Duration)> {
        let mut runs = Vec::new();
        for (index, line) in self.lines.iter().enumerate() {
            let value = &line.value;
            if value["subtype"] != "hook_response" || value["hook_event"] != event {
                continue;
            }
            let started = self.lines[..index]
                .iter()
                .rev()
                .find(|earlier| {
                    earlier.value["subtype"] == "hook_started"
                        && earlier.value["hook_id"] == value["hook_id"]
                })
                .map_or(line.at, |earlier| earlier.at);
            runs.push((value.clone(), line.at - started));
        }
        runs
    }
}

impl std::fmt::Display for ClaudeRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.duration, self.stdout, self.stderr
        )
    }
}

fn run_to_end(mut command: Command) -> ClaudeRun {
    let started = Instant::now();
    let mut child = command.spawn().expect("start claude");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut text = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let at = started.elapsed();
            if let Ok(value) = serde_json::from_str(&line) {
                lines.push(StreamLine { at, value });
            }
            text.push_str(&line);
            text.push('\n');
        }
        (lines, text)
    });
    let error_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for claude") {
            break status;
        }
        if started.elapsed() > RUN_DEADLINE {
            // The whole group: the CLI and any hook it is running.
            // SAFETY: kill on the process group this test started.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            let (_, stdout) = reader.join().unwrap();
            panic!(
                "claude ran longer than {RUN_DEADLINE:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
                error_reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let duration = started.elapsed();
    let (lines, stdout) = reader.join().unwrap();
    ClaudeRun {
        started,
        status,
        duration,
        lines,
        stdout,
        stderr: error_reader.join().unwrap(),
    }
}
