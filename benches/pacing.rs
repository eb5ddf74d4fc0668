//! `cargo bench --bench pacing`: what pacing costs on the hot path, and how
//! long the simulator takes.
//!
//! 1. The pure policy on a dense day of history (a status-line reading
//!    every 30 s, an API reading every 5 min, an estimate every minute,
//!    and a tool call every 40 s, in this session and in two others): the
//!    median of many calls.
//! 2. The whole `pace-maker hook post-tool-use` process on a store holding
//!    that day, with pacing on (the history is on pace, so no sleep) and
//!    with pacing off: the difference is what pacing adds to a tool call.
//!    The session's no-delay pass is removed before each paced spawn
//!    (untimed), so every paced hook decides.
//! 3. `simulate --compare` over every built-in scenario, in process.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use pace_maker::pacing::policy::{self, PacingSettings, PolicyInput, ToolCall};
use pace_maker::simulate::{self, policies::POLICY_NAMES, scenario};
use pace_maker::store::Store;
use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};
use support::{median, milliseconds, percentile, post_tool_use_payload, run_timed};

const SESSION: &str = "d095304d-895a-4782-9633-22c1acc3ecef";
/// Two more sessions on the account, calling as often.
const OTHERS: [&str; 2] = ["other-session-1", "other-session-2"];
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// A day of readings ending at `now`, on pace (10 %/h in the 5-hour
/// window, which resets in 3 h), oldest first.
fn dense_day(now: i64) -> Vec<UsageSnapshot> {
    let five_reset = (now + 3 * HOUR) / 1000;
    let week_reset = (now + 4 * 24 * HOUR) / 1000;
    let mut snapshots = Vec::new();
    let mut at = now - 24 * HOUR;
    let mut step = 0u64;
    while at <= now {
        let since_window = (at - (now - 2 * HOUR)).max(0) as f64 / HOUR as f64;
        let percent = if at < now - 2 * HOUR {
            50.0
        } else {
            (10.0 * since_window).floor()
        };
        let reading = |source| UsageSnapshot {
            source,
            taken_at_ms: at,
            five_hour: Some(WindowReading {
                percent,
                resets_at_s: Some(if at < now - 2 * HOUR {
                    (now - 2 * HOUR) / 1000
                } else {
                    five_reset
                }),
            }),
            seven_day: Some(WindowReading {
                percent: 20.0 + (at - (now - 24 * HOUR)) as f64 / HOUR as f64 * 0.2,
                resets_at_s: Some(week_reset),
            }),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        snapshots.push(reading(SnapshotSource::Statusline));
        if step.is_multiple_of(10) {
            snapshots.push(reading(SnapshotSource::Api));
        }
        if step.is_multiple_of(2) {
            snapshots.push(reading(SnapshotSource::Estimate));
        }
        at += 30_000;
        step += 1;
    }
    snapshots
}

fn day_of_calls(now: i64) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let mut at = now - 24 * HOUR;
    while at < now {
        calls.push(ToolCall {
            at_ms: at,
            delay_ms: 5000,
        });
        at += 40_000;
    }
    calls.push(ToolCall {
        at_ms: now,
        delay_ms: 0,
    });
    calls
}

fn bench_policy() {
    let now = pace_maker::clock::now_ms();
    let snapshots = dense_day(now);
    let calls = day_of_calls(now);
    let settings = PacingSettings::default();
    let recent = &calls[calls.partition_point(|call| call.at_ms < now - HOUR)..];
    let others = [recent, recent];
    let input = PolicyInput {
        now_ms: now,
        snapshots: &snapshots,
        calls: &calls,
        other_sessions: &others,
        tool_duration_ms: Some(1000),
        cache_ttl_seconds: 300,
        settings: &settings,
    };
    for _ in 0..100 {
        std::hint::black_box(policy::decide(&input));
    }
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let start = Instant::now();
        std::hint::black_box(policy::decide(std::hint::black_box(&input)));
        samples.push(start.elapsed());
    }
    println!(
        "policy::decide, {} snapshots, {} calls and 2 x {} of other sessions: median {:.1} µs, p90 {:.1} µs",
        snapshots.len(),
        calls.len(),
        recent.len(),
        median(&samples).as_secs_f64() * 1e6,
        percentile(&samples, 0.9).as_secs_f64() * 1e6
    );
}

