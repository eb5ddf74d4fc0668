//! Criterion checks on the built binary: an attached spec whose criteria
//! carry `<!-- check: ... -->` commands, the Stop hook run with the
//! captured payload, and the commands really run (small shell scripts in
//! the project that count their runs in a file the test reads).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{fixture_lines, fixtures_dir, Sandbox};

const SESSION: &str = "d095304d-895a-4782-9633-22c1acc3ecef";

/// A sandbox with a project folder, a spec, scripts and a transcript.
struct Project {
    sandbox: Sandbox,
    dir: PathBuf,
    spec: PathBuf,
    transcript: PathBuf,
    /// Every check script appends a line here when it runs (outside the
    /// project, so the runs do not change the project's state).
    runs: PathBuf,
    /// Extra variables for every hook.
    environment: Vec<(String, String)>,
}

impl Project {
    fn new(spec: &str) -> Self {
        let sandbox = Sandbox::new();
        let dir = sandbox.dir.path().join("project");
        std::fs::create_dir_all(&dir).unwrap();
        let dir = dir.canonicalize().unwrap();
        let spec_path = dir.join("EPIC.md");
        std::fs::write(&spec_path, spec).unwrap();
        let transcripts = sandbox.home().join(".claude/projects/-project");
        std::fs::create_dir_all(&transcripts).unwrap();
        let transcript = transcripts.join(format!("{SESSION}.jsonl"));
        std::fs::copy(
            fixtures_dir().join("transcript-basic-core.jsonl"),
            &transcript,
        )
        .unwrap();
        let runs = sandbox.dir.path().join("runs.log");
        let project = Self {
            sandbox,
            dir,
            spec: spec_path,
            transcript,
            runs: runs.clone(),
            environment: vec![("CHECK_RUNS".into(), runs.to_string_lossy().into_owned())],
        };
        // `pass.sh` and `fail.sh NAME` count their runs; `fail.sh` prints
        // thirty lines and exits 3.
        project.script(
            "pass.sh",
            "echo \"pass $*\" >> \"$CHECK_RUNS\"\necho all good\n",
        );
        project.script(
            "fail.sh",
            "echo \"fail $*\" >> \"$CHECK_RUNS\"\n\
             i=1; while [ $i -le 30 ]; do echo \"output line $i\"; i=$((i+1)); done\n\
             echo 'expected hello, got helo' >&2\n\
             exit 3\n",
        );
        project
    }

    fn script(&self, name: &str, body: &str) {
        std::fs::write(self.dir.join(name), format!("#!/bin/sh\n{body}")).unwrap();
    }

    fn env(&mut self, name: &str, value: &str) {
        self.environment.push((name.into(), value.into()));
    }

    fn command(&self) -> assert_cmd::Command {
        let mut command = self.sandbox.command();
        command
            .current_dir(&self.dir)
            .envs(self.environment.iter().map(|(k, v)| (k, v)));
        command
    }

    fn attach(&self) -> String {
        let output = self
            .command()
            .args(["epic", "attach", "EPIC.md"])
            .assert()
            .success();
        String::from_utf8(output.get_output().stdout.clone()).unwrap()
    }

    fn payload(&self, message: &str) -> String {
        let line = fixture_lines("hook-inputs-basic.jsonl")
            .into_iter()
            .find(|line| line.contains("\"hook_event_name\":\"Stop\""))
            .unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&line).unwrap();
        value["transcript_path"] = self.transcript.to_string_lossy().into();
        value["cwd"] = self.dir.to_string_lossy().into();
        value["last_assistant_message"] = message.into();
        value.to_string()
    }

    /// Runs the Stop hook; its stdout.
    fn stop_saying(&self, message: &str) -> String {
        let output = self
            .command()
            .env("CLAUDE_PROJECT_DIR", &self.dir)
            .args(["hook", "stop"])
            .write_stdin(self.payload(message))
            .timeout(Duration::from_secs(60))
            .assert()
            .success()
            .stderr("");
        String::from_utf8(output.get_output().stdout.clone()).unwrap()
    }

    fn stop(&self) -> String {
        self.stop_saying("done")
    }

    fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.runs)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn spec_text(&self) -> String {
        std::fs::read_to_string(&self.spec).unwrap()
    }

    fn edit_spec(&self, from: &str, to: &str) {
        let text = self.spec_text();
        assert!(text.contains(from), "{from:?} not in {text}");
        std::fs::write(&self.spec, text.replace(from, to)).unwrap();
    }

    fn git(&self, args: &[&str]) {
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args([
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git");
        assert!(output.status.success(), "git {args:?}: {output:?}");
    }
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("stdout is not one JSON object ({error}): {stdout:?}"))
}

