//! Faults, each one provoked for real against the built binary: a usage
//! API that hangs, resets, storms 500s or trickles bytes (servers on
//! 127.0.0.1); a store deleted mid-run, made read-only, filled with
//! garbage, or on a full disk; readings whose reset is absurdly far away
//! and clocks that jumped; a hook killed in the middle of its pacing
//! sleep; a bug (panic) inside a hook. Every time the same promises are
//! checked: hooks exit 0 with nothing on stdout or stderr inside their
//! deadline, nothing already recorded is lost, the tool recovers by
//! itself, and the log (or `doctor`) says what happened.

#[path = "support/measured.rs"]
mod measured;
#[allow(
    dead_code,
    reason = "shared with the usage tests; not every helper is used here"
)]
#[path = "usage/sandbox.rs"]
mod sandbox;
#[allow(
    dead_code,
    reason = "shared with the usage tests; not every helper is used here"
)]
#[path = "usage/server.rs"]
mod server;

use std::process::Command;
use std::time::{Duration, Instant};

use measured::Measured;
use pace_maker::clock;
use pace_maker::usage::poll::{ApiState, ApiStatus};
use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};
use sandbox::{Sandbox, NEVER_EXPIRES_MS, TOKEN};
use server::{Reply, Server};

const FULL_BODY: &str = r#"{"five_hour":{"utilization":12.0,"resets_at":null},"seven_day":{"utilization":7.5,"resets_at":null}}"#;
/// The sandbox's usage deadlines (connect 500 ms, total 1000 ms) plus
/// generous slack for a loaded two-core machine running a debug build.
const POLLING_HOOK_DEADLINE: Duration = Duration::from_millis(1000 + 3000);
/// A hook that makes no request has no business taking longer than this.
const QUICK_HOOK_DEADLINE: Duration = Duration::from_millis(3000);
const MINUTE_MS: i64 = 60_000;

fn with_token() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_credentials(TOKEN, NEVER_EXPIRES_MS);
    sandbox
}

fn hook_command(sandbox: &Sandbox, base: &str, event: &str) -> Command {
    let mut command = sandbox.command(base);
    command.args(["hook", event]);
    command
}

/// One PostToolUse hook, measured.
fn post_tool_use(sandbox: &Sandbox, base: &str) -> Measured {
    measured::run(
        &mut hook_command(sandbox, base, "post-tool-use"),
        sandbox::post_tool_use_payload().as_bytes(),
    )
}

/// `count` PostToolUse hooks started together, measured.
fn post_tool_uses_at_once(sandbox: &Sandbox, base: &str, count: usize) -> Vec<Measured> {
    let payload = sandbox::post_tool_use_payload();
    let started = Instant::now();
    let children: Vec<_> = (0..count)
        .map(|_| {
            measured::spawn(
                &mut hook_command(sandbox, base, "post-tool-use"),
                payload.as_bytes(),
            )
        })
        .collect();
    children
        .into_iter()
        .map(|child| measured::finish(child, started))
        .collect()
}

fn count(sandbox: &Sandbox, sql: &str) -> i64 {
    sandbox
        .store()
        .connection()
        .query_row(sql, [], |row| row.get(0))
        .unwrap()
}

fn api_state(sandbox: &Sandbox) -> ApiState {
    ApiState::read(sandbox.store().connection()).unwrap()
}

/// An official snapshot an hour old: stale, so the next hook polls.
fn store_stale_snapshot(sandbox: &Sandbox) {
    let stale = UsageSnapshot {
        source: SnapshotSource::Api,
        taken_at_ms: clock::now_ms() - 60 * MINUTE_MS,
        five_hour: Some(WindowReading {
            percent: 10.0,
            resets_at_s: None,
        }),
        seven_day: None,
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    };
    sandbox
        .store()
        .write(|transaction| snapshot::insert(transaction, &stale))
        .unwrap();
}

