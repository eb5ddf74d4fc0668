//! Momentum end to end: the built binary, an attached spec, a real captured
//! transcript copied into the sandbox and the captured Stop payloads with
//! their `transcript_path` rewritten to the copy.

use std::path::{Path, PathBuf};

use crate::support::{fixture_lines, fixtures_dir, Sandbox};

const SPEC: &str = "# Epic: say hi properly\n\
\n\
Some context, and an example that is not a criterion:\n\
```markdown\n\
- [ ] an example inside a fence\n\
```\n\
\n\
## Acceptance criteria\n\
- [x] the greeting is printed\n\
- [ ] the greeting is tested\n\
- [ ] the README mentions the greeting\n\
\n\
## Notes\n\
- [ ] not a criterion\n";

/// A sandbox with a project folder, an epic spec in it and a copy of a
/// fixture transcript.
struct Mission {
    sandbox: Sandbox,
    project: PathBuf,
    spec: PathBuf,
    transcript: PathBuf,
}

impl Mission {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let project = sandbox.dir.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        let project = project.canonicalize().unwrap();
        let spec = project.join("epic.md");
        std::fs::write(&spec, SPEC).unwrap();
        let transcripts = sandbox.home().join(".claude/projects/-project");
        std::fs::create_dir_all(&transcripts).unwrap();
        let transcript = transcripts.join("d095304d-895a-4782-9633-22c1acc3ecef.jsonl");
        std::fs::copy(
            fixtures_dir().join("transcript-basic-core.jsonl"),
            &transcript,
        )
        .unwrap();
        Self {
            sandbox,
            project,
            spec,
            transcript,
        }
    }

    fn epic(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.sandbox
            .command()
            .current_dir(&self.project)
            .arg("epic")
            .args(args)
            .assert()
    }

    /// A fixture payload of `event` with its paths pointing into the sandbox.
    fn payload(&self, file: &str, event: &str) -> String {
        let line = fixture_lines(file)
            .into_iter()
            .find(|line| line.contains(&format!("\"hook_event_name\":\"{event}\"")))
            .unwrap_or_else(|| panic!("no {event} payload in {file}"));
        let mut value: serde_json::Value = serde_json::from_str(&line).unwrap();
        value["transcript_path"] = self.transcript.to_string_lossy().into();
        value["cwd"] = self.project.to_string_lossy().into();
        value.to_string()
    }

    fn hook(&self, event: &str, payload: String) -> assert_cmd::assert::Assert {
        self.sandbox
            .command()
            .current_dir(&self.project)
            .env("CLAUDE_PROJECT_DIR", &self.project)
            .args(["hook", event])
            .write_stdin(payload)
            .assert()
            .success()
            .stderr("")
    }

    /// Runs the Stop hook with the basic fixture's payload; returns stdout.
    fn stop(&self) -> String {
        let output = self.hook("stop", self.payload("hook-inputs-basic.jsonl", "Stop"));
        String::from_utf8(output.get_output().stdout.clone()).unwrap()
    }

    fn tick_everything(&self) {
        let ticked = std::fs::read_to_string(&self.spec)
            .unwrap()
            .replace("- [ ] the greeting", "- [x] the greeting")
            .replace("- [ ] the README", "- [x] the README");
        std::fs::write(&self.spec, ticked).unwrap();
    }

    fn counter(&self, column: &str) -> i64 {
        self.sandbox.query_i64(&format!(
            "SELECT {column} FROM sessions WHERE id = 'd095304d-895a-4782-9633-22c1acc3ecef'"
        ))
    }
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("stdout is not one JSON object ({error}): {stdout:?}"))
}

fn is_block(stdout: &str) -> bool {
    !stdout.trim().is_empty() && json(stdout)["decision"] == "block"
}