fn block_reason(stdout: &str) -> String {
    let reply = json(stdout);
    assert_eq!(reply["decision"], "block", "{reply}");
    reply["reason"].as_str().unwrap().to_string()
}

fn is_block(stdout: &str) -> bool {
    !stdout.trim().is_empty() && json(stdout)["decision"] == "block"
}

const FAILING: &str = "# Epic\n\n## Acceptance criteria\n\
- [x] the greeting is printed <!-- check: sh fail.sh greeting -->\n\
- [x] the README mentions it\n";

const PASSING: &str = "# Epic\n\n## Acceptance criteria\n\
- [x] the greeting is printed <!-- check: sh pass.sh greeting -->\n\
- [x] the README mentions it\n";

#[test]
fn a_ticked_criterion_whose_check_fails_blocks_with_its_output_in_the_reason() {
    let project = Project::new(FAILING);
    let attached = project.attach();
    assert!(
        attached.contains("approved check of \"the greeting is printed\": sh fail.sh greeting"),
        "{attached}"
    );
    let reason = block_reason(&project.stop());
    assert_eq!(project.runs(), ["fail greeting"]);
    for expected in [
        "1 of 2 acceptance criteria",
        "- [x] the greeting is printed (line 4): ticked, but its check did not pass",
        "The check of \"the greeting is printed\" (line 4) failed with exit code 3",
        "so its tick is taken back in this verdict (the spec file is left as it is)",
        "  command: sh fail.sh greeting\n",
        "  | output line 30\n",
        "  | expected hello, got helo\n",
    ] {
        assert!(
            reason.contains(expected),
            "{expected:?} missing from:\n{reason}"
        );
    }
    // The file is left as written.
    assert_eq!(project.spec_text(), FAILING);
    let recorded = project
        .sandbox
        .query_i64("SELECT count(*) FROM check_results WHERE outcome = 'failed' AND exit_code = 3");
    assert_eq!(recorded, 1);

    // Nothing changed: the failure stands without running the check again.
    let again = block_reason(&project.stop());
    assert_eq!(
        project.runs(),
        ["fail greeting"],
        "run again on an unchanged project"
    );
    assert!(again.contains("the check was not run again"), "{again}");
    assert!(again.contains("  | expected hello, got helo\n"), "{again}");
}

#[test]
fn a_passing_check_lets_the_mission_end() {
    let project = Project::new(PASSING);
    project.attach();
    assert_eq!(project.stop_saying("All done. MISSION COMPLETE"), "");
    assert_eq!(project.runs(), ["pass greeting"]);
    assert_eq!(
        project.sandbox.query_i64(
            "SELECT count(*) FROM check_results WHERE outcome = 'passed' AND exit_code = 0"
        ),
        1
    );
    assert!(
        project
            .sandbox
            .log_lines()
            .iter()
            .any(|line| line.contains("check ran") && line.contains("Passed")),
        "{:#?}",
        project.sandbox.log_lines()
    );
}

/// Whether process `pid` is gone: no such process, or a zombie that runs
/// nothing any more (waiting for whoever reaps orphans here).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            state.starts_with('Z') || state.starts_with('X')
        }
    }
}