/// Every line of the sandbox's log files.
fn log_text(sandbox: &Sandbox) -> String {
    Sandbox::files_under(&sandbox.tool_home().join("logs"))
        .into_iter()
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

fn assert_within(measured: &Measured, deadline: Duration, what: &str) {
    assert!(
        measured.wall < deadline,
        "{what} took {:?}, more than {deadline:?}",
        measured.wall
    );
}

// ---- the usage API misbehaves ----

/// The hook meets a failing API once: it exits 0 silently within the
/// request deadline, its bookkeeping is kept, the failure is stored with a
/// backoff, and the next hook sends nothing and is quick.
fn assert_one_failed_poll_then_quiet(reply: Reply, what: &str) {
    let sandbox = with_token();
    store_stale_snapshot(&sandbox);
    let server = Server::always(reply);
    let first = post_tool_use(&sandbox, &server.base());
    first.assert_quiet_success(what);
    assert_within(&first, POLLING_HOOK_DEADLINE, what);
    assert_eq!(server.count(), 1, "{what}: one request");
    let state = api_state(&sandbox);
    assert_eq!(state.status, ApiStatus::Error, "{what}");
    assert!(
        state.backoff_until_ms.unwrap_or(0) > clock::now_ms(),
        "{what}: a backoff is set"
    );
    assert_eq!(state.lease_owner, None, "{what}: the lease is released");
    let second = post_tool_use(&sandbox, &server.base());
    second.assert_quiet_success(what);
    assert_within(&second, QUICK_HOOK_DEADLINE, what);
    assert_eq!(server.count(), 1, "{what}: no request while backing off");
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        2,
        "{what}: both tool calls recorded"
    );
}

#[test]
fn a_usage_api_that_hangs_costs_one_hook_its_deadline_and_the_next_nothing() {
    assert_one_failed_poll_then_quiet(Reply::Silent(Duration::from_secs(30)), "a hang");
}

#[test]
fn a_usage_api_that_resets_connections_is_survived_and_backed_off() {
    assert_one_failed_poll_then_quiet(Reply::Reset, "a reset before the answer");
    assert_one_failed_poll_then_quiet(
        Reply::ResetMidBody {
            body: FULL_BODY.to_string(),
        },
        "a reset in the middle of the body",
    );
}

#[test]
fn a_usage_api_that_trickles_bytes_is_cut_at_the_total_deadline() {
    // 5 s per byte of a 150-byte body: it would take 12 minutes.
    assert_one_failed_poll_then_quiet(
        Reply::SlowBody {
            body: FULL_BODY.to_string(),
            byte_delay: Duration::from_millis(200),
        },
        "a trickle",
    );
}

#[test]
fn a_storm_of_500s_gets_one_request_per_backoff_growing_to_the_maximum() {
    let sandbox = with_token();
    store_stale_snapshot(&sandbox);
    let server = Server::always(Reply::json(500, "<html>overloaded</html>"));
    let rounds = 6;
    for round in 1..=rounds {
        // Let the backoff (and the poll interval) pass, as if time went by.
        sandbox
            .store()
            .write(|transaction| {
                transaction.execute(
                    "UPDATE api_state SET backoff_until = ?1, last_attempt_at = ?2 WHERE id = 1",
                    [clock::now_ms() - 1, clock::now_ms() - 3_600_000],
                )
            })
            .unwrap();
        for (index, hook) in post_tool_uses_at_once(&sandbox, &server.base(), 8)
            .iter()
            .enumerate()
        {
            let what = format!("round {round} hook {index}");
            hook.assert_quiet_success(&what);
            assert_within(hook, POLLING_HOOK_DEADLINE, &what);
        }
        assert_eq!(server.count(), round, "one request in round {round}");
        let state = api_state(&sandbox);
        assert_eq!(state.failures, round as u32);
        // 300 s, doubled per failure, capped at an hour.
        let expected_s = (300i64 << (round - 1)).min(3600);
        let backoff_s = (state.backoff_until_ms.unwrap() - clock::now_ms()) / 1000;
        assert!(
            (backoff_s - expected_s).abs() <= 10,
            "round {round}: backoff {backoff_s} s, expected {expected_s} s"
        );
    }
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        8 * rounds as i64
    );
}

// ---- a bug inside a hook ----

#[test]
fn a_panic_inside_a_hook_is_logged_and_the_hook_exits_zero_silently() {
    let sandbox = Sandbox::new();
    let mut command = hook_command(&sandbox, "http://127.0.0.1:9", "post-tool-use");
    command.env(pace_maker::paths::ENV_TEST_PANIC, "hook");
    let hook = measured::run(&mut command, sandbox::post_tool_use_payload().as_bytes());
    hook.assert_quiet_success("a panicking hook");
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        1,
        "the bookkeeping before the panic is kept"
    );
    let log = log_text(&sandbox);
    assert!(log.contains("internal error, a bug"), "{log}");
    assert!(log.contains("a deliberate panic"), "{log}");
}