#[test]
fn attach_show_and_detach_work_from_the_project_folder() {
    let mission = Mission::new();
    mission
        .epic(&["attach", "epic.md"])
        .success()
        .stdout(predicates::str::contains("3 criteria, 2 open"));
    let shown = mission.epic(&["show"]).success();
    let text = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert!(text.contains("1 of 3 done, 2 open"), "{text}");
    assert!(text.contains("[ ]   10  the greeting is tested"), "{text}");
    assert!(text.contains("[x]    9  the greeting is printed"), "{text}");
    assert!(!text.contains("example inside a fence"), "{text}");

    let shown = mission.epic(&["show", "--json"]).success();
    let report = json(&String::from_utf8(shown.get_output().stdout.clone()).unwrap());
    assert_eq!(report["spec_path"], mission.spec.to_string_lossy().as_ref());
    assert_eq!(
        report["project_dir"],
        mission.project.to_string_lossy().as_ref()
    );
    assert_eq!(
        (report["total"].as_u64(), report["open"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(report["criteria"][1]["line"], 10);
    assert_eq!(report["criteria"][1]["done"], false);
    assert_eq!(report["source"], "sections");

    // A subfolder of the project sees the same epic.
    let sub = mission.project.join("src");
    std::fs::create_dir_all(&sub).unwrap();
    mission
        .sandbox
        .command()
        .current_dir(&sub)
        .args(["epic", "show"])
        .assert()
        .success()
        .stdout(predicates::str::contains("2 open"));

    mission
        .epic(&["detach"])
        .success()
        .stdout(predicates::str::contains("detached"));
    mission
        .epic(&["show"])
        .failure()
        .stderr(predicates::str::contains("error: no epic is attached"))
        .stderr(predicates::str::contains(
            "hint: pace-maker epic attach SPEC",
        ));
}

#[test]
fn attach_refuses_a_missing_spec_and_a_spec_without_criteria() {
    let mission = Mission::new();
    mission
        .epic(&["attach", "nope.md"])
        .failure()
        .stderr(predicates::str::contains(
            "error: the spec nope.md does not exist",
        ))
        .stderr(predicates::str::contains("hint: "));
    std::fs::write(
        mission.project.join("empty.md"),
        "# Plan\n\nNo boxes here.\n",
    )
    .unwrap();
    mission
        .epic(&["attach", "empty.md"])
        .failure()
        .stderr(predicates::str::contains("has no acceptance criteria"))
        .stderr(predicates::str::contains("hint: add task items"));
    std::fs::write(
        mission.project.join("section.md"),
        "## Acceptance criteria\nnone yet\n## Other\n- [ ] elsewhere\n",
    )
    .unwrap();
    mission
        .epic(&["attach", "section.md"])
        .failure()
        .stderr(predicates::str::contains("sections hold no task items"));
    mission.epic(&["show"]).failure();
}

#[test]
fn session_start_tells_the_model_about_the_mission() {
    let mission = Mission::new();
    // Without an epic, SessionStart says nothing.
    mission
        .hook(
            "session-start",
            mission.payload("hook-inputs-basic.jsonl", "SessionStart"),
        )
        .stdout("");
    mission.epic(&["attach", "epic.md"]).success();
    let output = mission.hook(
        "session-start",
        mission.payload("hook-inputs-basic.jsonl", "SessionStart"),
    );
    let reply = json(&String::from_utf8(output.get_output().stdout.clone()).unwrap());
    assert_eq!(reply["hookSpecificOutput"]["hookEventName"], "SessionStart");
    let context = reply["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(
        context.contains(&*mission.spec.to_string_lossy()),
        "{context}"
    );
    assert!(context.contains("2 of 3 acceptance criteria"), "{context}");
    assert!(context.contains("`- [x]`"), "{context}");
    assert!(context.contains("MISSION COMPLETE"), "{context}");
    assert!(
        context.contains("MISSION BLOCKED: <the reason>"),
        "{context}"
    );
}

#[test]
fn a_stop_with_open_criteria_blocks_listing_them_and_is_allowed_once_ticked() {
    let mission = Mission::new();
    // No epic: the stop goes through.
    assert_eq!(mission.stop(), "");
    mission.epic(&["attach", "epic.md"]).success();

    let stdout = mission.stop();
    let reply = json(&stdout);
    assert_eq!(reply["decision"], "block");
    let reason = reply["reason"].as_str().unwrap();
    assert!(reason.contains("2 of 3 acceptance criteria"), "{reason}");
    assert!(
        reason.contains("- [ ] the greeting is tested (line 10)"),
        "{reason}"
    );
    assert!(
        reason.contains("- [ ] the README mentions the greeting (line 11)"),
        "{reason}"
    );
    assert!(!reason.contains("the greeting is printed"), "{reason}");
    assert!(!reason.contains("not a criterion"), "{reason}");
    assert!(reason.contains("MISSION BLOCKED: <the reason>"), "{reason}");
    assert_eq!(mission.counter("momentum_blocks"), 1);
    assert_eq!(mission.counter("last_open_criteria"), 2);

    mission.tick_everything();
    assert_eq!(
        mission.stop(),
        "",
        "every criterion ticked: the stop is allowed"
    );
    assert_eq!(mission.counter("momentum_blocks"), 1);
    assert_eq!(mission.counter("last_open_criteria"), 0);
}

#[test]
fn repeated_stops_without_tool_use_are_allowed_at_the_nth() {
    let mission = Mission::new();
    mission.epic(&["attach", "epic.md"]).success();
    // N = 3: three blocks in a row, then the third stop without tool use
    // since a block (the fourth stop) is let through, with a word to the person.
    let stdouts: Vec<String> = (0..4).map(|_| mission.stop()).collect();
    let blocked: Vec<bool> = stdouts.iter().map(|stdout| is_block(stdout)).collect();
    assert_eq!(blocked, [true, true, true, false], "{stdouts:#?}");
    let last = json(&stdouts[3]);
    let message = last["systemMessage"].as_str().unwrap();
    assert!(message.contains("2 acceptance criteria open"), "{message}");
    assert!(
        message.contains("momentum.max_consecutive_blocks"),
        "{message}"
    );
    // It stays allowed while nothing is done...
    assert!(!is_block(&mission.stop()));
    // ...and a tool call (counted by PostToolUse) starts a new run of blocks.
    mission.hook(
        "post-tool-use",
        mission.payload("hook-inputs-basic.jsonl", "PostToolUse"),
    );
    assert!(is_block(&mission.stop()));
    assert_eq!(mission.counter("momentum_blocks"), 4);
    assert_eq!(mission.counter("consecutive_blocks"), 1);
}

#[test]
fn the_limit_is_configurable_and_subagent_stops_are_never_blocked() {
    let mission = Mission::new();
    mission.epic(&["attach", "epic.md"]).success();
    std::fs::create_dir_all(mission.sandbox.tool_home()).unwrap();
    std::fs::write(
        mission.sandbox.tool_home().join("config.toml"),
        "[momentum]\nmax_consecutive_blocks = 1\n",
    )
    .unwrap();
    assert!(is_block(&mission.stop()));
    assert!(!is_block(&mission.stop()));
    let mut subagent: serde_json::Value =
        serde_json::from_str(&mission.payload("hook-inputs-basic.jsonl", "Stop")).unwrap();
    subagent["hook_event_name"] = "SubagentStop".into();
    mission
        .hook("subagent-stop", subagent.to_string())
        .stdout("");
}

#[test]
fn tool_use_after_the_feedback_in_the_transcript_starts_a_new_run() {
    let mission = Mission::new();
    mission.epic(&["attach", "epic.md"]).success();
    std::fs::create_dir_all(mission.sandbox.tool_home()).unwrap();
    std::fs::write(
        mission.sandbox.tool_home().join("config.toml"),
        "[momentum]\nmax_consecutive_blocks = 1\n",
    )
    .unwrap();
    assert!(is_block(&mission.stop()));
    // What Claude Code appends after a block: the feedback, then the work.
    let feedback = fixture_lines("transcript-stop-json-block-lines.jsonl")
        .into_iter()
        .find(|line| line.contains("Stop hook feedback:"))
        .unwrap();
    let tool_use = fixture_lines("transcript-basic-core.jsonl")
        .into_iter()
        .find(|line| line.contains("\"tool_use\""))
        .unwrap();
    append(&mission.transcript, &[&feedback]);
    assert!(!is_block(&mission.stop()), "no tool use after the feedback");
    append(&mission.transcript, &[&feedback, &tool_use]);
    assert!(is_block(&mission.stop()), "tool use after the feedback");
}

#[test]
fn the_escape_hatch_and_a_missing_spec_allow_the_stop() {
    let mission = Mission::new();
    mission.epic(&["attach", "epic.md"]).success();
    let mut payload: serde_json::Value =
        serde_json::from_str(&mission.payload("hook-inputs-basic.jsonl", "Stop")).unwrap();
    payload["last_assistant_message"] =
        "I cannot reach the package registry.\nMISSION BLOCKED: no network access".into();
    mission.hook("stop", payload.to_string()).stdout("");
    payload["last_assistant_message"] = "All good. MISSION COMPLETE".into();
    let output = mission.hook("stop", payload.to_string());
    let reply = json(&String::from_utf8(output.get_output().stdout.clone()).unwrap());
    assert!(reply["reason"]
        .as_str()
        .unwrap()
        .contains("the phrase alone does not end it"));

    std::fs::remove_file(&mission.spec).unwrap();
    assert_eq!(mission.stop(), "");
    assert!(
        mission
            .sandbox
            .log_lines()
            .iter()
            .any(|line| line.contains("does not exist") && line.contains("the stop is allowed")),
        "{:#?}",
        mission.sandbox.log_lines()
    );
}

#[test]
fn a_paused_or_disabled_momentum_blocks_nothing() {
    let mission = Mission::new();
    mission.epic(&["attach", "epic.md"]).success();
    mission
        .sandbox
        .command()
        .args(["pause", "1h"])
        .assert()
        .success();
    assert_eq!(mission.stop(), "");
    mission.sandbox.command().arg("resume").assert().success();
    let output = mission
        .sandbox
        .command()
        .current_dir(&mission.project)
        .env("CLAUDE_PROJECT_DIR", &mission.project)
        .env("PACE_MAKER_MOMENTUM_ENABLED", "false")
        .args(["hook", "stop"])
        .write_stdin(mission.payload("hook-inputs-basic.jsonl", "Stop"))
        .assert()
        .success();
    assert!(output.get_output().stdout.is_empty());
    assert!(is_block(&mission.stop()));
}

fn append(path: &Path, lines: &[&str]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

#[test]
fn the_captured_blocked_once_stops_are_both_blocked_while_criteria_are_open() {
    let mission = Mission::new();
    mission.epic(&["attach", "epic.md"]).success();
    for line in fixture_lines("hook-inputs-stop-blocked-once.jsonl") {
        let mut payload: serde_json::Value = serde_json::from_str(&line).unwrap();
        payload["transcript_path"] = mission.transcript.to_string_lossy().into();
        let output = mission.hook("stop", payload.to_string());
        let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
        assert!(is_block(&stdout), "{stdout}");
    }
    let blocks = mission.sandbox.query_i64(
        "SELECT momentum_blocks FROM sessions WHERE id = '0400adc5-2073-46c4-bc84-786c316a9a28'",
    );
    assert_eq!(blocks, 2);
    let logs = mission.sandbox.log_lines();
    assert!(
        logs.iter()
            .any(|line| line.contains("stop blocked") && line.contains("stop_hook_active=true")),
        "{logs:#?}"
    );
}
