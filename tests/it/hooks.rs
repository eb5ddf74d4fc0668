//! The hook entry point, run as Claude Code runs it: the built binary, a
//! payload on stdin, a sandboxed home. Real captured payloads first, then
//! every kind of bad input, then many processes at once.

use crate::support;

use std::io::Write;
use std::process::Stdio;

use crate::support::{fixture_lines, kebab, Sandbox};

const SESSION: &str = "d095304d-895a-4782-9633-22c1acc3ecef";

fn event_of(line: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    kebab(value["hook_event_name"].as_str().unwrap())
}

#[test]
fn every_fixture_payload_exits_zero_with_empty_stdout_and_updates_the_session() {
    let sandbox = Sandbox::new();
    for file in [
        "hook-inputs-basic.jsonl",
        "hook-inputs-stop-blocked-once.jsonl",
    ] {
        for line in fixture_lines(file) {
            let event = event_of(&line);
            sandbox
                .hook(&event, line.clone())
                .success()
                .stdout("")
                .stderr("");
        }
    }
    let store = sandbox.store();
    let (tool_calls, tool_time, source, ended, reason, prompt): (i64, i64, String, Option<i64>, Option<String>, Option<i64>) = store
        .query_row(
            "SELECT tool_calls, tool_time_ms, source, ended_at, end_reason, last_prompt_at FROM sessions WHERE id = ?1",
            [SESSION],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
        )
        .unwrap();
    assert_eq!(tool_calls, 1, "one PostToolUse in the fixture");
    assert_eq!(tool_time, 35, "duration_ms of the fixture's Bash call");
    assert_eq!(source, "startup");
    assert!(ended.is_some(), "SessionEnd closes the session");
    assert_eq!(reason.as_deref(), Some("other"));
    assert!(prompt.is_some(), "UserPromptSubmit is recorded");
    let tool_name: String = store
        .query_row(
            "SELECT tool_name FROM tool_calls WHERE session_id = ?1",
            [SESSION],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tool_name, "Bash");
    // PreToolUse is not ours: ignored, not recorded.
    let events: Vec<String> = store
        .prepare("SELECT event FROM hook_events WHERE session_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([SESSION], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        events,
        [
            "session-start",
            "user-prompt-submit",
            "post-tool-use",
            "stop",
            "session-end"
        ]
    );
    // The second fixture's session only stopped, twice.
    let stops = sandbox.query_i64(
        "SELECT count(*) FROM hook_events WHERE session_id = '0400adc5-2073-46c4-bc84-786c316a9a28' AND event = 'stop'",
    );
    assert_eq!(stops, 2);
    // The only line: PreToolUse, which the installer never registers, was ignored.
    let lines = sandbox.log_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("pre-tool-use"), "{lines:?}");
}

#[test]
fn a_session_start_after_an_end_reopens_the_session() {
    let sandbox = Sandbox::new();
    let lines = fixture_lines("hook-inputs-basic.jsonl");
    sandbox.hook("session-start", lines[0].clone()).success();
    sandbox.hook("session-end", lines[5].clone()).success();
    let resumed = lines[0].replace("\"startup\"", "\"resume\"");
    sandbox.hook("session-start", resumed).success();
    let ended: Option<i64> = sandbox
        .store()
        .query_row("SELECT ended_at FROM sessions", [], |row| row.get(0))
        .unwrap();
    assert_eq!(ended, None);
}

/// A valid payload for an event, to build bad variants from.
fn post_tool_use() -> String {
    fixture_lines("hook-inputs-basic.jsonl")[3].clone()
}