#[test]
fn a_hanging_check_is_killed_at_the_deadline_with_its_children_and_blocks() {
    let mut project = Project::new(
        "## Acceptance criteria\n- [x] the server answers <!-- check: sh hang.sh -->\n",
    );
    let pid_file = project.sandbox.dir.path().join("grandchild.pid");
    project.script(
        "hang.sh",
        &format!(
            "sleep 300 &\necho $! > {}\necho waiting for the server\nsleep 300\n",
            pid_file.display()
        ),
    );
    // 3 s: a loaded machine's shell still gets to write the pid file.
    project.env("PACE_MAKER_MOMENTUM_CHECK_TIMEOUT_SECONDS", "3");
    project.attach();
    let started = Instant::now();
    let reason = block_reason(&project.stop());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "the stop took {took:?}");
    assert!(
        reason.contains("did not finish within 3 s (momentum.check_timeout_seconds): it was killed, with the processes it started, and counts as failed"),
        "{reason}"
    );
    assert!(reason.contains("  | waiting for the server\n"), "{reason}");
    let grandchild: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone(grandchild) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        gone(grandchild),
        "the check's child {grandchild} outlived it"
    );
    assert_eq!(
        project
            .sandbox
            .query_i64("SELECT count(*) FROM check_results WHERE outcome = 'timed-out'"),
        1
    );
}

