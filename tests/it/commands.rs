//! The person-facing foundation commands: config, status, logs, the
//! switch, the words for durations and dates, and the manners of a Unix
//! tool (pipes, help, no HOME, background jobs, colour).

use crate::support;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::Sandbox;
use predicates::prelude::*;

/// The output of one run, as text.
fn run(command: &mut assert_cmd::Command) -> (bool, String, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The binary in the sandbox's environment, as a plain `std` command
/// (for standard streams of our own: a closed pipe, a terminal).
fn std_command(sandbox: &Sandbox) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("pace-maker"));
    command
        .env_clear()
        .envs(support::clock_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("PACE_MAKER_HOME", sandbox.tool_home())
        .current_dir(sandbox.dir.path());
    command
}

/// `YYYYMMDD` of the local day `days_ago` days before today.
fn local_day(days_ago: i64) -> String {
    jiff::Zoned::now()
        .checked_sub(jiff::Span::new().days(days_ago))
        .unwrap()
        .strftime("%Y%m%d")
        .to_string()
}

#[test]
fn config_set_keeps_comments_and_rejects_invalid_values() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let path = sandbox.tool_home().join("config.toml");
    std::fs::write(
        &path,
        "# my notes about pacing\n[pacing]\n# keep a margin\ntarget_percent = 90 # tuned in May\n",
    )
    .unwrap();
    sandbox
        .command()
        .args(["config", "set", "pacing.target_percent", "85"])
        .assert()
        .success()
        .stdout("pacing.target_percent = 85.0\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my notes about pacing"), "{text}");
    assert!(text.contains("# keep a margin"), "{text}");
    assert!(text.contains("# tuned in May"), "{text}");
    assert!(text.contains("target_percent = 85.0"), "{text}");

    for (key, value, message) in [
        ("pacing.target_percent", "150", "(0, 100]"),
        ("pacing.target_percent", "lots", "expects a number"),
        ("pacing.no_such_key", "1", "unknown key"),
        ("store.busy_timeout_ms", "-5", "store.busy_timeout_ms"),
        (
            "pacing.max_delay_seconds",
            "3000",
            "hooks.post_tool_use_timeout_seconds",
        ),
    ] {
        sandbox
            .command()
            .args(["config", "set", key, value])
            .assert()
            .failure()
            .stderr(predicate::str::starts_with("error: "))
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("hint: "));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{key} = {value} changed the file"
        );
    }
}

#[test]
fn config_set_creates_the_file_and_section() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["config", "set", "log.level", "debug"])
        .assert()
        .success();
    sandbox
        .command()
        .args(["config", "get", "log.level"])
        .assert()
        .success()
        .stdout("debug\n");
    sandbox
        .command()
        .args(["config", "list"])
        .assert()
        .success()
        .stdout("log.level = \"debug\"\n");
}