#[test]
fn malformed_stdin_exits_zero_prints_nothing_and_logs_one_line() {
    let deeply_nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // Past the 16 MiB held in memory the rest is streamed: garbage there
    // is still one logged failure (a valid large input is counted, see
    // tests/it/security.rs).
    let mut oversized = vec![b' '; 20 * 1024 * 1024];
    oversized.extend(b"not JSON");
    // Invalid UTF-8 inside the session id, a field the hook must read.
    let mut invalid_utf8 = post_tool_use().into_bytes();
    let at = post_tool_use().find("d095304d").unwrap() + 4;
    invalid_utf8.splice(at..at, [0xff, 0xfe, 0xc3]);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("empty stdin", "post-tool-use", Vec::new()),
        ("only whitespace", "post-tool-use", b"  \n\t ".to_vec()),
        ("not JSON", "post-tool-use", b"hello, hook".to_vec()),
        ("a JSON array", "post-tool-use", b"[1, 2, 3]".to_vec()),
        ("a JSON string", "stop", br#""session_id""#.to_vec()),
        ("JSON null", "session-start", b"null".to_vec()),
        ("a number", "session-end", b"42".to_vec()),
        (
            "truncated JSON",
            "post-tool-use",
            post_tool_use().as_bytes()[..60].to_vec(),
        ),
        (
            "trailing garbage",
            "post-tool-use",
            format!("{} trailing", post_tool_use()).into_bytes(),
        ),
        (
            "session_id of the wrong type",
            "post-tool-use",
            br#"{"session_id": 5, "tool_name": "Bash"}"#.to_vec(),
        ),
        (
            "tool_name of the wrong type",
            "post-tool-use",
            br#"{"session_id": "s", "tool_name": {"a": 1}}"#.to_vec(),
        ),
        (
            "duration_ms of the wrong type",
            "post-tool-use",
            br#"{"session_id": "s", "duration_ms": "fast"}"#.to_vec(),
        ),
        (
            "stop_hook_active of the wrong type",
            "stop",
            br#"{"session_id": "s", "stop_hook_active": "yes"}"#.to_vec(),
        ),
        (
            "a missing session_id",
            "post-tool-use",
            br#"{"tool_name": "Bash", "cwd": "/x"}"#.to_vec(),
        ),
        (
            "an empty session_id",
            "user-prompt-submit",
            br#"{"session_id": "  ", "prompt": "hi"}"#.to_vec(),
        ),
        ("a 20 MiB stdin", "post-tool-use", oversized),
        (
            "NUL bytes",
            "post-tool-use",
            b"{\"session_id\":\"s\0\0\",\0}".to_vec(),
        ),
        ("invalid UTF-8", "post-tool-use", invalid_utf8),
        ("deeply nested JSON", "stop", deeply_nested.into_bytes()),
        (
            "a byte order mark",
            "post-tool-use",
            [b"\xef\xbb\xbf".as_slice(), post_tool_use().as_bytes()].concat(),
        ),
        (
            "an unknown event",
            "pre-compact",
            post_tool_use().into_bytes(),
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, event, payload) in cases {
        let sandbox = Sandbox::new();
        sandbox.hook(event, payload).success().stdout("").stderr("");
        let lines = sandbox.log_lines();
        assert_eq!(
            lines.len(),
            1,
            "{name}: expected one log line, got {lines:#?}"
        );
        // Nothing was recorded for a payload that could not be read.
        if sandbox.store_path().exists() {
            assert_eq!(
                sandbox.query_i64("SELECT count(*) FROM sessions"),
                0,
                "{name}"
            );
        }
    }
}

#[test]
fn a_hook_with_a_bad_command_line_still_exits_zero() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["hook"])
        .write_stdin(post_tool_use())
        .assert()
        .success()
        .stdout("");
    sandbox
        .command()
        .args(["hook", "stop", "--no-such-flag"])
        .write_stdin(post_tool_use())
        .assert()
        .success()
        .stdout("");
}

#[test]
fn sixteen_processes_of_two_hundred_tool_calls_each_count_exactly_3200() {
    let sandbox = Sandbox::new();
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let payload = post_tool_use();
    // Create the store first so the race is about updates, not creation.
    sandbox.hook("post-tool-use", payload.clone()).success();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let binary = binary.clone();
            let payload = payload.clone();
            let home = sandbox.home();
            let tool_home = sandbox.tool_home();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let mut child = std::process::Command::new(&binary)
                        .args(["hook", "post-tool-use"])
                        .env_clear()
                        .envs(support::clock_env())
                        .env("HOME", &home)
                        .env("PACE_MAKER_HOME", &tool_home)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .expect("spawn");
                    child
                        .stdin
                        .take()
                        .unwrap()
                        .write_all(payload.as_bytes())
                        .unwrap();
                    let output = child.wait_with_output().unwrap();
                    assert!(output.status.success());
                    assert!(output.stdout.is_empty());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    assert_eq!(
        sandbox.query_i64("SELECT tool_calls FROM sessions") - 1,
        3200,
        "every update survived"
    );
    assert_eq!(
        sandbox.query_i64("SELECT count(*) FROM tool_calls") - 1,
        3200
    );
    assert!(
        sandbox.log_lines().is_empty(),
        "errors logged: {:?}",
        sandbox.log_lines()
    );
}

