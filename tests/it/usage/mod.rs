//! The official usage figures end to end: the usage API client and poller
//! against scripted servers on 127.0.0.1, the built binary's hooks polling
//! together, the status line, `usage refresh`, and the token's secrecy.

pub mod sandbox;
pub mod server;
mod tls;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pace_maker::clock;
use pace_maker::usage::api::UsageApiError;
use pace_maker::usage::credentials::CredentialsError;
use pace_maker::usage::poll::{self, ApiState, ApiStatus, Gate, Mode, PollFailure, Refresh};
use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};

use crate::support::refused_url;
use sandbox::{contains, UsageSandbox, NEVER_EXPIRES_MS, TOKEN};
use server::{Reply, Server};

/// Resets of the API answer below: relative to when this test binary
/// started, never a calendar date, so no test depends on the day it runs.
/// Whole seconds, as the API gives them; the 5-hour one in the API's
/// microsecond-and-offset form.
struct Resets {
    five_hour: jiff::Timestamp,
    seven_day: jiff::Timestamp,
}

fn resets() -> &'static Resets {
    static RESETS: OnceLock<Resets> = OnceLock::new();
    RESETS.get_or_init(|| {
        let now_s = clock::now_ms() / 1000;
        Resets {
            five_hour: jiff::Timestamp::from_second(now_s + 3 * 3600).unwrap(),
            seven_day: jiff::Timestamp::from_second(now_s + 4 * 86_400).unwrap(),
        }
    })
}

/// A full answer of the usage API, every key it sends today.
fn full_body() -> &'static str {
    static BODY: OnceLock<String> = OnceLock::new();
    BODY.get_or_init(|| {
        let resets = resets();
        format!(
            r#"{{"five_hour":{{"utilization":42.0,"resets_at":"{}"}},"seven_day":{{"utilization":17.5,"resets_at":"{}"}},"seven_day_oauth_apps":null,"seven_day_opus":{{"utilization":3.0,"resets_at":null}},"seven_day_sonnet":null,"extra_usage":{{"is_enabled":false,"monthly_limit":null,"used_credits":null,"utilization":null}}}}"#,
            resets.five_hour.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00"),
            resets.seven_day.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        )
    })
}

/// The request deadline in the sandbox config, plus scheduling slack.
const DEADLINE: Duration = Duration::from_millis(1000 + 700);

/// One poll through the library, timed.
fn poll_once(sandbox: &UsageSandbox, base: &str, mode: Mode) -> (Refresh, Duration) {
    let config = sandbox.config(base);
    let mut store = sandbox.store();
    let started = Instant::now();
    let outcome = poll::refresh(
        &mut store,
        &config.usage,
        &sandbox.claude_dir(),
        mode,
        clock::now_ms(),
    )
    .unwrap();
    (outcome, started.elapsed())
}

fn state(sandbox: &UsageSandbox) -> ApiState {
    ApiState::read(sandbox.store().connection()).unwrap()
}

fn with_token() -> UsageSandbox {
    let sandbox = UsageSandbox::new();
    sandbox.write_credentials(TOKEN, NEVER_EXPIRES_MS);
    sandbox
}

/// Asserts a failed poll left `status` and a backoff of `backoff_s` from about now.
fn assert_backoff(sandbox: &UsageSandbox, status: ApiStatus, backoff_s: i64) {
    let state = state(sandbox);
    assert_eq!(state.status, status);
    let until = state.backoff_until_ms.expect("a backoff is set");
    let expected = clock::now_ms() + backoff_s * 1000;
    assert!(
        (until - expected).abs() < 5_000,
        "backoff until {until}, expected about {expected}"
    );
    assert!(state.last_error.is_some());
    assert_eq!(state.lease_owner, None, "the lease is released");
}

#[test]
fn a_normal_answer_becomes_an_api_snapshot_and_sends_the_contract_headers() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(200, full_body()));
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::IfStale);
    assert!(elapsed < DEADLINE);
    let Refresh::Polled(snapshot) = outcome else {
        panic!("{outcome:?}")
    };
    let stored = snapshot::freshest_official(sandbox.store().connection())
        .unwrap()
        .unwrap();
    assert_eq!(stored, snapshot);
    assert_eq!(stored.source, SnapshotSource::Api);
    assert_eq!(
        stored.five_hour,
        Some(WindowReading {
            percent: 42.0,
            resets_at_s: Some(resets().five_hour.as_second())
        })
    );
    assert_eq!(stored.seven_day.unwrap().percent, 17.5);
    assert_eq!(stored.seven_day_opus.unwrap().resets_at_s, None);
    assert_eq!(stored.seven_day_sonnet, None);
    let api = state(&sandbox);
    assert_eq!(api.status, ApiStatus::Ok);
    assert_eq!(api.backoff_until_ms, None);
    assert!(api.last_success_at_ms.is_some());

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.request_line, "GET /api/oauth/usage HTTP/1.1");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("anthropic-beta"), Some("oauth-2025-04-20"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some(format!("pace-maker/{}", env!("CARGO_PKG_VERSION")).as_str())
    );

    // Fresh now: the next hook does not ask again.
    let (again, _) = poll_once(&sandbox, &server.base(), Mode::IfStale);
    assert!(matches!(again, Refresh::NotNeeded(Gate::Fresh { .. })));
    assert_eq!(server.count(), 1);
}

