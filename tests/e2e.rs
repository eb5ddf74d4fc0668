//! End to end with the real Claude Code CLI (pinned in
//! `.ci/install-claude-code`): the CLI talks to a scripted Messages API
//! stand-in, runs `pace-maker` as its hooks (installed with `pace-maker
//! install`), and the hooks talk to a usage API stand-in, all inside a
//! network namespace that has only loopback. Unit tests prove our logic;
//! only the real client proves the contract.
//!
//! Each test is one scenario on its own thread and namespace, so libtest
//! runs them side by side. Each prints its duration.

#[expect(
    dead_code,
    reason = "helpers of the scenarios that land with their features"
)]
mod e2e_support;

use std::time::Duration;

use serde_json::json;

use e2e_support::http::{Response, Server};
use e2e_support::messages_api::{sequence, Turn};
use e2e_support::namespace;
use e2e_support::sandbox::Sandbox;
use e2e_support::usage_api::Window;
use e2e_support::{say, scenario};

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

/// A sandbox with the given usage figures and a fake OAuth login (which
/// the hooks' usage client needs; `claude -p` itself uses the API key).
fn sandbox(cli: &'static e2e_support::ClaudeCli, usage: (Window, Window)) -> Sandbox {
    let sandbox = Sandbox::new(cli, usage.0, usage.1);
    sandbox.write_oauth_credentials();
    sandbox
}

#[test]
fn the_namespace_has_no_route_beyond_loopback_before_the_cli_starts() {
    let inside = scenario("no-route", |_cli| {
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
    if let Some(server) = inside {
        let address: std::net::SocketAddr = server
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        if let Ok(mut stream) =
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1))
        {
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
}

#[test]
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