fn table_counts(sandbox: &Sandbox) -> Vec<i64> {
    [
        "sessions",
        "tool_calls",
        "hook_events",
        "pacing_decisions",
        "usage_snapshots",
        "meta",
    ]
    .iter()
    .map(|table| sandbox.query_i64(&format!("SELECT count(*) FROM {table}")))
    .collect()
}

/// The tool home's files apart from SQLite's own -wal/-shm bookkeeping.
fn user_visible_files(sandbox: &Sandbox) -> Vec<(std::path::PathBuf, u64)> {
    sandbox
        .tool_home_listing()
        .into_iter()
        .filter(|(path, _)| {
            let name = path.to_string_lossy();
            !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect()
}

#[test]
fn the_kill_switch_opens_no_file_and_changes_no_row() {
    let sandbox = Sandbox::new();
    // Before anything exists: nothing is created.
    for line in fixture_lines("hook-inputs-basic.jsonl") {
        let event = event_of(&line);
        sandbox
            .command()
            .env("PACE_MAKER_DISABLE", "1")
            .args(["hook", &event])
            .write_stdin(line)
            .assert()
            .success()
            .stdout("");
    }
    assert!(
        !sandbox.tool_home().exists(),
        "the kill switch created the tool home"
    );

    // With a store in place: no row changes, no log.
    sandbox.hook("post-tool-use", post_tool_use()).success();
    let before = table_counts(&sandbox);
    let files_before = user_visible_files(&sandbox);
    for line in fixture_lines("hook-inputs-basic.jsonl") {
        let event = event_of(&line);
        sandbox
            .command()
            .env("PACE_MAKER_DISABLE", "1")
            .args(["hook", &event])
            .write_stdin(line)
            .assert()
            .success()
            .stdout("");
    }
    assert_eq!(table_counts(&sandbox), before);
    assert_eq!(user_visible_files(&sandbox), files_before);
}

#[test]
fn off_makes_every_hook_inert_until_on() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("off").assert().success();
    let before = table_counts(&sandbox);
    let files_before = user_visible_files(&sandbox);
    for line in fixture_lines("hook-inputs-basic.jsonl") {
        let event = event_of(&line);
        if event == "pre-tool-use" {
            continue; // not one of ours; see the fixture test
        }
        sandbox.hook(&event, line).success().stdout("");
    }
    assert_eq!(table_counts(&sandbox), before, "off changed rows");
    assert_eq!(
        user_visible_files(&sandbox),
        files_before,
        "off wrote files"
    );

    sandbox.command().arg("on").assert().success();
    sandbox.hook("post-tool-use", post_tool_use()).success();
    assert_eq!(sandbox.query_i64("SELECT tool_calls FROM sessions"), 1);
}

#[test]
fn pause_keeps_bookkeeping_and_resume_ends_it() {
    let sandbox = Sandbox::new();
    sandbox.command().args(["pause", "10m"]).assert().success();
    sandbox
        .command()
        .args(["status", "--json"])
        .assert()
        .success()
        .stdout(predicates::str::contains("\"state\": \"paused\""));
    sandbox.hook("post-tool-use", post_tool_use()).success();
    assert_eq!(sandbox.query_i64("SELECT tool_calls FROM sessions"), 1);
    sandbox.command().arg("resume").assert().success();
    sandbox
        .command()
        .args(["status", "--json"])
        .assert()
        .success()
        .stdout(predicates::str::contains("\"state\": \"on\""));
    sandbox
        .command()
        .args(["pause", "soon"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("error:"))
        .stderr(predicates::str::contains("hint:"));
}

#[test]
fn an_invalid_config_value_in_a_hook_logs_a_warning_and_uses_the_default() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    std::fs::write(
        sandbox.tool_home().join("config.toml"),
        "[store]\nbusy_timeout_ms = \"soon\"\n",
    )
    .unwrap();
    sandbox
        .hook("post-tool-use", post_tool_use())
        .success()
        .stdout("");
    assert_eq!(sandbox.query_i64("SELECT tool_calls FROM sessions"), 1);
    let lines = sandbox.log_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("store.busy_timeout_ms"), "{}", lines[0]);
}