#[test]
fn null_or_missing_windows_make_a_snapshot_without_them() {
    for body in [
        r#"{"five_hour":null,"seven_day":null,"seven_day_opus":null}"#,
        "{}",
        r#"{"five_hour":{"utilization":null,"resets_at":null},"seven_day":{"utilization":8,"resets_at":null}}"#,
    ] {
        let sandbox = with_token();
        let server = Server::always(Reply::json(200, body));
        let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::Now);
        assert!(matches!(outcome, Refresh::Polled(_)), "{body}: {outcome:?}");
        let stored = snapshot::latest(sandbox.store().connection(), SnapshotSource::Api)
            .unwrap()
            .unwrap();
        assert_eq!(stored.five_hour, None, "{body}");
        assert_eq!(stored.raw_json.as_deref(), Some(body));
        assert_eq!(state(&sandbox).status, ApiStatus::Ok);
    }
}

#[test]
fn unknown_keys_are_kept_in_the_stored_raw_json() {
    let sandbox = with_token();
    let body = r#"{"five_hour":{"utilization":5,"resets_at":null},"seven_day_cowork":{"utilization":1,"resets_at":null},"brand_new":{"nested":[1,2]}}"#;
    let server = Server::always(Reply::json(200, body));
    let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(matches!(outcome, Refresh::Polled(_)));
    let stored = snapshot::latest(sandbox.store().connection(), SnapshotSource::Api)
        .unwrap()
        .unwrap();
    let raw: serde_json::Value = serde_json::from_str(stored.raw_json.as_deref().unwrap()).unwrap();
    assert_eq!(raw["brand_new"]["nested"][1], 2);
    assert_eq!(raw["seven_day_cowork"]["utilization"], 1);
    assert_eq!(stored.five_hour.unwrap().percent, 5.0);
}

#[test]
fn a_429_with_retry_after_backs_off_for_that_long_and_sends_nothing_meanwhile() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(429, "{}").with_header("Retry-After", "1200"));
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::IfStale);
    assert!(elapsed < DEADLINE);
    assert_eq!(
        outcome,
        Refresh::Failed(PollFailure::Api(UsageApiError::RateLimited {
            retry_after_s: Some(1200)
        }))
    );
    assert_backoff(&sandbox, ApiStatus::BackingOff, 1200);
    for mode in [Mode::IfStale, Mode::Now] {
        let (again, _) = poll_once(&sandbox, &server.base(), mode);
        assert!(matches!(again, Refresh::NotNeeded(Gate::BackingOff { .. })));
    }
    assert_eq!(server.count(), 1);
}

#[test]
fn a_429_with_a_retry_after_beyond_an_hour_is_capped_at_the_maximum() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(429, "").with_header("Retry-After", "86400"));
    poll_once(&sandbox, &server.base(), Mode::Now);
    assert_backoff(&sandbox, ApiStatus::BackingOff, 3600);
}

#[test]
fn a_429_without_retry_after_backs_off_one_poll_interval_then_doubles() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(429, "{}"));
    let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert_eq!(
        outcome,
        Refresh::Failed(PollFailure::Api(UsageApiError::RateLimited {
            retry_after_s: None
        }))
    );
    assert_backoff(&sandbox, ApiStatus::BackingOff, 300);
    // The backoff ran out; the next failure waits twice as long.
    let mut store = sandbox.store();
    store
        .write(|transaction| {
            transaction.execute("UPDATE api_state SET backoff_until = 0", [])?;
            Ok(())
        })
        .unwrap();
    poll_once(&sandbox, &server.base(), Mode::Now);
    assert_backoff(&sandbox, ApiStatus::BackingOff, 600);
    assert_eq!(state(&sandbox).failures, 2);
    assert_eq!(server.count(), 2);
}

#[test]
fn a_401_marks_the_credentials_unusable_until_the_file_changes() {
    for status in [401, 403] {
        let sandbox = with_token();
        let server = Server::start(move |index| match index {
            0 => Reply::json(status, r#"{"error":"nope"}"#),
            _ => Reply::json(200, full_body()),
        });
        let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::Now);
        assert_eq!(
            outcome,
            Refresh::Failed(PollFailure::Api(UsageApiError::Unauthorized { status }))
        );
        let refused = state(&sandbox);
        assert_eq!(refused.status, ApiStatus::Unauthorized);
        assert!(refused.credentials_fingerprint.is_some());
        // Unchanged credentials are not sent again, even when asked to.
        let (again, _) = poll_once(&sandbox, &server.base(), Mode::Now);
        assert_eq!(again, Refresh::Failed(PollFailure::CredentialsUnchanged));
        assert_eq!(server.count(), 1);
        // Claude Code refreshed its login: the new credentials are tried.
        sandbox.write_credentials(TOKEN, NEVER_EXPIRES_MS - 1);
        let (after, _) = poll_once(&sandbox, &server.base(), Mode::Now);
        assert!(matches!(after, Refresh::Polled(_)), "{after:?}");
        assert_eq!(server.count(), 2);
        assert_eq!(state(&sandbox).status, ApiStatus::Ok);
    }
}

