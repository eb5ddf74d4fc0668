//! Pacing through the built hook binary: a usage history ahead of pace is
//! put in a sandboxed store through the library, then the real
//! PostToolUse payload runs the hook. The decision must be recorded, the
//! process must sleep, and a long enough pause must be announced.

use std::time::{Duration, Instant};

use crate::support::{five_dollar_reply, fixture_lines, Sandbox};
use pace_maker::store::Store;
use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};

const SESSION: &str = "d095304d-895a-4782-9633-22c1acc3ecef";
const MINUTE_MS: i64 = 60_000;

fn post_tool_use() -> String {
    fixture_lines("hook-inputs-basic.jsonl")
        .into_iter()
        .find(|line| line.contains("\"PostToolUse\""))
        .expect("the fixture has a PostToolUse")
}

/// Runs the PostToolUse hook with `pacing.max_delay_seconds` set, so a
/// pause is short enough to wait for.
fn hook_with_max_delay(sandbox: &Sandbox, seconds: u64) -> assert_cmd::assert::Assert {
    sandbox
        .command()
        .args(["hook", "post-tool-use"])
        .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", seconds.to_string())
        .write_stdin(post_tool_use())
        .assert()
}

fn now_ms() -> i64 {
    pace_maker::clock::now_ms()
}

