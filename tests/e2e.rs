//! End to end with the real Claude Code CLI (pinned in
//! `.ci/install-claude-code`): the CLI talks to a scripted Messages API
//! stand-in, runs `pace-maker` as its hooks, and the hooks talk to a usage
//! API stand-in, all inside a network namespace that has only loopback.
//! Unit tests prove our logic; only the real client proves the contract.

mod e2e_support;

use std::time::Duration;

use e2e_support::messages_api::{sequence, MessagesApi, Turn};
use e2e_support::namespace;
use e2e_support::sandbox::Sandbox;
use e2e_support::usage_api::{UsageApi, Window};
use e2e_support::{say, scenario};

fn now_s() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Usage well under pace: 10 % of the 5-hour window with 4 hours left,
/// 5 % of the week with 6 days left.
fn under_pace() -> (Window, Window) {
    (
        Window {
            utilization: 10.0,
            resets_at: now_s() + 4 * 3600,
        },
        Window {
            utilization: 5.0,
            resets_at: now_s() + 6 * 24 * 3600,
        },
    )
}

#[test]
fn the_namespace_has_no_route_beyond_loopback_before_the_cli_starts() {
    scenario("no-route", |_cli| {
        let facts = namespace::facts().unwrap();
        say(&format!("e2e no-route: {facts:?}"));
        namespace::verify_loopback_only();
        // A process spawned from the scenario (as the CLI is) sees the same.
        let child = std::process::Command::new("cat")
            .arg("/proc/self/net/route")
            .output()
            .unwrap();
        let table = String::from_utf8_lossy(&child.stdout);
        assert_eq!(table.lines().count(), 1, "only the header: {table}");
        let devices = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        assert!(!devices.contains("eth"), "{devices}");
        // The test process outside keeps its own namespace (the stand-ins'
        // namespace is not the machine's).
    });
}

#[test]
fn the_real_cli_completes_a_scripted_tool_turn_against_the_stand_in() {
    scenario("stand-in", |cli| {
        let (five_hour, seven_day) = under_pace();
        let messages = MessagesApi::start(
            sequence(vec![
                Turn::bash("echo one"),
                Turn::bash("echo two"),
                Turn::text("done"),
            ]),
            None,
        );
        let sandbox = Sandbox::new(cli, messages, UsageApi::start(five_hour, seven_day));
        let run = sandbox.claude_print("run the two commands", &[]);
        for request in sandbox.messages.requests() {
            say(&format!(
                "{} {} {}",
                request.method,
                request.target,
                String::from_utf8_lossy(&request.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
        say(&run.to_string());
        run.assert_success();
        assert_eq!(run.result()["result"], "done");
        let bodies = sandbox.messages.conversation_bodies();
        assert_eq!(bodies.len(), 3, "{run}");
        let _ = Duration::ZERO;
    });
}
