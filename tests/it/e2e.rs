//! End to end with the real Claude Code CLI (pinned in
//! `.ci/install-claude-code`): the CLI talks to a scripted Messages API
//! stand-in, runs `pace-maker` as its hooks (installed with `pace-maker
//! install`), and the hooks talk to a usage API stand-in, all inside a
//! network namespace that has only loopback. Unit tests prove our logic;
//! only the real client proves the contract.
//!
//! Each test is one scenario on its own thread and namespace, so libtest
//! runs them side by side. Each prints its duration.

use crate::e2e_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::e2e_support::http::{Response, Server};
use crate::e2e_support::messages_api::{sequence, RateLimits, Turn};
use crate::e2e_support::namespace;
use crate::e2e_support::sandbox::{ClaudeRun, ClaudeSandbox, FAKE_ACCESS_TOKEN};
use crate::e2e_support::usage_api::Window;
use crate::e2e_support::{say, scenario};

fn now_s() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A window at `percent` that resets in `hours_left` hours.
fn window(percent: f64, hours_left: i64) -> Window {
    Window {
        utilization: percent,
        resets_at: now_s() + hours_left * 3600,
    }
}

/// Usage well under pace: 10 % of the 5-hour window with 4 hours left, 5 %
/// of the week with 6 days left.
fn under_pace() -> (Window, Window) {
    (window(10.0, 4), window(5.0, 6 * 24))
}

/// Usage well ahead of pace: 80 % of the 5-hour window one hour into it.
fn ahead_of_pace() -> (Window, Window) {
    (window(80.0, 4), window(20.0, 6 * 24))
}

/// A sandbox with the given usage figures and a fake OAuth login (which
/// the hooks' usage client needs; `claude -p` itself uses the API key).
fn sandbox(cli: &'static e2e_support::ClaudeCli, usage: (Window, Window)) -> ClaudeSandbox {
    let sandbox = ClaudeSandbox::new(cli, usage.0, usage.1);
    sandbox.write_oauth_credentials();
    sandbox
}

/// The longest a hook that does not sleep may take on a loaded machine:
/// well under the delays the scenarios make a sleeping hook take.
const NO_DELAY_BOUND: Duration = Duration::from_secs(2);

/// The pacing cap in the scenarios where pacing would sleep: small, to keep
/// the tests quick, yet well above [`NO_DELAY_BOUND`].
const MAX_DELAY_SECONDS: u64 = 4;

/// How far a measured duration may stray from what the delays predict.
const TOLERANCE: Duration = Duration::from_secs(2);

/// The rows a hook writes, table by table.
const HOOK_TABLES: [&str; 5] = [
    "hook_events",
    "sessions",
    "tool_calls",
    "pacing_decisions",
    "usage_snapshots",
];

/// Asserts every hook of the run exited 0 with outcome success.
fn assert_every_hook_succeeded(run: &ClaudeRun) {
    let failures: Vec<&Value> = run
        .lines
        .iter()
        .map(|line| &line.value)
        .filter(|value| value["subtype"] == "hook_response")
        .filter(|value| value["exit_code"] != 0 || value["outcome"] != "success")
        .collect();
    assert!(failures.is_empty(), "hooks failed: {failures:?}\n{run}");
}

/// For each PostToolUse hook of a run: how long from its start until the
/// stand-in received the next Messages request.
fn post_tool_use_waits(run: &ClaudeRun, sandbox: &ClaudeSandbox) -> Vec<Duration> {
    let requests: Vec<Instant> = sandbox
        .messages
        .requests()
        .iter()
        .filter(|request| request.path() == "/v1/messages")
        .map(|request| request.received_at)
        .collect();
    run.lines
        .iter()
        .filter(|line| {
            line.value["subtype"] == "hook_started" && line.value["hook_event"] == "PostToolUse"
        })
        .map(|line| {
            let started = run.started + line.at;
            let next = requests
                .iter()
                .find(|received| **received > started)
                .unwrap_or_else(|| panic!("no request after a PostToolUse hook: {run}"));
            *next - started
        })
        .collect()
}