/// Stores 5-hour readings `(minutes ago, percent)` of a window that
/// started two hours ago.
fn store_history(sandbox: &Sandbox, points: &[(i64, f64)]) {
    let now = now_ms();
    let resets_at_s = (now + 3 * 60 * MINUTE_MS) / 1000;
    let mut store = Store::open(&sandbox.store_path(), Duration::from_secs(2)).unwrap();
    for &(minutes_ago, percent) in points {
        let reading = UsageSnapshot {
            source: SnapshotSource::Api,
            taken_at_ms: now - minutes_ago * MINUTE_MS,
            five_hour: Some(WindowReading {
                percent,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day: Some(WindowReading {
                percent: 10.0,
                resets_at_s: Some(resets_at_s + 4 * 86_400),
            }),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        store.write(|tx| snapshot::insert(tx, &reading)).unwrap();
    }
}

struct Recorded {
    delay_ms: i64,
    window: Option<String>,
    utilization: Option<f64>,
    target: Option<f64>,
    reason: String,
}

fn decisions(sandbox: &Sandbox) -> Vec<Recorded> {
    let store = sandbox.store();
    let mut statement = store
        .prepare(
            "SELECT delay_ms, window, utilization, target_percent, reason
             FROM pacing_decisions WHERE session_id = ?1 ORDER BY id",
        )
        .unwrap();
    statement
        .query_map([SESSION], |row| {
            Ok(Recorded {
                delay_ms: row.get(0)?,
                window: row.get(1)?,
                utilization: row.get(2)?,
                target: row.get(3)?,
                reason: row.get(4)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn ahead_of_pace_the_hook_records_sleeps_and_announces_the_pause() {
    let sandbox = Sandbox::new();
    // 60 % two hours into the window, rising 30 %/h: far ahead of pace.
    store_history(&sandbox, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    let started = Instant::now();
    let output = sandbox
        .command()
        .args(["hook", "post-tool-use"])
        .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "2")
        .env("PACE_MAKER_HOOKS_POST_TOOL_USE_TIMEOUT_SECONDS", "40")
        .env("PACE_MAKER_PACING_MESSAGE_THRESHOLD_SECONDS", "1")
        .write_stdin(post_tool_use())
        .assert()
        .success()
        .stderr("")
        .get_output()
        .clone();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2),
        "the hook slept only {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(20),
        "the hook slept {elapsed:?}"
    );
    let reply: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({
            "systemMessage": "pace-maker: pausing 2 s, 5-hour window at 60 % vs 38 % pace"
        })
    );
    let recorded = decisions(&sandbox);
    assert_eq!(recorded.len(), 1);
    let decision = &recorded[0];
    assert_eq!(decision.delay_ms, 2000);
    assert_eq!(decision.window.as_deref(), Some("five_hour"));
    assert_eq!(decision.target, Some(95.0));
    assert!((decision.utilization.unwrap() - 60.0).abs() < 0.5);
    assert!(
        decision
            .reason
            .starts_with("ahead: 5-hour window at 60.0 %"),
        "{}",
        decision.reason
    );
    assert!(decision.reason.contains("capped at the maximum delay"));
    assert_eq!(
        sandbox.query_i64(&format!(
            "SELECT delay_ms_total FROM sessions WHERE id = '{SESSION}'"
        )),
        2000
    );
}

#[test]
fn a_pause_under_the_message_threshold_sleeps_silently() {
    let sandbox = Sandbox::new();
    store_history(&sandbox, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    let started = Instant::now();
    hook_with_max_delay(&sandbox, 1)
        .success()
        .stdout("")
        .stderr("");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(decisions(&sandbox)[0].delay_ms, 1000);
}

#[test]
fn on_pace_the_hook_records_a_zero_delay_and_prints_nothing() {
    let sandbox = Sandbox::new();
    // 20 % two hours in, 10 %/h: 50 % at reset.
    store_history(&sandbox, &[(60, 10.0), (0, 20.0)]);
    sandbox
        .hook("post-tool-use", post_tool_use())
        .success()
        .stdout("")
        .stderr("");
    let recorded = decisions(&sandbox);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].delay_ms, 0);
    assert!(
        recorded[0].reason.starts_with("on pace:"),
        "{}",
        recorded[0].reason
    );
}

#[test]
fn stale_usage_figures_fail_open_and_are_logged() {
    let sandbox = Sandbox::new();
    // The freshest figure is 40 minutes old (stale after 15).
    store_history(&sandbox, &[(100, 30.0), (40, 90.0)]);
    let started = Instant::now();
    sandbox
        .hook("post-tool-use", post_tool_use())
        .success()
        .stdout("")
        .stderr("");
    assert!(started.elapsed() < Duration::from_secs(5));
    let recorded = decisions(&sandbox);
    assert_eq!(recorded[0].delay_ms, 0);
    assert!(
        recorded[0].reason.contains("no fresh usage figure"),
        "{}",
        recorded[0].reason
    );
    assert!(
        sandbox
            .log_lines()
            .iter()
            .any(|line| line.contains("pacing fails open")),
        "{:?}",
        sandbox.log_lines()
    );
}

#[test]
fn paused_or_disabled_pacing_adds_no_delay_and_records_nothing() {
    let sandbox = Sandbox::new();
    store_history(&sandbox, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    sandbox
        .command()
        .args(["hook", "post-tool-use"])
        .env("PACE_MAKER_PACING_ENABLED", "false")
        .write_stdin(post_tool_use())
        .assert()
        .success()
        .stdout("");
    sandbox.command().args(["pause", "10m"]).assert().success();
    let started = Instant::now();
    sandbox
        .hook("post-tool-use", post_tool_use())
        .success()
        .stdout("");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(decisions(&sandbox).is_empty());
    // The tool calls themselves are still counted.
    assert_eq!(
        sandbox.query_i64(&format!(
            "SELECT tool_calls FROM sessions WHERE id = '{SESSION}'"
        )),
        2
    );
}

#[test]
fn with_stale_official_figures_the_hook_paces_on_the_calibrated_local_estimate() {
    let sandbox = Sandbox::new();
    // Official figures stopped 40 minutes ago (stale after 15): +20 points
    // over $5 of local use between the two readings, 4 points per dollar.
    store_history(&sandbox, &[(100, 30.0), (40, 50.0)]);
    let now = now_ms();
    let transcript = sandbox.home().join(".claude/projects/-p/s.jsonl");
    std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    let lines: Vec<String> = [("a", 70), ("b", 30), ("c", 10)]
        .iter()
        .map(|(id, minutes_ago)| five_dollar_reply(id, now - minutes_ago * MINUTE_MS))
        .collect();
    std::fs::write(&transcript, lines.join("\n") + "\n").unwrap();
    hook_with_max_delay(&sandbox, 1)
        .success()
        .stdout("")
        .stderr("");
    // $10 since the last reading: 50 + 40 = 90 % two hours into the
    // window, against a target lowered by the 5-point safety margin.
    let recorded = decisions(&sandbox);
    assert_eq!(recorded.len(), 1);
    let decision = &recorded[0];
    assert_eq!(decision.delay_ms, 1000, "{}", decision.reason);
    assert_eq!(decision.window.as_deref(), Some("five_hour"));
    assert_eq!(decision.target, Some(90.0));
    assert!(
        (decision.utilization.unwrap() - 90.0).abs() < 0.5,
        "{:?}",
        decision.utilization
    );
    assert_eq!(
        sandbox.query_i64("SELECT count(*) FROM usage_snapshots WHERE source = 'estimate'"),
        1
    );
    // `status` shows the window from the estimate, with its calibration.
    let status = sandbox
        .command()
        .args(["status", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    let five_hour = &status["windows"]["five_hour"];
    assert_eq!(five_hour["source"], "estimate", "{status:#}");
    assert_eq!(five_hour["target_percent"], 90.0);
    assert!((five_hour["percent"].as_f64().unwrap() - 90.0).abs() < 0.5);
    assert_eq!(status["estimate"]["enabled"], true);
    assert_eq!(status["estimate"]["plan"], "unknown");
    assert_eq!(status["estimate"]["five_hour_calibration_samples"], 1);
    assert!(status["estimate"]["age_s"].as_i64().unwrap() < 60);
    let text = sandbox
        .command()
        .arg("status")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("usage from estimate")
            && text.contains("calibrated on 1 pair of official readings"),
        "{text}"
    );
    // Switched off, the same figures fail open.
    let off = Sandbox::new();
    store_history(&off, &[(100, 30.0), (40, 50.0)]);
    let transcript = off.home().join(".claude/projects/-p/s.jsonl");
    std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    std::fs::write(&transcript, lines.join("\n") + "\n").unwrap();
    off.command()
        .args(["hook", "post-tool-use"])
        .env("PACE_MAKER_PACING_USE_ESTIMATE", "false")
        .write_stdin(post_tool_use())
        .assert()
        .success()
        .stdout("");
    assert_eq!(decisions(&off)[0].delay_ms, 0);
    assert_eq!(
        off.query_i64("SELECT count(*) FROM usage_snapshots WHERE source = 'estimate'"),
        0
    );
}

/// Two other sessions that each called every minute of the last hour and
/// slept `sleep_s` seconds after each call.
fn store_other_sessions(sandbox: &Sandbox, sleep_s: i64) {
    let now = now_ms();
    let mut store = Store::open(&sandbox.store_path(), Duration::from_secs(2)).unwrap();
    store
        .write(|tx| {
            for other in ["other-session-1", "other-session-2"] {
                tx.execute(
                    "INSERT INTO sessions (id, started_at, last_activity_at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![other, now - 60 * MINUTE_MS, now - MINUTE_MS],
                )?;
                for minutes_ago in (1..=60).rev() {
                    tx.execute(
                        "INSERT INTO tool_calls (session_id, at, tool_name, delay_ms)
                         VALUES (?1, ?2, 'Bash', ?3)",
                        rusqlite::params![other, now - minutes_ago * MINUTE_MS, sleep_s * 1000],
                    )?;
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_session_joining_a_paced_account_paces_with_the_others_sleeps() {
    // 10 %/h observed, 30 % two hours in: alone that lands at 60 %.
    let history = [(60, 20.0), (30, 25.0), (0, 30.0)];
    let alone = Sandbox::new();
    store_history(&alone, &history);
    alone
        .hook("post-tool-use", post_tool_use())
        .success()
        .stdout("");
    assert_eq!(decisions(&alone)[0].delay_ms, 0);
    // The same rise, held down by two sessions that slept 50 s of every
    // minute: left alone the account would burn about six times as fast.
    let joined = Sandbox::new();
    store_history(&joined, &history);
    store_other_sessions(&joined, 50);
    hook_with_max_delay(&joined, 1).success().stdout("");
    let recorded = decisions(&joined);
    assert_eq!(recorded[0].delay_ms, 1000);
    assert!(
        recorded[0].reason.starts_with("ahead:"),
        "{}",
        recorded[0].reason
    );
}

/// The first payload of `event` in the captured fixture.
fn payload(event: &str) -> String {
    fixture_lines("hook-inputs-basic.jsonl")
        .into_iter()
        .find(|line| line.contains(&format!("\"hook_event_name\":\"{event}\"")))
        .unwrap_or_else(|| panic!("the fixture has a {event}"))
}

/// Runs `args` with `stdin` at the virtual moment `at_ms` (a test build's
/// injected clock: pacing records its sleeps without taking them).
fn at(sandbox: &Sandbox, at_ms: i64, args: &[&str], stdin: String) {
    sandbox
        .command()
        .args(args)
        .env("PACE_MAKER_TEST_NOW_MS", at_ms.to_string())
        .write_stdin(stdin)
        .assert()
        .success()
        .stderr("");
}

/// A status-line input of the session: the 5-hour window at `five` %
/// resetting at `resets_at_s`, the weekly one at `week` % four days later.
fn statusline_input(five: u32, week: u32, resets_at_s: i64) -> String {
    format!(
        r#"{{"session_id":"{SESSION}","rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{resets_at_s}}},"seven_day":{{"used_percentage":{week},"resets_at":{}}}}}}}"#,
        resets_at_s + 4 * 86_400
    )
}

/// A PostToolUse of the session at the virtual moment `at_ms`.
fn tool_call_at(sandbox: &Sandbox, at_ms: i64) {
    at(sandbox, at_ms, &["hook", "post-tool-use"], post_tool_use());
}

/// A fresh mission on the hook's own path, on a virtual clock: one
/// status-line reading at 45 % with 3 h to the 5-hour reset (pace 38 %),
/// then tool cycles of 3 s of work each. The README's rule: the window
/// burnt 45 % in 2 h, the rate `D`; the rate that lands it on the target
/// is `a = (target - U) / T`; each cycle is stretched by `D / a`, so the
/// delay is `3 s * (D / a - 1)`, about 1 s. Every decision of the first
/// quarter hour is within 2x of that (before, the session's own first
/// sleeps were read as the whole span's sleep share and the delays ran
/// 10-20x too long), and none is the maximum delay.
#[test]
fn a_fresh_mission_slightly_ahead_is_slowed_just_enough() {
    // Claude Code re-sends the status line's last figures after each reply:
    // the same 45 %, read again and again. Both ways must hold.
    for refreshed in [false, true] {
        fresh_mission(refreshed);
    }
}

fn fresh_mission(refreshed: bool) {
    const WORK_MS: i64 = 3000;
    let sandbox = Sandbox::new();
    let start = now_ms() / 1000 * 1000;
    let resets_at_s = start / 1000 + 3 * 3600;
    let statusline = format!(
        r#"{{"session_id":"{SESSION}","model":{{"id":"claude-opus-4-5"}},"rate_limits":{{"five_hour":{{"used_percentage":45,"resets_at":{resets_at_s}}},"seven_day":{{"used_percentage":10,"resets_at":{}}}}}}}"#,
        resets_at_s + 4 * 86_400
    );
    at(&sandbox, start, &["statusline"], statusline.clone());
    at(
        &sandbox,
        start,
        &["hook", "session-start"],
        payload("SessionStart"),
    );
    at(
        &sandbox,
        start,
        &["hook", "user-prompt-submit"],
        payload("UserPromptSubmit"),
    );

    let burnt_per_ms = 45.0 / (2.0 * 60.0 * MINUTE_MS as f64);
    let mut now = start + WORK_MS;
    let mut checked = 0;
    while now < start + 15 * MINUTE_MS {
        if refreshed && checked > 0 {
            at(&sandbox, now - 1000, &["statusline"], statusline.clone());
        }
        at(&sandbox, now, &["hook", "post-tool-use"], post_tool_use());
        let decision = decisions(&sandbox).pop().expect("a decision");
        let utilization = decision.utilization.expect("a window decided");
        let target = decision.target.expect("a target");
        let left_ms = (resets_at_s * 1000 - now) as f64;
        let allowed_per_ms = (target - utilization) / left_ms;
        let rule_ms = WORK_MS as f64 * (burnt_per_ms / allowed_per_ms - 1.0);
        assert!(
            (rule_ms / 2.0..=rule_ms * 2.0).contains(&(decision.delay_ms as f64)),
            "refreshed {refreshed}, decision {checked} at +{} s: {} ms where the rule gives {rule_ms:.0} ms ({})",
            (now - start) / 1000,
            decision.delay_ms,
            decision.reason
        );
        assert!(decision.delay_ms < 240_000, "never the maximum delay");
        checked += 1;
        now += decision.delay_ms + WORK_MS;
    }
    assert!(checked > 150, "{checked} decisions in a quarter hour");
}

/// The simulator decides through the hook's own path: for the same store
/// and the same clock, `simulate`'s pace-maker and `hook post-tool-use`
/// decide the same delay, call after call of a mission ahead of pace.
#[test]
fn the_simulator_and_the_hook_decide_the_same_delay_on_the_same_store() {
    use pace_maker::event::SessionContext;
    use pace_maker::simulate::policies::{HookSide, PaceMaker, Pacer, View};

    let sandbox = Sandbox::new();
    let start = now_ms() / 1000 * 1000;
    let resets_at_s = start / 1000 + 2 * 3600;
    let statusline = statusline_input(70, 30, resets_at_s);
    at(&sandbox, start, &["statusline"], statusline);
    at(
        &sandbox,
        start,
        &["hook", "session-start"],
        payload("SessionStart"),
    );
    at(
        &sandbox,
        start,
        &["hook", "user-prompt-submit"],
        payload("UserPromptSubmit"),
    );
    let input: serde_json::Value = serde_json::from_str(&post_tool_use()).unwrap();
    let duration_ms = input["duration_ms"].as_u64();
    let session = SessionContext {
        session_id: SESSION.to_string(),
        transcript_path: Default::default(),
        cwd: Default::default(),
        project_dir: Default::default(),
    };
    let copy = sandbox.dir.path().join("copy.db");
    let mut now = start + 20_000;
    let mut delays = Vec::new();
    // The simulator keeps the session's no-delay pass in memory, the hook
    // in its tool home.
    let mut passes = std::collections::HashMap::new();
    for _ in 0..12 {
        // The simulator, on a copy of the store as it stands.
        let _ = std::fs::remove_file(&copy);
        {
            let store = Store::open(&sandbox.store_path(), Duration::from_secs(2)).unwrap();
            store
                .connection()
                .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
                .unwrap();
        }
        let mut store = Store::open(&copy, Duration::from_secs(2)).unwrap();
        store
            .write(|transaction| {
                pace_maker::sessions::record_tool_call(
                    transaction,
                    &session,
                    "Bash",
                    duration_ms,
                    now,
                )
            })
            .unwrap();
        let mut view = View {
            now_ms: now,
            session: 0,
            session_id: SESSION,
            snapshots: &[],
            calls: &[],
            other_sessions: &[],
            tool_duration_ms: duration_ms.unwrap_or(0) as i64,
            cache_ttl_seconds: 300,
            hook: Some(HookSide {
                store: &mut store,
                local: &[],
                weekly_per_unit: 0.05,
                estimate_error: 0.0,
                estimate: false,
                passes: &mut passes,
                poll_due_ms: None,
            }),
        };
        let simulated = PaceMaker::default().delay_ms(&mut view);
        // The hook, on the store itself, at the same moment.
        at(&sandbox, now, &["hook", "post-tool-use"], post_tool_use());
        let hook = decisions(&sandbox).pop().expect("a decision").delay_ms;
        assert_eq!(simulated, hook, "at +{} s", (now - start) / 1000);
        delays.push(hook);
        now += hook + 20_000;
    }
    assert!(
        delays.iter().any(|&delay| delay > 0),
        "the mission is ahead of pace: {delays:?}"
    );
}

/// The tool home's fast folder: passes and spooled calls.
fn fast_files(sandbox: &Sandbox, prefix: &str) -> Vec<String> {
    std::fs::read_dir(sandbox.tool_home().join("fast"))
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Tool calls in the store as it stands, without filing the spool.
fn calls_in_store(sandbox: &Sandbox) -> i64 {
    rusqlite::Connection::open(sandbox.store_path())
        .unwrap()
        .query_row("SELECT count(*) FROM tool_calls", [], |row| row.get(0))
        .unwrap()
}

/// A session far under its targets (10 % with 4 h to the 5-hour reset),
/// and its first tool call, one second in: the decision that grants the
/// pass. Returns the sandbox and the session's start.
fn a_session_well_under() -> (Sandbox, i64) {
    let sandbox = Sandbox::new();
    let start = now_ms() / 1000 * 1000;
    let resets_at_s = start / 1000 + 4 * 3600;
    at(
        &sandbox,
        start,
        &["statusline"],
        statusline_input(10, 10, resets_at_s),
    );
    at(
        &sandbox,
        start,
        &["hook", "session-start"],
        payload("SessionStart"),
    );
    tool_call_at(&sandbox, start + 1000);
    (sandbox, start)
}

/// Well under every target, a decision grants the session a minute's
/// pass: the calls of that minute go to the spool, not the store, and the
/// next reader (here `status`) files them with their decision.
#[test]
fn under_a_pass_calls_are_spooled_and_the_next_reader_files_them() {
    let (sandbox, start) = a_session_well_under();
    assert_eq!(calls_in_store(&sandbox), 1, "the first call decides");
    assert_eq!(fast_files(&sandbox, "pass-").len(), 1, "and grants a pass");
    for second in [5, 20, 60] {
        tool_call_at(&sandbox, start + second * 1000);
    }
    assert_eq!(calls_in_store(&sandbox), 1, "the store was not written");
    assert_eq!(
        fast_files(&sandbox, "call-").len(),
        3,
        "three calls spooled"
    );

    let status = sandbox
        .command()
        .args(["status", "--json"])
        .env("PACE_MAKER_TEST_NOW_MS", (start + 61_000).to_string())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    let session = status["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["id"] == SESSION)
        .expect("the session");
    assert_eq!(session["tool_calls"], 4, "status sees every call");
    assert!(
        fast_files(&sandbox, "call-").is_empty(),
        "the spool is filed"
    );
    let decided = decisions(&sandbox);
    assert_eq!(decided.len(), 4, "one decision per call");
    assert!(decided.iter().all(|decision| decision.delay_ms == 0));
    for decision in &decided[1..] {
        assert!(decision.reason.contains("pass"), "{}", decision.reason);
        assert_eq!(decision.window.as_deref(), decided[0].window.as_deref());
    }
}

/// A pass lasts a minute; other pacing settings do not take it; a change
/// of the switch ends every pass; a decision ahead of pace grants none.
#[test]
fn a_pass_ends_with_its_minute_other_settings_the_switch_or_a_delay() {
    let (sandbox, start) = a_session_well_under();
    // Past the minute: the full path decides (and grants a new pass).
    tool_call_at(&sandbox, start + 61_000);
    assert_eq!(calls_in_store(&sandbox), 2);
    // Other pacing settings: the full path.
    sandbox
        .command()
        .args(["hook", "post-tool-use"])
        .env("PACE_MAKER_TEST_NOW_MS", (start + 62_000).to_string())
        .env("PACE_MAKER_PACING_TARGET_PERCENT", "90")
        .write_stdin(post_tool_use())
        .assert()
        .success()
        .stderr("");
    assert_eq!(calls_in_store(&sandbox), 3);
    assert!(fast_files(&sandbox, "call-").is_empty());
    // The switch: every pass ends.
    assert_eq!(fast_files(&sandbox, "pass-").len(), 1);
    at(&sandbox, start + 63_000, &["pause", "10m"], String::new());
    assert!(
        fast_files(&sandbox, "pass-").is_empty(),
        "pause ends the pass"
    );
    at(&sandbox, start + 64_000, &["resume"], String::new());
    tool_call_at(&sandbox, start + 65_000);
    assert_eq!(
        calls_in_store(&sandbox),
        4,
        "no pass after the switch moved"
    );
    assert_eq!(fast_files(&sandbox, "pass-").len(), 1);
    at(&sandbox, start + 66_000, &["off"], String::new());
    assert!(
        fast_files(&sandbox, "pass-").is_empty(),
        "off ends the pass"
    );
    at(&sandbox, start + 67_000, &["on"], String::new());

    // Ahead of pace: no pass, and the one held is removed.
    tool_call_at(&sandbox, start + 68_000);
    assert_eq!(fast_files(&sandbox, "pass-").len(), 1);
    let resets_at_s = start / 1000 + 2 * 3600;
    let ahead = statusline_input(80, 30, resets_at_s);
    at(&sandbox, start + 129_000, &["statusline"], ahead);
    tool_call_at(&sandbox, start + 130_000);
    let last = decisions(&sandbox).pop().unwrap();
    assert!(last.delay_ms > 0, "ahead of pace: {}", last.reason);
    assert!(
        fast_files(&sandbox, "pass-").is_empty(),
        "no pass ahead of pace"
    );
}