#[test]
fn a_panic_inside_the_status_line_still_prints_a_line_and_exits_zero() {
    let sandbox = Sandbox::new();
    let input = sandbox::fixture("statusline-inputs-oauth.jsonl");
    let second = input.lines().nth(1).unwrap();
    let mut command = sandbox.command("http://127.0.0.1:9");
    command
        .args(["statusline", "--chain", "echo mine"])
        .env(pace_maker::paths::ENV_TEST_PANIC, "statusline");
    let line = measured::run(&mut command, second.as_bytes());
    assert!(line.succeeded(), "{}", line.stderr_text());
    assert_eq!(line.stderr_text(), "");
    assert_eq!(
        line.stdout_text(),
        format!(
            "mine · {}\n",
            pace_maker::commands::statusline::INTERNAL_ERROR_SEGMENT
        )
    );
    assert!(log_text(&sandbox).contains("a deliberate panic"));
}

// ---- absurd readings and clocks ----

/// Runs the status line with `rate_limits` of 90 % in both windows that
/// reset at `resets_at` (any JSON), after an API reading of 40 % an hour
/// before with the same reset, then one PostToolUse with pacing on.
fn pace_on_a_reset(resets_at: serde_json::Value, what: &str) {
    let sandbox = Sandbox::new();
    let now_ms = clock::now_ms();
    if let Some(resets_at_s) = resets_at.as_i64() {
        let earlier = UsageSnapshot {
            source: SnapshotSource::Api,
            taken_at_ms: now_ms - 60 * MINUTE_MS,
            five_hour: Some(WindowReading {
                percent: 40.0,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day: Some(WindowReading {
                percent: 40.0,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        // Straight into the store, as an older build would have kept it.
        sandbox
            .store()
            .write(|transaction| snapshot::insert(transaction, &earlier))
            .unwrap();
    }
    let input = serde_json::json!({
        "session_id": "d095304d-895a-4782-9633-22c1acc3ecef",
        "rate_limits": {
            "five_hour": {"used_percentage": 90, "resets_at": resets_at},
            "seven_day": {"used_percentage": 90, "resets_at": resets_at},
        }
    });
    let mut statusline = sandbox.command("http://127.0.0.1:9");
    statusline.arg("statusline");
    let line = measured::run(&mut statusline, input.to_string().as_bytes());
    assert!(line.succeeded(), "{what}: {}", line.stderr_text());
    assert_eq!(line.stderr_text(), "", "{what}");
    assert_eq!(line.stdout_text().lines().count(), 1, "{what}");

    let mut hook = hook_command(&sandbox, "http://127.0.0.1:9", "post-tool-use");
    hook.env("PACE_MAKER_PACING_ENABLED", "true")
        .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "2");
    let hook = measured::run(&mut hook, sandbox::post_tool_use_payload().as_bytes());
    hook.assert_quiet_success(what);
    assert_within(&hook, Duration::from_millis(1900), what);
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM pacing_decisions"),
        1,
        "{what}: the decision is recorded"
    );
    assert_eq!(
        count(&sandbox, "SELECT max(delay_ms) FROM pacing_decisions"),
        0,
        "{what}: no delay"
    );
}

#[test]
fn resets_absurdly_far_away_never_crash_a_hook_or_make_it_sleep() {
    let now_s = clock::now_ms() / 1000;
    let year_s = 365 * 86_400;
    let table: Vec<(&str, serde_json::Value)> = vec![
        ("1e30", serde_json::json!(1e30)),
        ("-1e30", serde_json::json!(-1e30)),
        ("the largest integer", serde_json::json!(i64::MAX)),
        ("the smallest integer", serde_json::json!(i64::MIN)),
        (
            "the last second of 9999",
            serde_json::json!("9999-12-31T23:59:59Z"),
        ),
        ("a century ahead", serde_json::json!(now_s + 100 * year_s)),
        ("a day ahead", serde_json::json!(now_s + 86_400 * 8)),
        ("the epoch", serde_json::json!(0)),
        ("a decade ago", serde_json::json!(now_s - 10 * year_s)),
    ];
    for (what, resets_at) in table {
        pace_on_a_reset(resets_at, what);
    }
}