#[test]
fn a_500_backs_off_exponentially() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(500, "oops"));
    let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::IfStale);
    assert_eq!(
        outcome,
        Refresh::Failed(PollFailure::Api(UsageApiError::ServerError { status: 500 }))
    );
    assert_backoff(&sandbox, ApiStatus::Error, 300);
    let (again, _) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(matches!(again, Refresh::NotNeeded(Gate::BackingOff { .. })));
    assert_eq!(server.count(), 1);
}

#[test]
fn a_server_that_never_answers_times_out_within_the_deadline() {
    let sandbox = with_token();
    let server = Server::always(Reply::Silent(Duration::from_secs(20)));
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(elapsed < DEADLINE, "{elapsed:?}");
    assert!(
        matches!(
            outcome,
            Refresh::Failed(PollFailure::Api(UsageApiError::Timeout {
                config_key: "usage.total_timeout_ms",
                ..
            }))
        ),
        "{outcome:?}"
    );
    assert_backoff(&sandbox, ApiStatus::Error, 300);
    assert!(state(&sandbox)
        .last_error
        .unwrap()
        .contains("usage.total_timeout_ms"));
}

#[test]
fn a_connection_closed_without_an_answer_backs_off_exponentially() {
    let sandbox = with_token();
    let server = Server::always(Reply::Hangup);
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(elapsed < DEADLINE, "{elapsed:?}");
    assert!(
        matches!(
            outcome,
            Refresh::Failed(PollFailure::Api(UsageApiError::Connection { .. }))
        ),
        "{outcome:?}"
    );
    assert_backoff(&sandbox, ApiStatus::Error, 300);
    assert_eq!(server.count(), 1);
}

#[test]
fn a_slow_body_past_the_deadline_times_out_and_one_within_it_succeeds() {
    let sandbox = with_token();
    let server = Server::always(Reply::SlowBody {
        body: full_body().to_string(),
        byte_delay: Duration::from_millis(50),
    });
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(elapsed < DEADLINE, "{elapsed:?}");
    assert!(
        matches!(
            outcome,
            Refresh::Failed(PollFailure::Api(UsageApiError::Timeout { .. }))
        ),
        "{outcome:?}"
    );
    assert_backoff(&sandbox, ApiStatus::Error, 300);

    let sandbox = with_token();
    let body = r#"{"five_hour":{"utilization":9,"resets_at":null}}"#;
    let server = Server::always(Reply::SlowBody {
        body: body.to_string(),
        byte_delay: Duration::from_millis(5),
    });
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(elapsed < DEADLINE, "{elapsed:?}");
    assert!(matches!(outcome, Refresh::Polled(_)), "{outcome:?}");
}

#[test]
fn invalid_json_is_an_error_with_backoff() {
    for body in ["<html>bad gateway</html>", "[1,2]", r#"{"five_hour":"#] {
        let sandbox = with_token();
        let server = Server::always(Reply::json(200, body));
        let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::Now);
        assert!(
            matches!(
                outcome,
                Refresh::Failed(PollFailure::Api(UsageApiError::InvalidBody { .. }))
            ),
            "{body}: {outcome:?}"
        );
        assert_backoff(&sandbox, ApiStatus::Error, 300);
        assert_eq!(
            snapshot::freshest_official(sandbox.store().connection()).unwrap(),
            None
        );
    }
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let sandbox = with_token();
    let elsewhere = Server::always(Reply::json(200, full_body()));
    let location = format!("http://localhost:{}/api/oauth/usage", elsewhere.port());
    let server = Server::always(Reply::json(302, "").with_header("Location", &location));
    let (outcome, elapsed) = poll_once(&sandbox, &server.base(), Mode::Now);
    assert!(elapsed < DEADLINE);
    assert_eq!(
        outcome,
        Refresh::Failed(PollFailure::Api(UsageApiError::Redirected {
            status: 302,
            location: "http://localhost".into()
        }))
    );
    assert_eq!(elsewhere.count(), 0, "the redirect was followed");
    assert_backoff(&sandbox, ApiStatus::Error, 300);
}

#[test]
fn expired_or_missing_credentials_make_no_request() {
    let server = Server::always(Reply::json(200, full_body()));
    let expired = UsageSandbox::new();
    // Expires in four minutes: inside the five-minute margin.
    expired.write_credentials(TOKEN, clock::now_ms() + 4 * 60_000);
    let (outcome, _) = poll_once(&expired, &server.base(), Mode::Now);
    let Refresh::Failed(PollFailure::Credentials(error)) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(matches!(error, CredentialsError::Expired { .. }));
    assert_eq!(
        state(&expired).last_error.as_deref(),
        Some("unavailable: expired, run claude to refresh")
    );
    assert_eq!(state(&expired).status, ApiStatus::CredentialsExpired);

    let missing = UsageSandbox::new();
    let (outcome, _) = poll_once(&missing, &server.base(), Mode::Now);
    assert!(matches!(
        outcome,
        Refresh::Failed(PollFailure::Credentials(CredentialsError::Missing { .. }))
    ));
    assert_eq!(state(&missing).status, ApiStatus::CredentialsMissing);
    // A hook does not look again before the poll interval has passed.
    let (again, _) = poll_once(&missing, &server.base(), Mode::IfStale);
    assert!(matches!(again, Refresh::NotNeeded(Gate::TooSoon { .. })));
    assert_eq!(server.count(), 0);
}