fn spawn_hook(binary: &str, payload: &[u8], envs: &[(&str, &str)]) -> Duration {
    let (elapsed, stdout) = run_timed(
        Command::new(binary)
            .args(["hook", "post-tool-use"])
            .envs(envs.iter().copied()),
        payload,
    );
    assert!(stdout.is_empty(), "the hook printed (a sleep?)");
    elapsed
}

fn bench_hook() {
    let binary = env!("CARGO_BIN_EXE_pace-maker");
    let payload = post_tool_use_payload();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let tool_home = dir.path().join("tool-home");
    let now = pace_maker::clock::now_ms();
    {
        let mut store =
            Store::open(&tool_home.join("pace-maker.db"), Duration::from_secs(5)).expect("store");
        let snapshots = dense_day(now);
        let calls = day_of_calls(now - 1000);
        store
            .write(|transaction| {
                for reading in &snapshots {
                    snapshot::insert(transaction, reading)?;
                }
                for call in &calls[..calls.len() - 1] {
                    for session in std::iter::once(SESSION).chain(OTHERS) {
                        transaction.execute(
                            "INSERT INTO tool_calls (session_id, at, tool_name, delay_ms)
                             VALUES (?1, ?2, 'Bash', ?3)",
                            rusqlite::params![session, call.at_ms, call.delay_ms],
                        )?;
                    }
                    transaction.execute(
                        "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, reason)
                         VALUES (?1, ?2, ?3, 'bench')",
                        rusqlite::params![SESSION, call.at_ms, call.delay_ms],
                    )?;
                }
                Ok(())
            })
            .expect("fill the store");
    }
    let home = home.to_str().expect("utf-8 path");
    let tool_home = tool_home.to_str().expect("utf-8 path");
    // No usage API poll: the status line is fresh, and the base is loopback.
    let base = [
        ("HOME", home),
        ("PACE_MAKER_HOME", tool_home),
        ("PACE_MAKER_API_BASE", "http://127.0.0.1:9"),
    ];
    let paced: Vec<(&str, &str)> = base.to_vec();
    let mut unpaced: Vec<(&str, &str)> = base.to_vec();
    unpaced.push(("PACE_MAKER_PACING_ENABLED", "false"));
    let fast_dir = std::path::Path::new(tool_home).join(pace_maker::paths::FAST_FOLDER);
    let deciding = || {
        let _ = std::fs::remove_dir_all(&fast_dir);
        spawn_hook(binary, &payload, &paced)
    };
    for _ in 0..10 {
        deciding();
        spawn_hook(binary, &payload, &unpaced);
    }
    let runs = 200;
    let (mut on, mut off) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        on.push(deciding());
        off.push(spawn_hook(binary, &payload, &unpaced));
    }
    let (on_median, off_median) = (median(&on), median(&off));
    println!("hook post-tool-use on a store with a dense day ({runs} runs each, interleaved):");
    println!(
        "  pacing on   median {:.2} ms  p90 {:.2} ms",
        milliseconds(on_median),
        milliseconds(percentile(&on, 0.9))
    );
    println!(
        "  pacing off  median {:.2} ms  p90 {:.2} ms",
        milliseconds(off_median),
        milliseconds(percentile(&off, 0.9))
    );
    println!(
        "  pacing adds {:.2} ms (median difference)",
        milliseconds(on_median) - milliseconds(off_median)
    );
}

fn bench_simulate() {
    let scenarios = scenario::built_in();
    let mut samples = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        for scenario in &scenarios {
            std::hint::black_box(simulate::simulate(scenario, &POLICY_NAMES).expect("runs"));
        }
        samples.push(start.elapsed());
    }
    println!(
        "simulate --compare ({} scenarios x {} policies): median {:.1} ms",
        scenarios.len(),
        POLICY_NAMES.len(),
        milliseconds(median(&samples))
    );
}

fn main() {
    bench_policy();
    bench_simulate();
    bench_hook();
}