#[test]
fn an_unchanged_git_project_is_not_checked_twice() {
    let project = Project::new(PASSING);
    std::fs::write(project.dir.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(project.dir.join("lib.rs"), "fn main() {}\n").unwrap();
    project.git(&["init", "-q"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "start"]);
    project.attach();

    assert_eq!(project.stop_saying("MISSION COMPLETE"), "");
    assert_eq!(project.runs().len(), 1);
    // The second stop runs nothing: the project is as the check left it.
    assert_eq!(project.stop_saying("MISSION COMPLETE"), "");
    assert_eq!(
        project.runs().len(),
        1,
        "checked twice: {:?}",
        project.runs()
    );
    // Ignored build output is no change either.
    std::fs::create_dir_all(project.dir.join("target")).unwrap();
    std::fs::write(project.dir.join("target/out"), "built").unwrap();
    assert_eq!(project.stop_saying("MISSION COMPLETE"), "");
    assert_eq!(project.runs().len(), 1);
    // An edit is: the check runs again.
    std::fs::write(project.dir.join("lib.rs"), "fn main() { println!() }\n").unwrap();
    assert_eq!(project.stop_saying("MISSION COMPLETE"), "");
    assert_eq!(project.runs().len(), 2);
}

#[test]
fn a_project_outside_git_is_not_checked_twice_even_when_the_check_writes_into_it() {
    let project =
        Project::new("## Acceptance criteria\n- [x] it builds <!-- check: sh build.sh -->\n");
    // Like a build: it writes into the project (and counts its runs).
    project.script(
        "build.sh",
        "echo build >> \"$CHECK_RUNS\"\ndate +%s%N > build-output.txt\n",
    );
    project.attach();
    assert_eq!(project.stop(), "");
    assert_eq!(project.stop(), "");
    assert_eq!(
        project.runs(),
        ["build"],
        "its own output made it run again"
    );
    std::fs::write(project.dir.join("main.c"), "int main;\n").unwrap();
    assert_eq!(project.stop(), "");
    assert_eq!(project.runs(), ["build", "build"]);
}

#[test]
fn a_spec_without_checks_behaves_exactly_as_before_checks() {
    let project = Project::new(
        "# Epic\n\n## Acceptance criteria\n- [x] the greeting is printed\n- [ ] the README mentions it\n",
    );
    project.git(&["init", "-q"]);
    // A `git` that only records being called: no check, no state to take.
    let fake_bin = project.sandbox.dir.path().join("bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let called = project.sandbox.dir.path().join("git-called");
    let fake_git = fake_bin.join("git");
    std::fs::write(
        &fake_git,
        format!("#!/bin/sh\necho \"$@\" >> {}\nexit 1\n", called.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake_git, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut project = project;
    project.env(
        "PATH",
        &format!("{}:{}", fake_bin.display(), std::env::var("PATH").unwrap()),
    );
    project.attach();
    let reason = block_reason(&project.stop_saying("All done. MISSION COMPLETE"));
    assert_eq!(
        reason,
        format!(
            "pace-maker: the mission is not finished. 1 of 2 acceptance criteria in {} are still open:\n\
             - [ ] the README mentions it (line 5)\n\
             \n\
             You wrote \"MISSION COMPLETE\", but a mission is complete only when every criterion is ticked in the spec: the phrase alone does not end it while criteria are open. If they are done, tick them; if not, keep working.\n\
             Next: take the first open criterion, do the work and verify it (run the tests, check the result), then tick it in the spec by changing `- [ ]` to `- [x]`. Go on until every criterion is ticked; the stop is allowed then.\n\
             If you cannot go on without a person (missing access, a decision only they can make), end your reply with `MISSION BLOCKED: <the reason>`.",
            project.spec.display()
        )
    );
    project.edit_spec("- [ ] the README", "- [x] the README");
    assert_eq!(project.stop(), "");
    assert!(
        !called.exists(),
        "git was called: {:?}",
        std::fs::read_to_string(&called)
    );
    assert_eq!(
        project
            .sandbox
            .query_i64("SELECT count(*) FROM check_results"),
        0
    );
    assert_eq!(
        project
            .sandbox
            .query_i64("SELECT count(*) FROM epic_checks"),
        0
    );
    assert_eq!(
        project
            .sandbox
            .query_i64("SELECT momentum_blocks FROM sessions"),
        1
    );
}

#[test]
fn checks_run_only_as_the_person_approved_them() {
    let project = Project::new(
        "## Acceptance criteria\n\
         - [ ] the greeting is printed <!-- check: sh fail.sh greeting -->\n\
         - [ ] the README mentions it\n",
    );
    // Attached from inside a Claude Code session (the model's Bash tool):
    // nothing is approved, nothing runs.
    let output = project
        .command()
        .env("CLAUDECODE", "1")
        .args(["epic", "attach", "EPIC.md"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: run inside a Claude Code session (CLAUDECODE is set): the spec's 1 check is not approved",
        ));
    assert!(!String::from_utf8_lossy(&output.get_output().stdout).contains("approved check"));
    project.edit_spec("- [ ] the greeting", "- [x] the greeting");
    project.edit_spec("- [ ] the README", "- [x] the README");
    assert_eq!(project.stop_saying("MISSION COMPLETE"), "");
    assert!(project.runs().is_empty(), "{:?}", project.runs());

    // Attached by the person: approved as written then.
    project.attach();
    // The model rewrites the check to one that always passes, and adds one.
    project.edit_spec("check: sh fail.sh greeting", "check: true");
    project.edit_spec(
        "- [x] the README mentions it",
        "- [x] the README mentions it <!-- check: sh pass.sh added -->",
    );
    let reason = block_reason(&project.stop_saying("MISSION COMPLETE"));
    assert_eq!(
        project.runs(),
        ["fail greeting"],
        "the approved command runs"
    );
    assert!(
        reason.contains("  command: sh fail.sh greeting\n"),
        "{reason}"
    );
    let shown = project.command().args(["epic", "show"]).assert().success();
    let shown = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert!(
        shown.contains("check: sh pass.sh added\n                not approved"),
        "{shown}"
    );
    assert!(
        shown.contains("check: true\n                not approved"),
        "{shown}"
    );
    assert!(
        shown.contains("no longer written in the spec; the approved command still runs"),
        "{shown}"
    );

    // The model rewords the criterion: its approved check counts as unmet.
    project.edit_spec("- [x] the greeting is printed", "- [x] a greeting of sorts");
    let reason = block_reason(&project.stop_saying("MISSION COMPLETE"));
    assert!(
        reason.contains("The criterion \"the greeting is printed\" had the check `sh fail.sh greeting` when the person attached the epic, and it is no longer in the spec"),
        "{reason}"
    );
}

#[test]
fn a_check_that_fails_forever_ends_in_the_breakers_message() {
    let mut project = Project::new(FAILING);
    project.env("PACE_MAKER_MOMENTUM_MAX_CONSECUTIVE_BLOCKS", "2");
    project.attach();
    let stops: Vec<String> = (0..3).map(|_| project.stop()).collect();
    let blocked: Vec<bool> = stops.iter().map(|stdout| is_block(stdout)).collect();
    assert_eq!(blocked, [true, true, false], "{stops:#?}");
    let message = json(&stops[2])["systemMessage"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("1 acceptance criteria open"), "{message}");
    assert!(
        message.contains("momentum.max_consecutive_blocks"),
        "{message}"
    );
    // The breaker's stop ran nothing: it was allowed whatever the check says.
    assert_eq!(project.runs(), ["fail greeting"]);
}

#[test]
fn epic_show_and_status_report_each_check_and_the_verified_count() {
    let project = Project::new(
        "## Acceptance criteria\n\
         - [x] the greeting is printed <!-- check: sh pass.sh greeting -->\n\
         - [x] the README mentions it <!-- check: sh fail.sh readme -->\n\
         - [ ] the tests pass <!-- check: sh pass.sh tests -->\n\
         - [x] no check here\n",
    );
    project.attach();
    let shown = project.command().args(["epic", "show"]).assert().success();
    let shown = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert!(
        shown.contains("checks    0 verified of 3 ticked; 3 with a check"),
        "{shown}"
    );
    assert!(
        shown.contains("check: sh pass.sh tests\n                not run yet"),
        "{shown}"
    );

    assert!(is_block(&project.stop()));
    let shown = project.command().args(["epic", "show"]).assert().success();
    let shown = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert!(
        shown.contains("checks    1 verified of 3 ticked; 3 with a check"),
        "{shown}"
    );
    assert!(
        shown.contains("  [x]    2  the greeting is printed\n"),
        "{shown}"
    );
    assert!(
        shown.contains("check: sh pass.sh greeting\n                passed "),
        "{shown}"
    );
    assert!(
        shown.contains("failed ")
            && shown.contains("exit code 3 after ")
            && shown.contains(": expected hello, got helo"),
        "{shown}"
    );

    let shown = project
        .command()
        .args(["epic", "show", "--json"])
        .assert()
        .success();
    let report = json(&String::from_utf8(shown.get_output().stdout.clone()).unwrap());
    assert_eq!(report["verified"], 1);
    assert_eq!(report["criteria"][0]["verified"], true);
    assert_eq!(report["criteria"][0]["checks"][0]["approved"], true);
    assert_eq!(
        report["criteria"][0]["checks"][0]["last_result"]["outcome"],
        "passed"
    );
    assert_eq!(
        report["criteria"][1]["checks"][0]["last_result"]["exit_code"],
        3
    );
    assert!(report["criteria"][1]["checks"][0]["last_result"]["output"]
        .as_str()
        .unwrap()
        .contains("expected hello, got helo"));
    assert_eq!(
        report["criteria"][2]["checks"][0]["last_result"],
        serde_json::Value::Null
    );
    assert_eq!(report["criteria"][3]["checks"], serde_json::json!([]));

    let status = project.command().arg("status").assert().success();
    let status = String::from_utf8(status.get_output().stdout.clone()).unwrap();
    assert!(status.contains("epic 1/3/4 verified"), "{status}");
    let status = project
        .command()
        .args(["status", "--json"])
        .assert()
        .success();
    let status = json(&String::from_utf8(status.get_output().stdout.clone()).unwrap());
    let epic = &status["sessions"][0]["epic"];
    assert_eq!(
        (&epic["verified"], &epic["done"], &epic["total"]),
        (&1.into(), &3.into(), &4.into())
    );
}

#[test]
fn install_gives_stop_the_time_the_checks_need_and_config_keeps_them_inside_it() {
    let project = Project::new(PASSING);
    project
        .command()
        .args(["config", "set", "momentum.check_timeout_seconds", "400"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "`momentum.check_timeout_seconds` (400) must stay 30 s under `hooks.stop_timeout_seconds` (300)",
        ));
    project
        .command()
        .args(["config", "set", "hooks.stop_timeout_seconds", "500"])
        .assert()
        .success()
        .stderr(predicates::str::contains("pace-maker install"));
    project
        .command()
        .args(["config", "set", "momentum.check_timeout_seconds", "400"])
        .assert()
        .success();
    project
        .command()
        .args(["install", "--scope", "user"])
        .assert()
        .success();
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.sandbox.home().join(".claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["hooks"]["Stop"][0]["hooks"][0]["timeout"], 500);
    assert_eq!(
        settings["hooks"]["SessionStart"][0]["hooks"][0]["timeout"],
        10
    );
    // A project file may shorten the check timeout, never lengthen it.
    std::fs::create_dir_all(project.dir.join(".claude")).unwrap();
    std::fs::write(
        project.dir.join(".claude/pace-maker.toml"),
        "[momentum]\ncheck_timeout_seconds = 4000\n",
    )
    .unwrap();
    project
        .command()
        .args(["config", "get", "momentum.check_timeout_seconds"])
        .assert()
        .success()
        .stdout("400\n");
}