#[test]
fn a_fresh_statusline_snapshot_means_no_request() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(200, full_body()));
    let fresh = UsageSnapshot {
        source: SnapshotSource::Statusline,
        taken_at_ms: clock::now_ms() - 60_000,
        five_hour: Some(WindowReading {
            percent: 1.0,
            resets_at_s: None,
        }),
        seven_day: None,
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    };
    sandbox
        .store()
        .write(|transaction| snapshot::insert(transaction, &fresh))
        .unwrap();
    let (outcome, _) = poll_once(&sandbox, &server.base(), Mode::IfStale);
    assert!(matches!(outcome, Refresh::NotNeeded(Gate::Fresh { .. })));
    assert_eq!(server.count(), 0);
}

// ---- the built binary ----

fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn hook_post_tool_use(sandbox: &UsageSandbox, base: &str) -> Command {
    let mut command = sandbox.command(base);
    command.args(["hook", "post-tool-use"]);
    command
}

/// Starts 16 PostToolUse hooks at once and waits for them all.
fn sixteen_hooks(sandbox: &UsageSandbox, base: &str) {
    let payload = sandbox::post_tool_use_payload();
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut child = hook_post_tool_use(sandbox, base)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(payload.as_bytes())
                .unwrap();
            child
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        assert!(output.stdout.is_empty(), "a hook printed on stdout");
        assert!(output.stderr.is_empty(), "a hook printed on stderr");
    }
}

#[test]
fn sixteen_hooks_with_a_stale_cache_make_exactly_one_request() {
    let sandbox = with_token();
    sandbox.store_stale_snapshot();
    let server = Server::always(Reply::json(200, full_body()).after(Duration::from_millis(300)));
    sixteen_hooks(&sandbox, &server.base());
    assert_eq!(server.count(), 1);
    let freshest = snapshot::freshest_official(sandbox.store().connection())
        .unwrap()
        .unwrap();
    assert_eq!(freshest.five_hour.unwrap().percent, 42.0);
    let tool_calls: i64 = sandbox
        .store()
        .connection()
        .query_row("SELECT count(*) FROM tool_calls", [], |row| row.get(0))
        .unwrap();
    assert_eq!(tool_calls, 16, "every hook did its bookkeeping");
}

#[test]
fn sixteen_hooks_against_a_failing_api_make_exactly_one_request() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(500, "").after(Duration::from_millis(300)));
    sixteen_hooks(&sandbox, &server.base());
    assert_eq!(server.count(), 1);
    assert_eq!(state(&sandbox).status, ApiStatus::Error);
}

#[test]
fn the_statusline_records_the_oauth_fixture_with_its_figures_and_resets() {
    let sandbox = UsageSandbox::new();
    let second = sandbox::fixture("statusline-inputs-oauth.jsonl")
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let mut command = sandbox.command(&refused_url());
    command.arg("statusline");
    let output = run_with_stdin(command, &second);
    assert!(output.status.success());
    let line = String::from_utf8(output.stdout).unwrap();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("5h ") && line.contains(" · wk "), "{line}");
    let store = sandbox.store();
    let stored = snapshot::latest(store.connection(), SnapshotSource::Statusline)
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.five_hour,
        Some(WindowReading {
            percent: 42.0,
            resets_at_s: Some(1_795_483_306)
        })
    );
    assert_eq!(
        stored.seven_day,
        Some(WindowReading {
            percent: 17.0,
            resets_at_s: Some(1_795_911_706)
        })
    );
    assert_eq!(
        store
            .meta(snapshot::META_PROMPT_CACHE_TTL_SECONDS)
            .unwrap()
            .as_deref(),
        Some("3600")
    );
}

/// A status-line input whose windows reset relative to now.
fn statusline_input(five: f64, five_left_s: i64, week: f64, week_left_s: i64) -> String {
    let now_s = clock::now_ms() / 1000;
    format!(
        r#"{{"session_id":"s","model":{{"id":"m"}},"rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{}}},"seven_day":{{"used_percentage":{week},"resets_at":{}}}}}}}"#,
        now_s + five_left_s,
        now_s + week_left_s
    )
}

#[test]
fn the_statusline_shows_both_windows_with_their_pace() {
    let sandbox = UsageSandbox::new();
    // Half of each window gone; target 95: the pace line is at 47.5.
    let input = statusline_input(60.0, 9_000, 20.0, 302_400);
    let mut command = sandbox.command(&refused_url());
    command.arg("statusline");
    let output = run_with_stdin(command, &input);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "5h 60% (12 ahead) · wk 20% (28 behind)\n"
    );
}