/// The system messages hooks showed the user (`PostToolUse:Bash says: ...`).
fn hook_system_messages(run: &ClaudeRun) -> Vec<String> {
    run.lines
        .iter()
        .map(|line| &line.value)
        .filter(|value| value["type"] == "system" && value["subtype"] == "informational")
        .filter_map(|value| value["content"].as_str().map(str::to_string))
        .collect()
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_namespace_has_no_route_beyond_loopback_before_the_cli_starts() {
    let server = scenario("no-route", |_cli| {
        let facts = namespace::facts().unwrap();
        say(&format!("e2e no-route: {facts:?}"));
        namespace::verify_loopback_only();
        // A process spawned from the scenario's thread, as the CLI is, sees
        // the same empty routing table and can reach a stand-in bound there.
        let server = Server::start(|_| Response::json(200, &json!({"reached": true})));
        let port = server.base_url().rsplit(':').next().unwrap().to_string();
        let child = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "cat /proc/self/net/route; exec 3<>/dev/tcp/127.0.0.1/{port}; \
                 printf 'GET /probe HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3"
            ))
            .output()
            .unwrap();
        let output = String::from_utf8_lossy(&child.stdout);
        assert!(output.starts_with("Iface"), "{output}");
        assert!(output.contains("\"reached\":true"), "{output}");
        let table: Vec<&str> = output
            .lines()
            .take_while(|line| !line.starts_with("HTTP/"))
            .collect();
        assert_eq!(table.len(), 1, "only the routing table's header: {output}");
        server
    });
    // Outside, in the test process's own namespace, nothing of it is there.
    let address: std::net::SocketAddr = server
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    if let Ok(mut stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
        use std::io::Write;
        let _ = stream.write_all(b"GET /outside HTTP/1.1\r\nHost: x\r\n\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !server
            .requests()
            .iter()
            .any(|request| request.path() == "/outside"),
        "the stand-in inside the namespace was reachable from outside"
    );
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_real_cli_completes_a_scripted_tool_turn_against_the_stand_in() {
    scenario("stand-in", |cli| {
        let sandbox = sandbox(cli, under_pace());
        sandbox.messages.set_script(sequence(vec![
            Turn::bash("echo one"),
            Turn::bash("echo two"),
            Turn::text("done"),
        ]));
        let run = sandbox.claude_print("run the two commands", &[]);
        run.assert_success();
        assert_eq!(run.result()["result"], "done");
        let bodies = sandbox.messages.conversation_bodies();
        assert_eq!(bodies.len(), 3, "{run}");
        // The tool ran for real: its output came back in the next request.
        assert!(
            bodies[2].to_string().contains("two"),
            "the second tool result is missing: {}",
            bodies[2]
        );
        // `-p` authenticates with the API key, not the OAuth login.
        let init = &run.lines[0].value;
        assert_eq!(init["apiKeySource"], "ANTHROPIC_API_KEY", "{run}");
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn under_pace_every_hook_runs_the_tool_calls_are_counted_and_nothing_waits() {
    scenario("under-pace", |cli| {
        let sandbox = sandbox(cli, under_pace());
        let notes = sandbox.project.join("notes.txt");
        std::fs::write(&notes, "some notes\n").unwrap();
        sandbox.messages.set_script(sequence(vec![
            Turn::bash("echo one"),
            Turn::bash("echo two"),
            Turn::tool("Read", json!({"file_path": notes})),
            Turn::text("done"),
        ]));
        sandbox.install();
        let run = sandbox.claude_print("run the commands and read the notes", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);

        let session_id = run.result()["session_id"].as_str().unwrap().to_string();
        let counts = sandbox.hook_event_counts();
        let expected = BTreeMap::from(
            [
                ("post-tool-use", 3),
                ("session-end", 1),
                ("session-start", 1),
                ("stop", 1),
                ("user-prompt-submit", 1),
            ]
            .map(|(event, count)| (event.to_string(), count)),
        );
        assert_eq!(counts, expected, "hook_events per event\n{run}");
        assert_eq!(
            sandbox.count(&format!(
                "SELECT count(*) FROM hook_events WHERE session_id <> '{session_id}'"
            )),
            0,
            "every hook row belongs to the run's session"
        );
        assert_eq!(
            sandbox.count(&format!(
                "SELECT tool_calls FROM sessions WHERE id = '{session_id}'"
            )),
            3,
            "the session's tool count"
        );
        assert_eq!(
            sandbox.count("SELECT count(*) FROM tool_calls WHERE tool_name = 'Bash'"),
            2
        );
        assert_eq!(
            sandbox.count("SELECT count(*) FROM tool_calls WHERE tool_name = 'Read'"),
            1
        );
        // No delay: none decided, none slept, nothing announced.
        assert_eq!(
            sandbox.count("SELECT count(*) FROM pacing_decisions WHERE delay_ms > 0"),
            0
        );
        assert_eq!(
            sandbox.count("SELECT coalesce(sum(delay_ms_total), 0) FROM sessions"),
            0
        );
        let post_tool_use = run.hook_runs("PostToolUse");
        assert_eq!(post_tool_use.len(), 3, "{run}");
        for (response, took) in &post_tool_use {
            assert!(
                *took < NO_DELAY_BOUND,
                "a PostToolUse hook took {took:?} under pace: {response}"
            );
        }
        assert!(hook_system_messages(&run).is_empty(), "{run}");
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn ahead_of_pace_the_post_tool_use_hook_sleeps_the_decided_delay() {
    scenario("ahead-of-pace", |cli| {
        let script = || {
            sequence(vec![
                Turn::bash("echo one"),
                Turn::bash("echo two"),
                Turn::text("done"),
            ])
        };
        let configure = |sandbox: &mut ClaudeSandbox| {
            sandbox.set_env(
                "PACE_MAKER_PACING_MAX_DELAY_SECONDS",
                &MAX_DELAY_SECONDS.to_string(),
            );
            sandbox.set_env("PACE_MAKER_PACING_MESSAGE_THRESHOLD_SECONDS", "1");
            sandbox.messages.set_script(script());
            sandbox.install();
        };
        // The same mission under pace, for the duration without delays.
        let mut control = sandbox(cli, under_pace());
        configure(&mut control);
        let control_run = control.claude_print("run the two commands", &[]);
        control_run.assert_success();
        assert_eq!(
            control.count("SELECT count(*) FROM pacing_decisions WHERE delay_ms > 0"),
            0,
            "the control run was delayed"
        );

        let mut sandbox = sandbox(cli, ahead_of_pace());
        configure(&mut sandbox);
        let run = sandbox.claude_print("run the two commands", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);

        // The decisions are recorded, each a delay within the cap.
        let store = sandbox.store().expect("the hooks created the store");
        let delays: Vec<i64> = store
            .prepare("SELECT delay_ms FROM pacing_decisions WHERE delay_ms > 0 ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            delays.len(),
            2,
            "one delay per tool call: {delays:?}\n{run}"
        );
        for delay in &delays {
            assert!(
                *delay <= MAX_DELAY_SECONDS as i64 * 1000,
                "a delay above the cap: {delays:?}"
            );
        }
        // Each PostToolUse hook slept its delay (and not much longer).
        let post_tool_use = run.hook_runs("PostToolUse");
        assert_eq!(post_tool_use.len(), 2, "{run}");
        for ((response, took), delay) in post_tool_use.iter().zip(&delays) {
            let delay = Duration::from_millis(*delay as u64);
            assert!(
                *took + Duration::from_millis(200) >= delay && *took < delay + TOLERANCE,
                "the hook took {took:?} for a {delay:?} delay: {response}"
            );
        }
        // The run's duration grew by the delays, within a tolerance. The
        // growth is measured where pacing puts it: from each PostToolUse
        // hook's start to the next Messages request, which Claude Code
        // sends only once its hooks are done. Everything else in the two
        // runs is the same work, and comparing whole runs would measure
        // the machine's load more than the delays.
        let total = Duration::from_millis(delays.iter().sum::<i64>() as u64);
        let waits = post_tool_use_waits(&run, &sandbox);
        let control_waits = post_tool_use_waits(&control_run, &control);
        for (wait, delay) in waits.iter().zip(&delays) {
            // The slack covers the moment between the CLI writing the
            // hook_started line and this test reading it.
            assert!(
                *wait + Duration::from_millis(200) >= Duration::from_millis(*delay as u64),
                "the next request came {wait:?} after a hook that sleeps {delay} ms"
            );
        }
        let growth = waits
            .iter()
            .sum::<Duration>()
            .saturating_sub(control_waits.iter().sum());
        say(&format!(
            "e2e ahead-of-pace: waits after tool calls {waits:?} (under pace {control_waits:?}); \
             turn {:?} ahead of pace, {:?} under pace; delays {total:?}",
            run.turn_duration(),
            control_run.turn_duration(),
        ));
        assert!(
            growth + TOLERANCE >= total && growth < total + TOLERANCE,
            "the run grew by {growth:?} for {total:?} of delays"
        );
        assert!(run.turn_duration() > total, "{run}");
        // Claude Code accepted the systemMessage and showed it.
        let messages = hook_system_messages(&run);
        assert_eq!(messages.len(), 2, "{messages:?}\n{run}");
        for message in &messages {
            assert!(
                message.starts_with("PostToolUse:Bash says: pace-maker"),
                "{message}"
            );
        }
        // The hooks read the figures from the usage stand-in, with the login.
        let requests = sandbox.usage.requests();
        assert!(!requests.is_empty(), "the usage API was never asked");
        assert_eq!(
            requests[0].header("authorization"),
            Some(format!("Bearer {FAKE_ACCESS_TOKEN}").as_str())
        );
    });
}

/// An epic spec with one open acceptance criterion.
const EPIC: &str =
    "# Epic: greet the world\n\n## Acceptance criteria\n\n- [ ] greeting.txt holds the greeting\n";
const CRITERION: &str = "greeting.txt holds the greeting";

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn momentum_blocks_the_first_stop_until_the_open_criterion_is_ticked() {
    scenario("momentum", |cli| {
        let sandbox = sandbox(cli, under_pace());
        let spec = sandbox.project.join("EPIC.md");
        std::fs::write(&spec, EPIC).unwrap();
        let spec_path = spec.to_str().unwrap().to_string();
        sandbox.messages.set_script(move |conversation| {
            match conversation.assistant_turns() {
                0 => Turn::bash("echo hello > greeting.txt"),
                // A premature stop.
                1 => Turn::text("done"),
                // Only the Stop hook's feedback naming the criterion leads on.
                2 if conversation.mentions("Stop hook feedback")
                    && conversation.mentions(CRITERION) =>
                {
                    Turn::tool("Read", json!({"file_path": spec_path}))
                }
                3 => Turn::tool(
                    "Edit",
                    json!({
                        "file_path": spec_path,
                        "old_string": format!("- [ ] {CRITERION}"),
                        "new_string": format!("- [x] {CRITERION}")
                    }),
                ),
                4 => Turn::text("the greeting is written and its criterion ticked"),
                _ => Turn::text("done"),
            }
        });
        sandbox.install();
        sandbox.pace_maker(&["epic", "attach", spec.to_str().unwrap()]);
        let run = sandbox.claude_print("write the greeting", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);

        let stops = run.hook_runs("Stop");
        assert_eq!(stops.len(), 2, "{run}");
        let first: Value = serde_json::from_str(stops[0].0["stdout"].as_str().unwrap())
            .unwrap_or_else(|error| panic!("the first Stop printed no JSON ({error}): {run}"));
        assert_eq!(first["decision"], "block", "{first}");
        assert!(
            first["reason"].as_str().unwrap().contains(CRITERION),
            "{first}"
        );
        let second = stops[1].0["stdout"].as_str().unwrap_or("");
        assert!(
            !second.contains("\"block\""),
            "the second Stop blocked: {second}"
        );

        // The open criterion reached the model in the request after the block.
        let bodies = sandbox.messages.conversation_bodies();
        assert_eq!(bodies.len(), 5, "{run}");
        let conversation = e2e_support::messages_api::Conversation { body: &bodies[2] };
        assert!(conversation.mentions("Stop hook feedback"), "{}", bodies[2]);
        assert!(conversation.mentions(CRITERION), "{}", bodies[2]);
        // The assistant ticked it with the Edit tool, and that let it stop.
        let spec_text = std::fs::read_to_string(&spec).unwrap();
        assert!(
            spec_text.contains(&format!("- [x] {CRITERION}")),
            "{spec_text}"
        );
        assert_eq!(
            run.result()["result"],
            "the greeting is written and its criterion ticked"
        );
        assert_eq!(sandbox.hook_event_counts().get("stop"), Some(&2));
    });
}

/// The subscription's 5-hour window is full: the stand-in answers the
/// mission's second request with the usage-limit error and the
/// `anthropic-ratelimit-unified-*` headers until a reset a minute ahead,
/// then normally. Claude Code ends the session on it (StopFailure, exit 1);
/// `pace-maker mission run` reads the reset from the transcript, says until
/// when it waits, sleeps, and resumes the session, which then finishes the
/// epic's open criterion with no person acting.
#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn a_mission_waits_out_a_usage_limit_and_then_finishes_its_criteria() {
    scenario("mission-lockout", |cli| {
        let mut sandbox = sandbox(cli, under_pace());
        // A subscription login, so the limit is a usage limit the CLI gives
        // up on (with an API key it retries a 429 by itself).
        sandbox.set_env("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-e2e-fake-login");
        sandbox.set_env("ANTHROPIC_API_KEY", "");
        let spec = sandbox.project.join("EPIC.md");
        std::fs::write(&spec, EPIC).unwrap();
        let spec_path = spec.to_str().unwrap().to_string();
        let greeting = sandbox.project.join("greeting.txt");
        let reset_s = now_s() + 60;
        let limited = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&limited);
        let (spec_in_script, greeting_in_script) = (spec.clone(), greeting.clone());
        sandbox.messages.set_script(move |_conversation| {
            let ticked = std::fs::read_to_string(&spec_in_script)
                .unwrap_or_default()
                .contains(&format!("- [x] {CRITERION}"));
            if !greeting_in_script.exists() {
                Turn::bash("echo hello > greeting.txt")
            } else if now_s() < reset_s {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Turn::usage_limit(reset_s)
            } else if !ticked {
                Turn::tool(
                    "Edit",
                    json!({
                        "file_path": spec_path,
                        "old_string": format!("- [ ] {CRITERION}"),
                        "new_string": format!("- [x] {CRITERION}")
                    }),
                )
            } else {
                Turn::text("the greeting is written and its criterion ticked")
            }
        });
        sandbox.install();
        sandbox.pace_maker(&["epic", "attach", spec.to_str().unwrap()]);
        let started = Instant::now();
        let output = sandbox.mission_run(
            &["--margin-seconds", "1", "--max-waits", "3"],
            "write the greeting and tick its criterion in EPIC.md",
            &[],
        );
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        say(&format!(
            "mission run took {:.1} s; it said:\n{stderr}",
            elapsed.as_secs_f64()
        ));
        assert!(
            output.status.success(),
            "{}\n{stderr}\n{stdout}",
            output.status
        );
        assert!(
            limited.load(std::sync::atomic::Ordering::SeqCst) >= 1,
            "{stdout}"
        );
        // It said what it does and until when: the reset the API gave.
        let until = pace_maker::clock::iso((reset_s + 1) * 1000);
        assert!(
            stderr.contains(&format!(
                "the usage limit is reached (5-hour window); waiting until {until}"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("resuming the session with"), "{stderr}");
        // It waited for the reset, and not much longer.
        let left = Duration::from_secs((reset_s - now_s()).max(0) as u64);
        assert!(left.is_zero(), "it resumed {left:?} before the reset");
        assert!(elapsed < Duration::from_secs(150), "{elapsed:?}");
        // Two runs of the CLI, the second one after the reset.
        let results = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|value| value["type"] == "result")
            .collect::<Vec<_>>();
        assert_eq!(results.len(), 2, "{stdout}");
        assert_eq!(
            results[0]["api_error"], "usage_limit_reached",
            "{}",
            results[0]
        );
        assert_eq!(
            results[1]["result"], "the greeting is written and its criterion ticked",
            "{}",
            results[1]
        );
        // The mission is done: the file is there, the criterion ticked.
        assert!(greeting.exists());
        let spec_text = std::fs::read_to_string(&spec).unwrap();
        assert!(
            spec_text.contains(&format!("- [x] {CRITERION}")),
            "{spec_text}"
        );
        // One session, resumed, not a new one.
        assert_eq!(results[0]["session_id"], results[1]["session_id"]);
        // The wait is no longer shown once it is over.
        assert_eq!(
            sandbox.count("SELECT COUNT(*) FROM meta WHERE key = 'mission_wait'"),
            0
        );
    });
}

/// An epic whose one criterion names the command that proves it.
const CHECKED_EPIC: &str = "# Epic: greet the world\n\n## Acceptance criteria\n\n\
    - [ ] greeting.txt holds the greeting <!-- check: diff expected.txt greeting.txt -->\n";
const CHECK_COMMAND: &str = "diff expected.txt greeting.txt";

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn a_ticked_criterion_whose_check_fails_is_sent_back_until_the_fix_passes_it() {
    scenario("checks", |cli| {
        let sandbox = sandbox(cli, under_pace());
        let spec = sandbox.project.join("EPIC.md");
        std::fs::write(&spec, CHECKED_EPIC).unwrap();
        std::fs::write(sandbox.project.join("expected.txt"), "hello\n").unwrap();
        let greeting = sandbox.project.join("greeting.txt");
        let spec_path = spec.to_str().unwrap().to_string();
        let greeting_path = greeting.to_str().unwrap().to_string();
        sandbox.messages.set_script(move |conversation| {
            match conversation.assistant_turns() {
                // A typo the check will catch.
                0 => Turn::bash("echo helo > greeting.txt"),
                1 => Turn::tool("Read", json!({"file_path": spec_path})),
                2 => Turn::tool(
                    "Edit",
                    json!({
                        "file_path": spec_path,
                        "old_string": format!("- [ ] {CRITERION}"),
                        "new_string": format!("- [x] {CRITERION}")
                    }),
                ),
                3 => Turn::text("the greeting is written and ticked. MISSION COMPLETE"),
                // Only the check's failure, with its output, leads on.
                4 if conversation.mentions("Stop hook feedback")
                    && conversation.mentions(CHECK_COMMAND)
                    && conversation.mentions("exit code 1")
                    && conversation.mentions("> helo") =>
                {
                    Turn::tool("Read", json!({"file_path": greeting_path}))
                }
                5 => Turn::tool(
                    "Edit",
                    json!({
                        "file_path": greeting_path,
                        "old_string": "helo",
                        "new_string": "hello"
                    }),
                ),
                6 => Turn::text("the greeting is fixed and its check passes. MISSION COMPLETE"),
                _ => Turn::text("done"),
            }
        });
        sandbox.install();
        let attached = sandbox.pace_maker(&["epic", "attach", spec.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&attached.stdout).contains(CHECK_COMMAND),
            "the check was not approved: {attached:?}"
        );
        let run = sandbox.claude_print("write the greeting", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);

        let stops = run.hook_runs("Stop");
        assert_eq!(stops.len(), 2, "{run}");
        let first: Value = serde_json::from_str(stops[0].0["stdout"].as_str().unwrap())
            .unwrap_or_else(|error| panic!("the first Stop printed no JSON ({error}): {run}"));
        assert_eq!(first["decision"], "block", "{first}");
        let reason = first["reason"].as_str().unwrap();
        for expected in [
            CRITERION,
            &format!("  command: {CHECK_COMMAND}\n"),
            "failed with exit code 1",
            "its tick is taken back in this verdict (the spec file is left as it is)",
            "  | < hello\n",
            "  | > helo\n",
        ] {
            assert!(reason.contains(expected), "{expected:?} missing: {reason}");
        }
        let second = stops[1].0["stdout"].as_str().unwrap_or("");
        assert!(
            !second.contains("\"block\""),
            "the second Stop blocked: {second}"
        );

        // The failure reached the model, which fixed the file with an Edit.
        let bodies = sandbox.messages.conversation_bodies();
        assert_eq!(bodies.len(), 7, "{run}");
        let conversation = e2e_support::messages_api::Conversation { body: &bodies[4] };
        assert!(conversation.mentions("> helo"), "{}", bodies[4]);
        assert_eq!(std::fs::read_to_string(&greeting).unwrap(), "hello\n");
        // The tick stayed as the model wrote it.
        assert!(std::fs::read_to_string(&spec)
            .unwrap()
            .contains(&format!("- [x] {CRITERION}")));
        assert_eq!(
            run.result()["result"],
            "the greeting is fixed and its check passes. MISSION COMPLETE"
        );
        let store = sandbox.store().unwrap();
        let outcomes: Vec<(String, Option<i64>)> = store
            .prepare("SELECT outcome, exit_code FROM check_results ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            outcomes,
            [
                ("failed".to_string(), Some(1)),
                ("passed".to_string(), Some(0))
            ]
        );
        // Installed so that the checks fit: hooks.stop_timeout_seconds.
        let settings: Value =
            serde_json::from_str(&std::fs::read_to_string(sandbox.settings_path()).unwrap())
                .unwrap();
        assert_eq!(settings["hooks"]["Stop"][0]["hooks"][0]["timeout"], 300);
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_loop_breaker_lets_an_assistant_that_makes_no_progress_stop() {
    const MAX_CONSECUTIVE_BLOCKS: usize = 2;
    scenario("loop-breaker", |cli| {
        let mut sandbox = sandbox(cli, under_pace());
        let spec = sandbox.project.join("EPIC.md");
        std::fs::write(&spec, EPIC).unwrap();
        sandbox.set_env(
            "PACE_MAKER_MOMENTUM_MAX_CONSECUTIVE_BLOCKS",
            &MAX_CONSECUTIVE_BLOCKS.to_string(),
        );
        // An assistant that never does anything but claim it is done.
        sandbox.messages.set_script(|_| Turn::text("done"));
        sandbox.install();
        sandbox.pace_maker(&["epic", "attach", spec.to_str().unwrap()]);
        let run = sandbox.claude_print("write the greeting", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);

        let stops = run.hook_runs("Stop");
        let blocked = stops
            .iter()
            .filter(|(response, _)| {
                response["stdout"]
                    .as_str()
                    .unwrap_or("")
                    .contains("\"block\"")
            })
            .count();
        assert_eq!(blocked, MAX_CONSECUTIVE_BLOCKS, "{run}");
        assert_eq!(stops.len(), MAX_CONSECUTIVE_BLOCKS + 1, "{run}");
        // Every block cost one more request; then the session ended.
        assert_eq!(
            sandbox.messages.conversation_bodies().len(),
            MAX_CONSECUTIVE_BLOCKS + 1
        );
        assert!(std::fs::read_to_string(&spec).unwrap().contains("- [ ]"));
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_kill_switch_leaves_no_rows_and_adds_no_delay() {
    scenario("kill-switch", |cli| {
        // Ahead of pace, so a live hook would sleep.
        let mut sandbox = sandbox(cli, ahead_of_pace());
        sandbox.set_env(
            "PACE_MAKER_PACING_MAX_DELAY_SECONDS",
            &MAX_DELAY_SECONDS.to_string(),
        );
        sandbox.messages.set_script(sequence(vec![
            Turn::bash("echo one"),
            Turn::bash("echo two"),
            Turn::text("done"),
        ]));
        sandbox.install();
        let run = sandbox.claude_print("run the two commands", &[("PACE_MAKER_DISABLE", "1")]);
        run.assert_success();
        assert_every_hook_succeeded(&run);

        // The hooks ran (Claude Code called them) and did nothing.
        let post_tool_use = run.hook_runs("PostToolUse");
        assert_eq!(post_tool_use.len(), 2, "{run}");
        for (response, took) in &post_tool_use {
            assert_eq!(response["stdout"], "", "{response}");
            assert!(*took < NO_DELAY_BOUND, "took {took:?}: {response}");
        }
        assert_eq!(run.hook_runs("Stop").len(), 1, "{run}");
        for table in HOOK_TABLES {
            assert_eq!(
                sandbox.count(&format!("SELECT count(*) FROM {table}")),
                0,
                "rows in {table}"
            );
        }
        assert!(
            sandbox.usage.requests().is_empty(),
            "the usage API was asked"
        );
        assert!(hook_system_messages(&run).is_empty(), "{run}");
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn uninstall_leaves_the_settings_exactly_as_before_install() {
    scenario("uninstall", |cli| {
        let sandbox = sandbox(cli, under_pace());
        // A user's own settings: other tools' hooks, a status line,
        // permissions, env, in the two-space layout Claude Code writes.
        let original = serde_json::to_string_pretty(&json!({
            "model": "opus",
            "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
            "hooks": {
                "PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}],
                "Stop": [{"hooks": [{"type": "command", "command": "true", "timeout": 5}]}]
            },
            "statusLine": {"type": "command", "command": "echo mine", "padding": 0},
            "env": {"E2E_MARKER": "1"},
            "unknownKeyFromTheFuture": {"nested": [1, 2, 3]}
        }))
        .unwrap()
            + "\n";
        std::fs::write(sandbox.settings_path(), &original).unwrap();
        sandbox
            .messages
            .set_script(sequence(vec![Turn::bash("echo one"), Turn::text("done")]));

        sandbox.install();
        let installed = std::fs::read_to_string(sandbox.settings_path()).unwrap();
        assert_ne!(installed, original);
        assert!(installed.contains("pace-maker"), "{installed}");
        let run = sandbox.claude_print("run the command", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);
        let rows = sandbox.count("SELECT count(*) FROM hook_events");
        assert!(rows > 0, "the installed hooks did not run\n{run}");

        sandbox.pace_maker(&["uninstall", "--scope", "user"]);
        let after = std::fs::read_to_string(sandbox.settings_path()).unwrap();
        assert_eq!(after, original, "uninstall did not restore the settings");
        // And Claude Code no longer runs the hooks.
        let run = sandbox.claude_print("run the command", &[]);
        run.assert_success();
        assert_eq!(sandbox.count("SELECT count(*) FROM hook_events"), rows);
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_status_line_records_the_rate_limit_percentages_of_an_interactive_turn() {
    scenario("statusline", |cli| {
        let sandbox = sandbox(cli, under_pace());
        sandbox.trust_project();
        let five_hour_reset = now_s() + 3 * 3600;
        let seven_day_reset = now_s() + 5 * 24 * 3600;
        sandbox.messages.set_rate_limits(Some(RateLimits {
            five_hour_utilization: 0.63,
            five_hour_reset,
            seven_day_utilization: 0.28,
            seven_day_reset,
        }));
        sandbox
            .messages
            .set_script(sequence(vec![Turn::text("hello from the stand-in")]));
        sandbox.install();
        let mut session = sandbox.claude_interactive(&["say hello"], true);
        let query = "SELECT count(*) FROM usage_snapshots \
                     WHERE source = 'statusline' AND five_hour_percent IS NOT NULL";
        let recorded = session.wait_for(Duration::from_secs(60), |_| sandbox.count(query) > 0);
        session.terminate();
        assert!(
            recorded,
            "no statusline snapshot after {:?}; the screen:\n{}",
            session.elapsed(),
            session.screen_text()
        );
        let store = sandbox.store().unwrap();
        let (five_hour, five_hour_resets_at, seven_day, seven_day_resets_at): (f64, i64, f64, i64) = store
            .query_row(
                "SELECT five_hour_percent, five_hour_resets_at, seven_day_percent, seven_day_resets_at \
                 FROM usage_snapshots WHERE source = 'statusline' AND five_hour_percent IS NOT NULL \
                 ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .unwrap();
        assert_eq!((five_hour, seven_day), (63.0, 28.0));
        assert_eq!(
            (five_hour_resets_at, seven_day_resets_at),
            (five_hour_reset, seven_day_reset)
        );
        // The CLI used the OAuth login against the stand-in.
        let request = &sandbox.messages.requests()[0];
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {FAKE_ACCESS_TOKEN}").as_str())
        );
    });
}

// The plugin way: the repository as a marketplace, added, installed and
// uninstalled with the real CLI's own commands.

/// The plugin's folder in the repository.
fn plugin_folder() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(pace_maker::install::plugin::PLUGIN_FOLDER)
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_real_cli_validates_the_marketplace_and_the_plugin_strictly() {
    scenario("plugin-validate", |cli| {
        let sandbox = sandbox(cli, under_pace());
        let repository = env!("CARGO_MANIFEST_DIR");
        let folder = plugin_folder();
        let folder = folder.to_str().unwrap();
        for target in [repository, folder] {
            let output = sandbox.claude(&["plugin", "validate", "--strict", target]);
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(text.contains("Validation passed"), "{target}: {text}");
        }
        let output = sandbox.claude(&["plugin", "validate", "--strict", "--json", repository]);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["success"], true, "{report}");
        assert_eq!(report["manifest"]["type"], "marketplace", "{report}");
        let output = sandbox.claude(&["plugin", "validate", "--strict", "--json", folder]);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["success"], true, "{report}");
        let hooks: Vec<(String, Value)> = report["provides"]["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hook| {
                (
                    hook["event"].as_str().unwrap().to_string(),
                    hook["matcher"].clone(),
                )
            })
            .collect();
        assert_eq!(
            hooks,
            [
                ("SessionStart", Value::Null),
                ("UserPromptSubmit", Value::Null),
                ("PostToolUse", json!("*")),
                ("Stop", Value::Null),
                ("SubagentStop", Value::Null),
                ("SessionEnd", Value::Null),
            ]
            .map(|(event, matcher)| (event.to_string(), matcher)),
            "{report}"
        );
        let commands = &report["provides"]["commands"];
        for command in ["status", "pause", "resume", "epic", "statusline"] {
            assert!(
                commands
                    .as_array()
                    .unwrap()
                    .contains(&json!(format!("pace-maker:{command}"))),
                "{command}: {report}"
            );
        }
    });
}

/// A user's own settings as Claude Code writes them (two spaces, a final
/// newline): a status line, another tool's hook, permissions, env.
fn users_own_settings() -> String {
    serde_json::to_string_pretty(&json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": "true", "timeout": 5}]}]
        },
        "statusLine": {"type": "command", "command": "echo mine", "padding": 0},
        "env": {"E2E_MARKER": "1"}
    }))
    .unwrap()
        + "\n"
}

/// Adds the repository (a copy of the marketplace's files) as a
/// marketplace and installs the plugin from it at user scope, with no
/// `pace-maker` on PATH. Returns the settings as they were just before the
/// plugin's install (Claude Code rewrites the file when it adds the
/// marketplace).
fn add_the_marketplace_and_install_the_plugin(sandbox: &mut ClaudeSandbox) -> String {
    std::fs::write(sandbox.settings_path(), users_own_settings()).unwrap();
    sandbox.set_env("PATH", &e2e_support::plugin::path_without_pace_maker());
    let marketplace = e2e_support::plugin::copy_marketplace(&sandbox.root().join("marketplace"));
    sandbox.claude(&[
        "plugin",
        "marketplace",
        "add",
        marketplace.to_str().unwrap(),
    ]);
    let before = std::fs::read_to_string(sandbox.settings_path()).unwrap();
    let output = sandbox.claude(&["plugin", "install", pace_maker::install::plugin::PLUGIN_ID]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Successfully installed"), "{text}");
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.settings_path()).unwrap()).unwrap();
    assert_eq!(
        settings["enabledPlugins"][pace_maker::install::plugin::PLUGIN_ID],
        true,
        "{settings}"
    );
    assert!(
        !settings.to_string().contains("pace-maker hook"),
        "the plugin writes no hook into settings: {settings}"
    );
    before
}

/// The settings text without the empty `enabledPlugins` that Claude Code
/// leaves behind when it uninstalls a plugin (its own bookkeeping key).
fn without_claude_codes_empty_enabled_plugins(text: &str) -> String {
    let value: Value = serde_json::from_str(text).unwrap();
    assert_eq!(value["enabledPlugins"], json!({}), "{text}");
    for member in ["  \"enabledPlugins\": {},\n", ",\n  \"enabledPlugins\": {}"] {
        if text.contains(member) {
            return text.replacen(member, "", 1);
        }
    }
    panic!("no empty enabledPlugins member in {text}");
}

/// Every `hook_system_message` the transcripts hold (what hooks told the user).
fn transcript_system_messages(sandbox: &ClaudeSandbox) -> Vec<(String, String)> {
    sandbox
        .transcript_lines()
        .iter()
        .filter(|line| line["attachment"]["type"] == "hook_system_message")
        .map(|line| {
            (
                line["attachment"]["hookEvent"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                line["attachment"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_plugin_from_the_marketplace_runs_every_hook_and_uninstalls_leaving_the_settings() {
    scenario("plugin", |cli| {
        let mut sandbox = sandbox(cli, under_pace());
        let before_plugin = add_the_marketplace_and_install_the_plugin(&mut sandbox);
        // `cargo install` puts the binary in ~/.cargo/bin, which this PATH
        // lacks: the launcher finds it there.
        let cargo_bin = sandbox.home.join(".cargo/bin");
        std::fs::create_dir_all(&cargo_bin).unwrap();
        std::os::unix::fs::symlink(
            e2e_support::sandbox::PACE_MAKER,
            cargo_bin.join("pace-maker"),
        )
        .unwrap();

        // Doctor sees the plugin Claude Code installed: enabled, six hooks
        // with long enough timeouts, the binary found; installed once.
        let output = sandbox.pace_maker(&["doctor", "--json"]);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let check = |name: &str| {
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|check| check["name"] == name)
                .unwrap_or_else(|| panic!("no {name} check: {report}"))
                .clone()
        };
        let plugin = check("plugin");
        assert_eq!(plugin["status"], "ok", "{report}");
        assert!(
            plugin["summary"]
                .as_str()
                .unwrap()
                .contains("enabled in the user scope: 6 hooks"),
            "{plugin}"
        );
        assert_eq!(check("installed")["status"], "ok", "{report}");

        sandbox
            .messages
            .set_script(sequence(vec![Turn::bash("echo one"), Turn::text("done")]));
        let run = sandbox.claude_print("run the command", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);
        // SessionEnd runs as the CLI exits: the store counts it below.
        for event in ["SessionStart", "UserPromptSubmit", "PostToolUse", "Stop"] {
            assert!(
                !run.hook_runs(event).is_empty(),
                "no {event} hook ran\n{run}"
            );
        }
        let session_id = run.result()["session_id"].as_str().unwrap().to_string();
        let counts = sandbox.hook_event_counts();
        let expected = BTreeMap::from(
            [
                ("post-tool-use", 1),
                ("session-end", 1),
                ("session-start", 1),
                ("stop", 1),
                ("user-prompt-submit", 1),
            ]
            .map(|(event, count)| (event.to_string(), count)),
        );
        assert_eq!(counts, expected, "hook_events per event\n{run}");
        assert_eq!(
            sandbox.count(&format!(
                "SELECT tool_calls FROM sessions WHERE id = '{session_id}'"
            )),
            1,
            "the session and its tool call are in the store"
        );
        assert_eq!(
            sandbox.count(&format!(
                "SELECT count(*) FROM tool_calls WHERE session_id = '{session_id}' AND tool_name = 'Bash'"
            )),
            1
        );
        assert!(transcript_system_messages(&sandbox).is_empty(), "{run}");

        // The slash commands run in the default permission mode, through
        // their own allowed-tools: the status reaches the model.
        sandbox
            .messages
            .set_script(sequence(vec![Turn::text("shown")]));
        let status = sandbox.claude_print_asking("/pace-maker:status");
        status.assert_success();
        let bodies = sandbox.messages.conversation_bodies();
        let last = bodies.last().unwrap().to_string();
        assert!(
            last.contains("pace-maker: on"),
            "the status did not reach the model: {last}"
        );

        // A plugin cannot set the status line: /pace-maker:statusline does,
        // chaining the user's own.
        let after_plugin = std::fs::read_to_string(sandbox.settings_path()).unwrap();
        sandbox
            .claude_print_asking("/pace-maker:statusline")
            .assert_success();
        let settings: Value =
            serde_json::from_str(&std::fs::read_to_string(sandbox.settings_path()).unwrap())
                .unwrap();
        let line = settings["statusLine"]["command"].as_str().unwrap();
        assert!(line.ends_with(" statusline --chain 'echo mine'"), "{line}");
        assert!(
            settings["hooks"].to_string().matches("pace-maker").count() == 0,
            "{settings}"
        );
        // `pace-maker uninstall` gives the user's line back, byte for byte.
        sandbox.pace_maker(&["uninstall"]);
        assert_eq!(
            std::fs::read_to_string(sandbox.settings_path()).unwrap(),
            after_plugin
        );

        // Claude Code's uninstall leaves the settings as they were before
        // the plugin came, but for its own empty `enabledPlugins`.
        sandbox.claude(&[
            "plugin",
            "uninstall",
            pace_maker::install::plugin::PLUGIN_ID,
        ]);
        let after = std::fs::read_to_string(sandbox.settings_path()).unwrap();
        assert_eq!(
            without_claude_codes_empty_enabled_plugins(&after),
            before_plugin
        );
        // And no hook runs any more.
        let rows = sandbox.count("SELECT count(*) FROM hook_events");
        sandbox
            .claude_print("run the command", &[])
            .assert_success();
        assert_eq!(sandbox.count("SELECT count(*) FROM hook_events"), rows);
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn without_the_binary_a_plugin_session_ends_normally_and_says_once_what_to_install() {
    scenario("plugin-no-binary", |cli| {
        let mut sandbox = sandbox(cli, under_pace());
        add_the_marketplace_and_install_the_plugin(&mut sandbox);
        sandbox.messages.set_script(sequence(vec![
            Turn::bash("echo one"),
            Turn::bash("echo two"),
            Turn::text("done"),
        ]));
        let run = sandbox.claude_print("run the two commands", &[]);
        run.assert_success();
        assert_eq!(run.result()["result"], "done");
        assert_every_hook_succeeded(&run);
        assert_eq!(run.hook_runs("PostToolUse").len(), 2, "{run}");
        // Only SessionStart says anything, and only this.
        let spoke: Vec<(Value, Duration)> = [
            "SessionStart",
            "UserPromptSubmit",
            "PostToolUse",
            "Stop",
            "SessionEnd",
        ]
        .iter()
        .flat_map(|event| run.hook_runs(event))
        .filter(|(response, _)| response["stdout"] != "" || response["stderr"] != "")
        .collect();
        assert_eq!(spoke.len(), 1, "{spoke:?}\n{run}");
        assert_eq!(spoke[0].0["hook_event"], "SessionStart", "{run}");
        let messages = transcript_system_messages(&sandbox);
        assert_eq!(messages.len(), 1, "told once: {messages:?}");
        assert_eq!(messages[0].0, "SessionStart");
        assert!(
            messages[0].1.contains("cargo install --locked"),
            "the message names the install command: {}",
            messages[0].1
        );
        // Nothing was recorded: there is no program to record it.
        assert!(sandbox.store().is_none());
        assert!(!sandbox.tool_home.exists());
    });
}

#[test]
#[ignore = "end to end: the real Claude Code CLI as root; run with --include-ignored (CI does)"]
fn the_plugin_and_hooks_in_settings_both_run_and_each_event_counts_once() {
    scenario("plugin-twice", |cli| {
        let mut sandbox = sandbox(cli, under_pace());
        add_the_marketplace_and_install_the_plugin(&mut sandbox);
        // The settings way too: its hooks call the built binary by its
        // path, which the plugin's launcher finds as the recorded one.
        sandbox.install();
        let output = sandbox.pace_maker(&["doctor", "--json"]);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let installed = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["name"] == "installed")
            .unwrap();
        assert_eq!(installed["status"], "warn", "{report}");
        assert!(
            installed["summary"].as_str().unwrap().contains("twice"),
            "{installed}"
        );

        sandbox
            .messages
            .set_script(sequence(vec![Turn::bash("echo one"), Turn::text("done")]));
        let run = sandbox.claude_print("run the command", &[]);
        run.assert_success();
        assert_every_hook_succeeded(&run);
        // Claude Code ran both installations' hooks ...
        assert_eq!(run.hook_runs("PostToolUse").len(), 2, "{run}");
        // (and the user's own Stop hook)
        assert_eq!(run.hook_runs("Stop").len(), 3, "{run}");
        // ... and pace-maker counted each event once.
        let counts = sandbox.hook_event_counts();
        assert_eq!(counts.get("post-tool-use"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("stop"), Some(&1), "{counts:?}");
        assert_eq!(sandbox.count("SELECT count(*) FROM tool_calls"), 1);
    });
}