#[test]
fn config_layers_resolve_project_over_file_and_environment_over_both() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["config", "set", "pacing.target_percent", "90"])
        .assert()
        .success();
    let project = sandbox.dir.path().join("project");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/pace-maker.toml"),
        "[pacing]\ntarget_percent = 80\n[momentum]\nmax_blocks_per_session = 7\n",
    )
    .unwrap();
    let resolved = sandbox
        .command()
        .env("CLAUDE_PROJECT_DIR", &project)
        .env("PACE_MAKER_MOMENTUM_MAX_BLOCKS_PER_SESSION", "9")
        .args(["config", "list", "--resolved"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let resolved = String::from_utf8(resolved).unwrap();
    assert!(
        resolved.contains("pacing.target_percent = 80.0  # project"),
        "{resolved}"
    );
    assert!(
        resolved.contains("momentum.max_blocks_per_session = 9  # environment"),
        "{resolved}"
    );
    assert!(
        resolved.contains("pacing.max_delay_seconds = 240  # default"),
        "{resolved}"
    );
    sandbox
        .command()
        .args(["config", "get", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("90.0\n");
}

#[test]
fn config_path_and_unknown_get() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!(
            "{}\n",
            sandbox.tool_home().join("config.toml").display()
        ));
    sandbox
        .command()
        .args(["config", "get", "nope.nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("error: unknown key"));
}

#[test]
fn an_unparseable_config_file_is_refused_by_set_and_warned_about_by_list() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let path = sandbox.tool_home().join("config.toml");
    std::fs::write(&path, "[pacing\ntarget = ").unwrap();
    sandbox
        .command()
        .args(["config", "set", "log.level", "debug"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not valid TOML"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[pacing\ntarget = "
    );
    sandbox
        .command()
        .args(["config", "list", "--resolved"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: config:"));
}

#[test]
fn status_lists_sessions_in_text_and_json() {
    let sandbox = Sandbox::new();
    for line in support::fixture_lines("hook-inputs-basic.jsonl")
        .into_iter()
        .take(4)
    {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let event = support::kebab(value["hook_event_name"].as_str().unwrap());
        sandbox.hook(&event, line).success();
    }
    sandbox
        .command()
        .arg("status")
        .assert()
        .success()
        // The hooks above ran by hand: nothing is installed.
        .stdout(predicate::str::contains("pace-maker: not installed"))
        .stdout(predicate::str::contains(
            "d095304d  /home/dev/project  1 tool call  delay 0 s  0 momentum blocks",
        ));
    let output = sandbox
        .command()
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["control"]["state"], "on");
    let session = &json["sessions"][0];
    assert_eq!(session["id"], "d095304d-895a-4782-9633-22c1acc3ecef");
    assert_eq!(session["short_id"], "d095304d");
    assert_eq!(session["project_dir"], "/home/dev/project");
    assert_eq!(session["tool_calls"], 1);
    assert_eq!(session["active"], true);
    assert!(session["last_activity_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn logs_prints_the_newest_file() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .arg("logs")
        .assert()
        .success()
        .stderr(predicate::str::contains("no log yet"));
    sandbox.hook("stop", "not json").success();
    sandbox
        .command()
        .arg("logs")
        .assert()
        .success()
        .stdout(predicate::str::contains("WARN hook failed open"));
}

#[test]
fn config_get_and_list_find_the_project_file_from_a_subfolder() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    let deep = project.join("src").join("deep");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/pace-maker.toml"),
        "[pacing]\ntarget_percent = 88\n",
    )
    .unwrap();
    sandbox
        .command()
        .current_dir(&deep)
        .args(["config", "get", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("88.0\n");
    sandbox
        .command()
        .current_dir(&deep)
        .args(["config", "list", "--resolved"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pacing.target_percent = 88.0  # project",
        ));
    // CLAUDE_PROJECT_DIR (what the hooks read) still decides when set.
    sandbox
        .command()
        .current_dir(&deep)
        .env("CLAUDE_PROJECT_DIR", &deep)
        .args(["config", "get", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("95.0\n");
}

#[test]
fn config_set_says_when_a_layer_above_decides_and_when_to_install_again() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/pace-maker.toml"),
        "[pacing]\ntarget_percent = 88\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = run(sandbox.command().current_dir(&project).args([
        "config",
        "set",
        "pacing.target_percent",
        "92",
    ]));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "pacing.target_percent = 92.0\n");
    assert!(stderr.contains("warning: the project file"), "{stderr}");
    assert!(
        stderr.contains("pace-maker.toml overrides it here"),
        "{stderr}"
    );
    assert!(stderr.contains("88.0 in force"), "{stderr}");

    let (ok, _, stderr) = run(sandbox
        .command()
        .env("PACE_MAKER_LOG_LEVEL", "debug")
        .args(["config", "set", "log.level", "warn"]));
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("environment variable PACE_MAKER_LOG_LEVEL overrides it here"),
        "{stderr}"
    );

    let (ok, _, stderr) = run(sandbox
        .command()
        .args(["config", "set", "log.level", "info"]));
    assert!(ok && stderr.is_empty(), "{stderr}");

    sandbox
        .command()
        .args(["config", "set", "hooks.other_timeout_seconds", "12"])
        .assert()
        .success()
        .stderr(predicate::str::contains("run `pace-maker install` again"));

    // What a hook would refuse, `set` refuses, and the file is unchanged.
    let before = std::fs::read_to_string(sandbox.tool_home().join("config.toml")).unwrap();
    sandbox
        .command()
        .args(["config", "set", "usage.api_base", "http://example.com"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("loopback"));
    assert_eq!(
        std::fs::read_to_string(sandbox.tool_home().join("config.toml")).unwrap(),
        before
    );
}

#[test]
fn config_unset_removes_a_key_and_keeps_the_comments() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let path = sandbox.tool_home().join("config.toml");
    std::fs::write(
        &path,
        "# my notes\n[pacing]\ntarget_percent = 90\n# short sleeps\nmax_delay_seconds = 100\n\n[hooks]\n# a tight hook\npost_tool_use_timeout_seconds = 200\n",
    )
    .unwrap();
    sandbox
        .command()
        .args(["config", "unset", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("pacing.target_percent removed from config.toml (default: 95.0)\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("target_percent"), "{text}");
    assert!(text.contains("# my notes"), "{text}");
    assert!(
        text.contains("# short sleeps\nmax_delay_seconds = 100"),
        "{text}"
    );
    sandbox
        .command()
        .args(["config", "get", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("95.0\n");
    sandbox
        .command()
        .args(["config", "unset", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("pacing.target_percent is not set in config.toml (default: 95.0)\n");
    // Back to the default 300 s it would hold, but 100 s stays under that.
    sandbox
        .command()
        .args(["config", "unset", "hooks.post_tool_use_timeout_seconds"])
        .assert()
        .success()
        .stderr(predicate::str::contains("run `pace-maker install` again"));
    // The comment lines above a removed key stay in the file.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("post_tool_use_timeout_seconds"), "{text}");
    assert!(text.contains("# a tight hook"), "{text}");
    // A key whose default would not hold with the rest of the file stays.
    std::fs::write(
        &path,
        "[pacing]\nmax_delay_seconds = 400\n[hooks]\npost_tool_use_timeout_seconds = 500\n",
    )
    .unwrap();
    sandbox
        .command()
        .args(["config", "unset", "hooks.post_tool_use_timeout_seconds"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("pacing.max_delay_seconds"));
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("post_tool_use_timeout_seconds = 500"));
}

#[test]
fn a_misspelt_key_gets_a_suggestion_from_get_set_and_unset() {
    let sandbox = Sandbox::new();
    for arguments in [
        vec!["config", "get", "pacing.targt"],
        vec!["config", "set", "pacing.targt", "90"],
        vec!["config", "unset", "pacing.targt"],
    ] {
        sandbox
            .command()
            .args(&arguments)
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "error: unknown key `pacing.targt` (did you mean `pacing.target_percent`?)",
            ))
            .stderr(predicate::str::contains("\nhint: "));
    }
}

#[test]
fn a_broken_config_file_is_named_by_line_and_column() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    std::fs::write(
        sandbox.tool_home().join("config.toml"),
        "[pacing]\ntarget_percent = 90\nmax_delay_seconds = = 3\n",
    )
    .unwrap();
    for arguments in [
        vec!["config", "set", "log.level", "debug"],
        vec!["config", "unset", "log.level"],
    ] {
        sandbox
            .command()
            .args(&arguments)
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "is not valid TOML (line 3, column",
            ));
    }
    sandbox
        .command()
        .args(["config", "list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("line 3, column"));
}

#[test]
fn off_lasts_until_on_whatever_pause_and_resume_say() {
    let sandbox = Sandbox::new();
    let state = |sandbox: &Sandbox| {
        let output = sandbox
            .command()
            .args(["status", "--json"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json["control"]["state"].as_str().unwrap().to_string()
    };
    sandbox.command().arg("off").assert().success();
    sandbox
        .command()
        .args(["pause", "30m"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "off, so there is nothing to pause",
        ));
    assert_eq!(state(&sandbox), "off");
    sandbox
        .command()
        .arg("resume")
        .assert()
        .success()
        .stdout(predicate::str::contains("`resume` only ends a pause"));
    assert_eq!(state(&sandbox), "off");
    sandbox.command().arg("on").assert().success();
    assert_eq!(state(&sandbox), "on");
    sandbox.command().args(["pause", "30m"]).assert().success();
    assert_eq!(state(&sandbox), "paused");
    sandbox
        .command()
        .arg("resume")
        .assert()
        .success()
        .stdout("pause ended: pace-maker is on\n");
    assert_eq!(state(&sandbox), "on");
    // `off` during a pause ends it too.
    sandbox.command().args(["pause", "30m"]).assert().success();
    sandbox.command().arg("off").assert().success();
    sandbox.command().arg("resume").assert().success();
    assert_eq!(state(&sandbox), "off");
}

#[test]
fn status_says_when_pace_maker_is_not_installed_or_killed_by_the_switch() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "pace-maker: not installed: no hook runs (run `pace-maker install`",
        ));
    let settings = sandbox.home().join(".claude/settings.json");
    sandbox
        .command()
        .args(["install", "--statusline", "skip"])
        .assert()
        .success();
    assert!(settings.is_file());
    sandbox
        .command()
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("pace-maker: on · "));
    sandbox
        .command()
        .env("PACE_MAKER_DISABLE", "1")
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "pace-maker: disabled by PACE_MAKER_DISABLE: every hook exits at once",
        ));
}

#[test]
fn durations_and_dates_are_the_same_words_in_pause_history_and_report() {
    let sandbox = Sandbox::new();
    // A bare number is never guessed at.
    for arguments in [
        vec!["pause", "90"],
        vec!["history", "--since", "90"],
        vec!["report", "daily", "--since", "90"],
    ] {
        sandbox
            .command()
            .args(&arguments)
            .assert()
            .failure()
            .stderr(predicate::str::contains("`90` has no unit"))
            .stderr(predicate::str::contains("hint: write"))
            .stderr(predicate::str::contains("90m"));
    }
    // ccusage's YYYYMMDD is a date wherever a date is meant.
    let yesterday = local_day(1);
    let (ok, stdout, stderr) = run(sandbox.command().args(["history", "--since", &yesterday]));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("usage readings, last 1 d"), "{stdout}");
    let (ok, stdout, stderr) = run(sandbox
        .command()
        .args(["history", "--since", "1h30m", "--json"]));
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let since: jiff::Timestamp = json["since"].as_str().unwrap().parse().unwrap();
    let until: jiff::Timestamp = json["until"].as_str().unwrap().parse().unwrap();
    let span = until.as_second() - since.as_second();
    assert!((5390..=5410).contains(&span), "{span}");
    sandbox
        .command()
        .args(["history", "--since", &local_day(-2)])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is in the future"));
    for since in [yesterday.as_str(), "7d", "2026-01-31"] {
        let (ok, _, stderr) = run(sandbox
            .command()
            .env("CLAUDE_CONFIG_DIR", sandbox.dir.path().join("claude"))
            .args(["report", "daily", "--json", "--since", since]));
        assert!(ok, "--since {since}: {stderr}");
    }
    sandbox
        .command()
        .args(["report", "daily", "--until", "20261399"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("`20261399` is not a date"));
    // A pause says until when in local time, not a UTC timestamp.
    let (ok, stdout, stderr) = run(sandbox.command().args(["pause", "1h30m"]));
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("pace-maker paused for 1 h 30 min (until "),
        "{stdout}"
    );
    assert!(!stdout.contains('Z') && !stdout.contains('T'), "{stdout}");
}

/// A pipe whose reading end is already closed.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe fills the two descriptors it is given.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both are fresh descriptors this test owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("status").assert().success();
    for arguments in [
        vec!["status", "--json"],
        vec!["status"],
        vec!["config", "list", "--resolved"],
    ] {
        let output = std_command(&sandbox)
            .args(&arguments)
            .stdout(Stdio::from(closed_pipe()))
            .output()
            .unwrap();
        assert!(
            output.stderr.is_empty(),
            "{arguments:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn hook_help_is_printed_and_a_bad_hook_line_stays_quiet() {
    let sandbox = Sandbox::new();
    for env in [None, Some(("PACE_MAKER_DISABLE", "1"))] {
        let mut command = sandbox.command();
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        command
            .args(["hook", "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: pace-maker hook <EVENT>"));
    }
    sandbox
        .command()
        .args(["hook", "--no-such-flag"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    sandbox
        .command()
        .arg("hook")
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn without_home_commands_refuse_clearly_and_write_nothing() {
    let sandbox = Sandbox::new();
    let cwd = sandbox.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let root_home = Path::new("/").join(".claude-pace-maker");
    let root_home_existed = root_home.exists();
    for arguments in [
        vec!["status"],
        vec!["install"],
        vec!["config", "set", "log.level", "debug"],
        vec!["config", "path"],
        vec!["pause", "1h"],
        vec!["report", "daily"],
    ] {
        sandbox
            .command()
            .env_remove("HOME")
            .env_remove("PACE_MAKER_HOME")
            .current_dir(&cwd)
            .args(&arguments)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::starts_with(
                "error: neither HOME nor PACE_MAKER_HOME is set",
            ))
            .stderr(predicate::str::contains(
                "hint: run it with HOME set, or set PACE_MAKER_HOME",
            ));
    }
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(sandbox.dir.path()).unwrap().count(), 1);
    assert_eq!(root_home.exists(), root_home_existed);
}

/// A new pseudo-terminal: its controller and the terminal side.
fn open_pty() -> (OwnedFd, OwnedFd) {
    // SAFETY: plain libc calls on descriptors this function owns; the name
    // buffer is large enough and NUL-terminated by ptsname_r.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        let master = OwnedFd::from_raw_fd(master);
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
        let mut name = [0 as libc::c_char; 256];
        assert_eq!(
            libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
            0
        );
        let terminal = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(terminal >= 0, "open the terminal side");
        (master, OwnedFd::from_raw_fd(terminal))
    }
}

/// Everything written to the terminal until its last user closes it.
fn read_all(master: OwnedFd) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buffer = [0u8; 4096];
        // Reading fails (EIO) once no process holds the terminal side.
        while let Ok(read) = file.read(&mut buffer) {
            if read == 0 {
                break;
            }
            out.extend_from_slice(&buffer[..read]);
        }
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// Waits for a child at most `limit`, then kills its process group.
fn wait_or_kill(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: the child leads its own session, so its group is its pid.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
    None
}

#[test]
fn watch_started_as_a_background_job_exits_with_a_message() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("status").assert().success();
    let (master, terminal) = open_pty();
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let mut command = std::process::Command::new("sh");
    command
        .args([
            "-c",
            "set -m; \"$0\" watch & wait $!; echo \"watch ended: $?\"",
        ])
        .arg(&binary)
        .env_clear()
        .envs(support::clock_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("PACE_MAKER_HOME", sandbox.tool_home())
        .env("TERM", "xterm")
        .current_dir(sandbox.dir.path())
        .stdin(Stdio::from(terminal.try_clone().unwrap()))
        .stdout(Stdio::from(terminal.try_clone().unwrap()))
        .stderr(Stdio::from(terminal));
    // An interactive shell's setting: the shell leads a session whose
    // controlling terminal is the pty, so `&` puts watch in a background
    // process group of that terminal.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    drop(command);
    let output = read_all(master);
    let status = wait_or_kill(&mut child, Duration::from_secs(30));
    let text = output.join().unwrap();
    assert!(status.is_some(), "watch stopped in the background: {text}");
    assert!(
        text.contains("error: watch cannot draw from a background job"),
        "{text}"
    );
    assert!(text.contains("hint: run it in the foreground"), "{text}");
    assert!(text.contains("watch ended: 1"), "{text}");
}

#[test]
fn doctor_colours_a_failure_on_a_terminal_only() {
    let sandbox = Sandbox::new();
    let doctor_on_a_terminal = |no_color: bool| {
        let (master, terminal) = open_pty();
        let mut command = std_command(&sandbox);
        command.env("TERM", "xterm").arg("doctor");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(terminal))
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        drop(command);
        let output = read_all(master);
        let status = child.wait().unwrap();
        assert!(!status.success(), "not installed is a failure");
        output.join().unwrap()
    };
    let coloured = doctor_on_a_terminal(false);
    assert!(
        coloured.contains("\x1b[31mFAIL\x1b[0m  installed"),
        "{coloured}"
    );
    let plain = doctor_on_a_terminal(true);
    assert!(plain.contains("FAIL  installed"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain}");
    let piped = sandbox
        .command()
        .arg("doctor")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\x1b'));
}

#[test]
fn an_error_with_a_cause_keeps_its_hint_whole() {
    let sandbox = Sandbox::new();
    let (ok, _, stderr) =
        run(sandbox
            .command()
            .args(["report", "daily", "--timezone", "Nowhere/Atlantis"]));
    assert!(!ok);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: unknown time zone `Nowhere/Atlantis`: "),
        "{stderr}"
    );
    assert_eq!(
        lines[1], "hint: use an IANA name such as UTC or Europe/Paris",
        "{stderr}"
    );
}

#[test]
fn epic_show_says_when_it_was_attached_in_local_time() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("SPEC.md"),
        "# Spec\n\n## Acceptance criteria\n\n- [ ] it works\n",
    )
    .unwrap();
    sandbox
        .command()
        .current_dir(&project)
        .args(["epic", "attach", "SPEC.md"])
        .assert()
        .success()
        .stdout(predicate::str::contains(": 1 criterion, 1 open"));
    let (ok, stdout, stderr) = run(sandbox
        .command()
        .current_dir(&project)
        .args(["epic", "show"]));
    assert!(ok, "{stderr}");
    let attached = stdout
        .split_once("(attached ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(when, _)| when.to_string())
        .unwrap_or_else(|| panic!("{stdout}"));
    // `14:05` today, `Dec 02 14:05` if midnight passed in between.
    assert!(
        attached.len() == 5 || attached.len() == 12,
        "{attached}: {stdout}"
    );
    assert!(
        !attached.contains('T') && !attached.contains('Z'),
        "{stdout}"
    );
}