#[test]
fn a_passed_reset_reads_as_a_fresh_window_everywhere() {
    let sandbox = UsageSandbox::new();
    // The 5-hour window reset a minute ago at 100 %: it is a fresh 0 % window.
    let input = statusline_input(100.0, -60, 20.0, 302_400);
    let mut command = sandbox.command(&refused_url());
    command.arg("statusline");
    let output = run_with_stdin(command, &input);
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(line.starts_with("5h 0% (on pace)"), "{line}");
    // The stored reading keeps what the source said.
    let stored = snapshot::latest(sandbox.store().connection(), SnapshotSource::Statusline)
        .unwrap()
        .unwrap();
    assert_eq!(stored.five_hour.unwrap().percent, 100.0);
}

#[test]
fn bad_stdin_prints_a_minimal_line_and_exits_zero() {
    for input in ["", "not json at all", "[1,2,3]", "{\"rate_limits\": 5}"] {
        let sandbox = UsageSandbox::new();
        let mut command = sandbox.command(&refused_url());
        command.arg("statusline");
        let output = run_with_stdin(command, input);
        assert!(output.status.success());
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "pace-maker: no usage figures\n",
            "{input}"
        );
        assert!(output.stderr.is_empty());
    }
}

#[test]
fn an_api_key_login_shows_what_is_known_from_the_api() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(200, full_body()));
    poll_once(&sandbox, &server.base(), Mode::Now);
    // The first fixture line has no rate_limits, like an API-key login.
    let first = sandbox::fixture("statusline-inputs-oauth.jsonl")
        .lines()
        .next()
        .unwrap()
        .to_string();
    let mut command = sandbox.command(&server.base());
    command.arg("statusline");
    let output = run_with_stdin(command, &first);
    let line = String::from_utf8(output.stdout).unwrap();
    assert!(line.contains("wk 18%"), "{line}");
    assert_eq!(server.count(), 1, "the status line never polls");
}

#[test]
fn chain_keeps_every_line_of_the_users_status_line_ours_on_the_first() {
    let sandbox = UsageSandbox::new();
    let input = statusline_input(60.0, 9_000, 20.0, 302_400);
    let mut command = sandbox.command(&refused_url());
    command.args([
        "statusline",
        "--chain",
        r#"printf '\nmine: %s\n  second  line\nthird\n\n' "$(grep -o '"session_id":"[a-z]*"')""#,
    ]);
    let output = run_with_stdin(command, &input);
    // Lines as printed (a leading blank one too), ours on the first with text.
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "\nmine: \"session_id\":\"s\" · 5h 60% (12 ahead) · wk 20% (28 behind)\n  second  line\nthird\n"
    );
}

/// Where the chained command's output is cached.
fn chain_cache(sandbox: &UsageSandbox) -> std::path::PathBuf {
    sandbox.tool_home().join("statusline-chain.json")
}

#[test]
fn a_slow_chained_command_shows_its_last_output_and_leaves_nothing_running() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = UsageSandbox::new();
    let slow = sandbox.dir.path().join("slow");
    let pid_file = sandbox.dir.path().join("pid");
    // Fast the first time; then slow, with a grandchild that would outlive us.
    let chain = format!(
        "if [ -e {slow} ]; then sleep 30 & echo $! > {pid}; wait; fi; printf 'line one\\nline two\\n'",
        slow = slow.display(),
        pid = pid_file.display()
    );
    let run = || {
        let mut command = sandbox.command(&refused_url());
        command
            .args(["statusline", "--chain", &chain])
            // Long enough for a loaded machine's shell to start its
            // grandchild and write its pid before the deadline.
            .env("PACE_MAKER_STATUSLINE_CHAIN_TIMEOUT_MS", "2000");
        let started = Instant::now();
        let output = run_with_stdin(command, "{}");
        assert!(output.status.success());
        (String::from_utf8(output.stdout).unwrap(), started.elapsed())
    };
    let expected = "line one · pace-maker: no usage figures\nline two\n";
    let (first, _) = run();
    assert_eq!(first, expected);
    let mode = std::fs::metadata(chain_cache(&sandbox))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the cache is the owner's alone");
    std::fs::write(&slow, "").unwrap();
    let (second, took) = run();
    assert_eq!(second, expected, "the last output, not nothing");
    assert!(took < Duration::from_secs(8), "{took:?}");
    // The command and its grandchild were killed with its process group.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(3);
    while proc_dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    assert!(
        !proc_dir.exists() || state.contains(") Z "),
        "the slow command's child still runs: {state}"
    );
    // Another command does not get this one's output.
    let mut command = sandbox.command(&refused_url());
    command
        .args(["statusline", "--chain", "sleep 30"])
        .env("PACE_MAKER_STATUSLINE_CHAIN_TIMEOUT_MS", "200");
    let output = run_with_stdin(command, "{}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "pace-maker: no usage figures\n"
    );
}

#[test]
fn a_project_may_not_set_the_chain_timeout() {
    let sandbox = UsageSandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    std::fs::write(
        sandbox.tool_home().join("config.toml"),
        "[statusline]\nchain_timeout_ms = 300\n",
    )
    .unwrap();
    let project = sandbox.project_dir().join(".claude");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("pace-maker.toml"),
        "[statusline]\nchain_timeout_ms = 10000\n",
    )
    .unwrap();
    let mut command = sandbox.command(&refused_url());
    command.args(["statusline", "--chain", "sleep 4; echo late"]);
    let started = Instant::now();
    let output = run_with_stdin(command, "{}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the user's 300 ms held"
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "pace-maker: no usage figures\n"
    );
}