#[test]
fn files_the_hook_creates_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    sandbox
        .hook("post-tool-use", b"not json".to_vec())
        .success();
    sandbox.hook("post-tool-use", post_tool_use()).success();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sandbox.tool_home()), 0o700);
    assert_eq!(mode(&sandbox.tool_home().join("logs")), 0o700);
    for (path, _) in sandbox.tool_home_listing() {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[test]
fn a_hook_meeting_a_garbage_store_moves_it_aside_and_records_the_event() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    std::fs::write(
        sandbox.store_path(),
        b"this is not a database, just bytes ".repeat(500),
    )
    .unwrap();
    sandbox
        .hook("post-tool-use", post_tool_use())
        .success()
        .stdout("");
    assert_eq!(sandbox.query_i64("SELECT tool_calls FROM sessions"), 1);
    let recovered: String = sandbox
        .store()
        .query_row(
            "SELECT value FROM meta WHERE key = 'store_recovered'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(recovered.contains("pace-maker.db.corrupt-"), "{recovered}");
    let lines = sandbox.log_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("ERROR"), "{lines:?}");
}

/// Two installations through two different paths to pace-maker: Claude
/// Code runs both commands for every event, at once. The second run of an
/// input sees the first's and does nothing, so each call counts once; the
/// same program run twice with the same input is two events.
#[test]
fn an_event_run_by_two_installations_counts_once() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let other_path = elsewhere.join("pace-maker");
    std::fs::copy(assert_cmd::cargo::cargo_bin("pace-maker"), &other_path).unwrap();
    let payload = post_tool_use();
    let start = pace_maker::clock::now_ms();
    let run = |program: &std::path::Path, at_ms: i64| {
        let mut command = std::process::Command::new(program);
        command
            .env_clear()
            .env("PACE_MAKER_TEST_NOW_MS", at_ms.to_string())
            .envs(support::clock_env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", sandbox.home())
            .env("PACE_MAKER_HOME", sandbox.tool_home())
            .args(["hook", "post-tool-use"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.as_bytes())
            .unwrap();
        child
    };
    let children = [
        run(&assert_cmd::cargo::cargo_bin("pace-maker"), start),
        run(&other_path, start + 5),
    ];
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        assert!(output.stdout.is_empty() && output.stderr.is_empty());
    }
    assert_eq!(
        sandbox.query_i64("SELECT COUNT(*) FROM tool_calls"),
        1,
        "one event, counted once"
    );
    assert!(sandbox
        .log_lines()
        .iter()
        .any(|line| line.contains("counted once")));
    // The same input a few seconds later is a new event.
    let output = run(&assert_cmd::cargo::cargo_bin("pace-maker"), start + 3000)
        .wait_with_output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(sandbox.query_i64("SELECT COUNT(*) FROM tool_calls"), 2);
}

#[test]
fn an_event_run_by_the_plugin_and_by_a_settings_entry_through_one_binary_counts_once() {
    // The plugin's launcher runs the very binary a settings entry calls:
    // only `CLAUDE_PLUGIN_ROOT`, which Claude Code sets for a plugin's
    // hooks, tells the two runs apart.
    let sandbox = Sandbox::new();
    let payload = post_tool_use();
    let start = pace_maker::clock::now_ms();
    let run = |plugin_root: Option<&str>, at_ms: i64| {
        let mut command = sandbox.command();
        command
            .env("PACE_MAKER_TEST_NOW_MS", at_ms.to_string())
            .args(["hook", "post-tool-use"])
            .write_stdin(payload.clone());
        if let Some(root) = plugin_root {
            command.env("CLAUDE_PLUGIN_ROOT", root);
        }
        command.assert().success().stdout("").stderr("");
    };
    run(None, start);
    run(
        Some("/home/dev/.claude/plugins/cache/claude-pace-maker/pace-maker/0.1.0"),
        start + 5,
    );
    assert_eq!(
        sandbox.query_i64("SELECT COUNT(*) FROM tool_calls"),
        1,
        "one event, counted once"
    );
    assert_eq!(sandbox.query_i64("SELECT COUNT(*) FROM hook_events"), 1);
}