/// Layers are merged, then validated as a whole: a lower max delay with a
/// lower hook timeout only fits together, whether both come from the file
/// or one from the file and one from the environment.
#[test]
fn keys_that_only_fit_together_are_in_force_together() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let get = |key: &str, env: &[(&str, &str)]| {
        let output = sandbox
            .command()
            .args(["config", "get", key])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("warning"),
            "{output:?}"
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    std::fs::write(
        sandbox.tool_home().join("config.toml"),
        "[pacing]\nmax_delay_seconds = 6\n\n[hooks]\npost_tool_use_timeout_seconds = 36\n",
    )
    .unwrap();
    assert_eq!(get("pacing.max_delay_seconds", &[]), "6");
    assert_eq!(get("hooks.post_tool_use_timeout_seconds", &[]), "36");

    std::fs::write(
        sandbox.tool_home().join("config.toml"),
        "[hooks]\npost_tool_use_timeout_seconds = 36\n",
    )
    .unwrap();
    let env = [("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "6")];
    assert_eq!(get("pacing.max_delay_seconds", &env), "6");
    assert_eq!(get("hooks.post_tool_use_timeout_seconds", &env), "36");

    // What does not fit is taken back, naming where it came from.
    let output = sandbox
        .command()
        .args(["config", "list", "--resolved"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("hooks.post_tool_use_timeout_seconds = 300  # default"),
        "{stdout}"
    );
    assert!(
        stderr.contains("config.toml") && stderr.contains("must stay 30 s under"),
        "{stderr}"
    );
}

/// A stand-in for `claude -p`: logs its arguments; on its first run it
/// writes a session transcript that ends on Claude Code 2.1.330's
/// usage-limit entry (reset `reset_s`) and exits 1, on later runs it
/// appends a normal answer and exits 0.
fn fake_claude(sandbox: &Sandbox, reset_s: i64) -> std::path::PathBuf {
    let script = sandbox.dir.path().join("fake-claude");
    let limit = format!(
        r#"{{"type":"assistant","message":{{"model":"<synthetic>","role":"assistant","content":[{{"type":"text","text":"You have hit your 5-hour limit"}}]}},"apiError":"usage_limit_reached","apiErrorParams":{{"rate_limit_info":{{"status":"rejected","resetsAt":{reset_s},"rateLimitType":"five_hour"}}}},"error":"rate_limit","isApiErrorMessage":true}}"#
    );
    let text = format!(
        r#"#!/bin/sh
echo "$@" >> "$FAKE_LOG"
dir="$CLAUDE_CONFIG_DIR/projects/$(pwd | sed 's/[^a-zA-Z0-9]/-/g')"
mkdir -p "$dir"
if [ ! -f "$FAKE_LOG.limited" ]; then
  touch "$FAKE_LOG.limited"
  echo '{limit}' > "$dir/sess-1.jsonl"
  exit 1
fi
echo '{{"type":"assistant","message":{{"role":"assistant","content":[{{"type":"text","text":"done"}}]}}}}' >> "$dir/sess-1.jsonl"
exit 0
"#
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    script
}

fn mission_run(sandbox: &Sandbox, script: &Path) -> (bool, String, String, Duration) {
    let started = Instant::now();
    let outcome = run(sandbox
        .command()
        .env("CLAUDE_CONFIG_DIR", sandbox.home().join(".claude"))
        .env("FAKE_LOG", sandbox.dir.path().join("calls.log"))
        .args(["mission", "run", "--margin-seconds", "0", "--"])
        .arg(script)
        .args(["-p", "go on"]));
    (outcome.0, outcome.1, outcome.2, started.elapsed())
}

fn calls(sandbox: &Sandbox) -> Vec<String> {
    std::fs::read_to_string(sandbox.dir.path().join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn mission_run_waits_for_the_reset_then_resumes_the_session() {
    let sandbox = Sandbox::new();
    let reset_s = pace_maker::clock::now_ms() / 1000 + 2;
    let script = fake_claude(&sandbox, reset_s);
    let (ok, _, stderr, elapsed) = mission_run(&sandbox, &script);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the usage limit is reached (5-hour window); waiting until {}",
            pace_maker::clock::iso(reset_s * 1000)
        )),
        "{stderr}"
    );
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(pace_maker::clock::now_ms() / 1000 >= reset_s);
    assert_eq!(calls(&sandbox), ["-p go on", "--resume sess-1 -p go on"]);
}

#[test]
fn mission_run_does_not_wait_while_pace_maker_is_off() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("off").assert().success();
    let script = fake_claude(&sandbox, pace_maker::clock::now_ms() / 1000 + 3600);
    let (ok, _, stderr, elapsed) = mission_run(&sandbox, &script);
    assert!(!ok, "the run's own exit code (1) is passed on: {stderr}");
    assert!(
        stderr.contains("not waiting for the reset: pace-maker is off"),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert_eq!(calls(&sandbox), ["-p go on"]);
}