#[test]
fn a_chained_command_that_hangs_is_cut_at_its_deadline() {
    let sandbox = UsageSandbox::new();
    let mut command = sandbox.command(&refused_url());
    command.args(["statusline", "--chain", "sleep 30"]);
    let started = Instant::now();
    let output = run_with_stdin(command, "{}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "pace-maker: no usage figures\n"
    );
}

#[test]
fn usage_refresh_prints_the_snapshot() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(200, full_body()));
    let mut command = sandbox.command(&server.base());
    command.args(["usage", "refresh"]);
    let output = command.output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("usage from the api at "), "{text}");
    assert!(text.contains("5-hour"), "{text}");
    assert!(text.contains("17.5 %"), "{text}");

    let mut command = sandbox.command(&server.base());
    command.args(["usage", "refresh", "--json"]);
    let output = command.output().unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["outcome"], "polled");
    assert_eq!(json["snapshot"]["five_hour"]["percent"], 42.0);
    assert_eq!(
        json["snapshot"]["five_hour"]["resets_at"],
        resets().five_hour.to_string()
    );
    assert_eq!(json["api_state"]["state"], "ok");
    assert_eq!(json["snapshot"]["raw"]["extra_usage"]["is_enabled"], false);
    assert_eq!(server.count(), 2, "an explicit refresh ignores the cache");
}

#[test]
fn usage_refresh_during_backoff_exits_non_zero_with_a_hint() {
    let sandbox = with_token();
    let server = Server::always(Reply::json(429, "").with_header("Retry-After", "600"));
    let mut first = sandbox.command(&server.base());
    first.args(["usage", "refresh"]);
    let output = first.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: the usage API is rate limiting (HTTP 429, retry after 600 s)"),
        "{stderr}"
    );

    let mut second = sandbox.command(&server.base());
    second.args(["usage", "refresh"]);
    let output = second.output().unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: the usage API is backing off for ")
            && stderr.contains("(last error: the usage API is rate limiting"),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: "), "{stderr}");

    let mut json = sandbox.command(&server.base());
    json.args(["usage", "refresh", "--json"]);
    let output = json.output().unwrap();
    assert!(!output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "backing-off");
    assert_eq!(report["api_state"]["state"], "backing-off");
    assert!(report["snapshot"].is_null());
    assert_eq!(server.count(), 1);
}

#[test]
fn usage_refresh_refuses_plain_http_off_loopback() {
    let sandbox = with_token();
    let mut command = sandbox.command("http://example.com");
    command.args(["usage", "refresh"]);
    let output = command.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: refusing the usage API base URL `http://example.com`: plain http is only allowed to a loopback address"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: set usage.api_base"), "{stderr}");
}

#[test]
fn the_token_is_nowhere_but_in_claude_codes_own_file() {
    let sandbox = with_token();
    let slow = Reply::SlowBody {
        body: full_body().into(),
        byte_delay: Duration::from_millis(50),
    };
    let elsewhere = Server::always(Reply::json(200, full_body()));
    let redirect = format!("http://localhost:{}/", elsewhere.port());
    let scenarios: Vec<(&str, Reply)> = vec![
        ("success", Reply::json(200, full_body())),
        ("401", Reply::json(401, r#"{"error":"x"}"#)),
        ("403", Reply::json(403, "")),
        (
            "429 with Retry-After",
            Reply::json(429, "").with_header("Retry-After", "30"),
        ),
        ("429", Reply::json(429, "")),
        ("500", Reply::json(500, "")),
        ("invalid JSON", Reply::json(200, "{not json")),
        (
            "redirect",
            Reply::json(302, "").with_header("Location", &redirect),
        ),
        ("silence", Reply::Silent(Duration::from_secs(5))),
        ("slow body", slow),
    ];
    let mut captured: Vec<(String, Vec<u8>)> = Vec::new();
    let mut requests_with_token = 0;
    let reset = || {
        sandbox
            .store()
            .write(|transaction| {
                transaction.execute_batch(
                    "UPDATE api_state SET state = 'unknown', backoff_until = NULL,
                         lease_until = NULL, lease_owner = NULL, last_attempt_at = NULL,
                         credentials_fingerprint = NULL;
                     DELETE FROM usage_snapshots;",
                )
            })
            .unwrap();
    };
    let statusline = sandbox::fixture("statusline-inputs-oauth.jsonl");
    for (name, reply) in scenarios {
        let server = Server::always(reply);
        let base = server.base();
        // (command, stdin, whether the state is reset first)
        let runs: Vec<(Command, Option<String>, bool)> = vec![
            (
                {
                    let mut command = sandbox.command(&base);
                    command.args(["usage", "refresh", "--json"]);
                    command
                },
                None,
                true,
            ),
            // Again at once: backing off, or refused credentials not resent.
            (
                {
                    let mut command = sandbox.command(&base);
                    command.args(["usage", "refresh", "--json"]);
                    command
                },
                None,
                false,
            ),
            (
                hook_post_tool_use(&sandbox, &base),
                Some(sandbox::post_tool_use_payload()),
                true,
            ),
            (
                {
                    let mut command = sandbox.command(&base);
                    command.args(["usage", "refresh"]);
                    command
                },
                None,
                true,
            ),
            (
                {
                    let mut command = sandbox.command(&base);
                    command.arg("statusline");
                    command
                },
                Some(statusline.lines().nth(1).unwrap().to_string()),
                true,
            ),
        ];
        for (mut command, stdin, reset_first) in runs {
            if reset_first {
                reset();
            }
            command.env("PACE_MAKER_LOG", "trace");
            let output = run_with_stdin(command, stdin.as_deref().unwrap_or(""));
            captured.push((format!("{name} stdout"), output.stdout));
            captured.push((format!("{name} stderr"), output.stderr));
        }
        requests_with_token += server
            .requests()
            .iter()
            .filter(|request| {
                request.header("authorization") == Some(format!("Bearer {TOKEN}").as_str())
            })
            .count();
    }
    // Expired credentials, and a 401 remembered across runs.
    sandbox.write_credentials(TOKEN, clock::now_ms());
    reset();
    let mut command = sandbox.command(&refused_url());
    command
        .args(["usage", "refresh"])
        .env("PACE_MAKER_LOG", "trace");
    let output = command.output().unwrap();
    captured.push(("expired stderr".into(), output.stderr));

    // Each scenario: two refreshes and a hook after a reset; the refresh
    // right after the first sends again only after a success.
    assert_eq!(requests_with_token, 10 * 3 + 1);
    assert_eq!(elsewhere.count(), 0);
    for (what, bytes) in &captured {
        assert!(!contains(bytes, TOKEN.as_bytes()), "the token is in {what}");
    }
    let files = UsageSandbox::files_under(sandbox.dir.path());
    let logs: Vec<_> = files
        .iter()
        .filter(|(path, _)| path.to_string_lossy().contains("/logs/"))
        .collect();
    assert!(
        logs.iter()
            .any(|(_, bytes)| contains(bytes, b"polling the usage API")),
        "trace logging wrote something"
    );
    assert!(files
        .iter()
        .any(|(path, _)| path.ends_with("pace-maker.db")));
    for (path, bytes) in &files {
        if *path == sandbox.credentials_path() {
            continue;
        }
        assert!(
            !contains(bytes, TOKEN.as_bytes()),
            "the token is in {}",
            path.display()
        );
    }
}

#[test]
fn a_broken_store_still_shows_the_inputs_figures() {
    let sandbox = UsageSandbox::new();
    // The tool home is a file: no store can be opened there.
    std::fs::create_dir_all(sandbox.user_home()).unwrap();
    std::fs::write(sandbox.tool_home(), "not a folder").unwrap();
    let input = statusline_input(60.0, 9_000, 20.0, 302_400);
    let mut command = sandbox.command(&refused_url());
    command.arg("statusline");
    let output = run_with_stdin(command, &input);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "5h 60% (12 ahead) · wk 20% (28 behind)\n"
    );
    assert!(output.stderr.is_empty());
}

/// The usage API's answer of the per-model acceptance: 5-hour 10 %, weekly
/// 20 %, Opus weekly 90 % with 3 days to its reset, Sonnet unused (null),
/// extra usage on, and a window this build does not know.
fn opus_bound_body() -> String {
    let now_s = clock::now_ms() / 1000;
    let at = |seconds: i64| {
        jiff::Timestamp::from_second(now_s + seconds)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    };
    format!(
        r#"{{"five_hour":{{"utilization":10.0,"resets_at":"{}"}},"seven_day":{{"utilization":20.0,"resets_at":"{}"}},"seven_day_opus":{{"utilization":90.0,"resets_at":"{}"}},"seven_day_sonnet":null,"seven_day_cowork":{{"utilization":4.0,"resets_at":null}},"extra_usage":{{"is_enabled":true,"monthly_limit":50.0,"used_credits":12.5,"utilization":25.0}}}}"#,
        at(3 * 3600),
        at(3 * 86_400),
        at(3 * 86_400),
    )
}

/// A session's SessionStart (with `model` when given) and one PostToolUse
/// through the built binary, pacing on, against the usage API at `base`;
/// returns the recorded decision `(delay_ms, window, reason)`.
fn paced_tool_call(
    sandbox: &UsageSandbox,
    base: &str,
    model: Option<&str>,
    transcript: Option<&std::path::Path>,
    env: &[(&str, &str)],
) -> (i64, Option<String>, String) {
    let mut start: serde_json::Value = serde_json::from_str(
        fixture_line(
            "hook-inputs-basic.jsonl",
            r#""hook_event_name":"SessionStart""#,
        )
        .as_str(),
    )
    .unwrap();
    let mut tool: serde_json::Value =
        serde_json::from_str(&sandbox::post_tool_use_payload()).unwrap();
    if let Some(model) = model {
        start["model"] = serde_json::json!(model);
    }
    if let Some(transcript) = transcript {
        for payload in [&mut start, &mut tool] {
            payload["transcript_path"] = serde_json::json!(transcript.to_str().unwrap());
        }
    }
    let run = |args: &[&str], payload: &serde_json::Value| {
        let mut command = sandbox.command(base);
        command
            .args(args)
            .env("PACE_MAKER_PACING_ENABLED", "true")
            .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "1")
            .env("PACE_MAKER_PACING_MESSAGE_THRESHOLD_SECONDS", "1")
            .envs(env.iter().copied());
        let output = run_with_stdin(command, &payload.to_string());
        assert!(output.status.success(), "{output:?}");
        assert!(output.stderr.is_empty(), "{output:?}");
        output
    };
    run(&["hook", "session-start"], &start);
    let output = run(&["hook", "post-tool-use"], &tool);
    let store = sandbox.store();
    let (delay_ms, window, reason) = store
        .connection()
        .query_row(
            "SELECT delay_ms, window, reason FROM pacing_decisions ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    if delay_ms > 0 {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("weekly Opus window"), "{stdout}");
    }
    (delay_ms, window, reason)
}

fn fixture_line(name: &str, containing: &str) -> String {
    sandbox::fixture(name)
        .lines()
        .find(|line| line.contains(containing))
        .unwrap()
        .to_string()
}

#[test]
fn an_opus_session_is_delayed_by_the_opus_weekly_window_and_a_sonnet_session_is_not() {
    let body = opus_bound_body();
    let server = Server::always(Reply::json(200, &body));

    let opus = with_token();
    let (delay_ms, window, reason) = paced_tool_call(
        &opus,
        &server.base(),
        Some("claude-opus-4-1-20250805"),
        None,
        &[],
    );
    assert_eq!(delay_ms, 1000, "{reason}");
    assert_eq!(window.as_deref(), Some("seven_day_opus"));
    assert!(reason.contains("weekly Opus window at 90.0 %"), "{reason}");

    let sonnet = with_token();
    let (delay_ms, window, reason) = paced_tool_call(
        &sonnet,
        &server.base(),
        Some("claude-sonnet-4-5"),
        None,
        &[],
    );
    assert_eq!(delay_ms, 0, "{reason}");
    assert_ne!(window.as_deref(), Some("seven_day_opus"), "{reason}");
    assert!(reason.starts_with("on pace:"), "{reason}");

    // `claude -p` sends no model at SessionStart: the transcript's newest
    // assistant entry names it.
    let transcript_session = with_token();
    let transcript = transcript_session.project_dir().join("transcript.jsonl");
    std::fs::write(
        &transcript,
        concat!(
            r#"{"type":"user","message":{"role":"user","content":"go"}}"#,
            "\n",
            r#"{"type":"assistant","message":{"id":"m1","model":"claude-opus-4-1-20250805","role":"assistant","content":[{"type":"tool_use","id":"t","name":"Bash","input":{}}]}}"#,
            "\n",
            r#"{"type":"assistant","message":{"id":"m2","model":"<synthetic>","role":"assistant","content":[]}}"#,
            "\n",
        ),
    )
    .unwrap();
    let (delay_ms, window, reason) = paced_tool_call(
        &transcript_session,
        &server.base(),
        None,
        Some(&transcript),
        &[],
    );
    assert_eq!(delay_ms, 1000, "{reason}");
    assert_eq!(window.as_deref(), Some("seven_day_opus"));
    let model: Option<String> = transcript_session
        .store()
        .connection()
        .query_row("SELECT model FROM sessions", [], |row| row.get(0))
        .unwrap();
    assert_eq!(model.as_deref(), Some("claude-opus-4-1-20250805"));
}

#[test]
fn with_extra_usage_allowed_an_opus_session_runs_on_until_the_spend_set() {
    let body = opus_bound_body();
    let server = Server::always(Reply::json(200, &body));
    // 12.50 spent of a 20.00 allowance: no window holds the mission back.
    let allowed = with_token();
    let (delay_ms, window, reason) = paced_tool_call(
        &allowed,
        &server.base(),
        Some("claude-opus-4-1"),
        None,
        &[
            ("PACE_MAKER_PACING_ALLOW_EXTRA_USAGE", "true"),
            ("PACE_MAKER_PACING_EXTRA_USAGE_MAX_SPEND", "20"),
        ],
    );
    assert_eq!(delay_ms, 0, "{reason}");
    assert_eq!(window, None);
    assert!(
        reason.starts_with("extra usage allowed: 12.50 of the 20.00"),
        "{reason}"
    );
    // 12.50 spent of a 10.00 allowance: paced inside the plan again.
    let spent = with_token();
    let (delay_ms, window, reason) = paced_tool_call(
        &spent,
        &server.base(),
        Some("claude-opus-4-1"),
        None,
        &[
            ("PACE_MAKER_PACING_ALLOW_EXTRA_USAGE", "true"),
            ("PACE_MAKER_PACING_EXTRA_USAGE_MAX_SPEND", "10"),
        ],
    );
    assert_eq!(delay_ms, 1000, "{reason}");
    assert_eq!(window.as_deref(), Some("seven_day_opus"));
}
