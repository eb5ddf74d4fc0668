//! `cargo bench --bench status`: `pace-maker status` and `status --json`
//! with 60 days of history in the store (target: median under 20 ms).
//!
//! The store is filled the way a busy user's would be after two months:
//! a status-line reading every 3 minutes and an API reading every 5 (both
//! windows, resets moving on), a local estimate every 5 minutes, about ten
//! sessions a day with some 1,500 tool calls, one pacing decision per tool
//! call (a fifth of them with a delay) and the hook events. Each command is
//! spawned as a person would run it (a fresh process: start, config, store,
//! queries, output), interleaved with `/bin/true` so machine noise hits all
//! alike, and the medians are printed.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use pace_maker::store::Store;
use rand::{Rng, SeedableRng};
use rusqlite::params;
use support::{median, milliseconds, percentile, run_timed};

const RUNS: usize = 200;
const DAYS: i64 = 60;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Counts of what was written.
#[derive(Debug, Default)]
struct Filled {
    snapshots: usize,
    sessions: usize,
    tool_calls: usize,
    decisions: usize,
    hook_events: usize,
}

fn fill(store: &mut Store, now_ms: i64) -> Filled {
    let mut random = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let start = now_ms - DAYS * DAY_MS;
    let mut filled = Filled::default();
    store
        .write(|tx| {
            let mut snapshot = tx.prepare(
                "INSERT INTO usage_snapshots (source, taken_at, five_hour_percent, five_hour_resets_at,
                    seven_day_percent, seven_day_resets_at, raw_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            // Readings: the 5-hour window restarts every 5 h, the weekly every 7 days.
            let reading = |at: i64| {
                let five_start = at - (at - start).rem_euclid(5 * HOUR_MS);
                let seven_start = at - (at - start).rem_euclid(7 * DAY_MS);
                let five = ((at - five_start) as f64 / (5 * HOUR_MS) as f64 * 90.0).min(100.0);
                let seven = ((at - seven_start) as f64 / (7 * DAY_MS) as f64 * 85.0).min(100.0);
                (
                    five,
                    (five_start + 5 * HOUR_MS) / 1000,
                    seven,
                    (seven_start + 7 * DAY_MS) / 1000,
                )
            };
            for (source, every_ms, offset_ms) in [
                ("statusline", 3 * MINUTE_MS, 0),
                ("api", 5 * MINUTE_MS, 17_000),
                ("estimate", 5 * MINUTE_MS, 43_000),
            ] {
                let mut at = start + offset_ms;
                while at < now_ms {
                    let (five, five_reset, seven, seven_reset) = reading(at);
                    let raw = format!(
                        r#"{{"five_hour":{{"used_percentage":{five:.1},"resets_at":{five_reset}}},"seven_day":{{"used_percentage":{seven:.1},"resets_at":{seven_reset}}}}}"#
                    );
                    snapshot.execute(params![source, at, five, five_reset, seven, seven_reset, raw])?;
                    filled.snapshots += 1;
                    at += every_ms;
                }
            }
            let mut session = tx.prepare(
                "INSERT INTO sessions (id, project_dir, transcript_path, started_at, last_activity_at,
                    ended_at, end_reason, tool_calls, tool_time_ms, delay_ms_total, momentum_blocks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut tool_call = tx.prepare(
                "INSERT INTO tool_calls (session_id, at, tool_name, duration_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut decision = tx.prepare(
                "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window, utilization,
                    projected_percent, target_percent, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 95.0, ?7)",
            )?;
            let mut hook_event = tx.prepare(
                "INSERT INTO hook_events (session_id, event, at) VALUES (?1, ?2, ?3)",
            )?;
            let tools = ["Bash", "Read", "Edit", "Grep", "Write", "Glob"];
            let mut day_start = start;
            let mut number = 0;
            while day_start < now_ms {
                for _ in 0..10 {
                    number += 1;
                    let id = format!("{number:08x}-4f1c-4a8e-9b7d-{number:012x}");
                    let project = format!("/home/dev/project-{}", number % 7);
                    let session_start = day_start + random.gen_range(0..20 * HOUR_MS);
                    let calls: i64 = random.gen_range(50..250);
                    let mut at = session_start;
                    let mut delay_total = 0;
                    for call in 0..calls {
                        at += random.gen_range(5_000..90_000);
                        if at >= now_ms {
                            break;
                        }
                        let (five, ..) = reading(at);
                        let delay = if call % 5 == 0 { random.gen_range(1_000..120_000) } else { 0 };
                        delay_total += delay;
                        tool_call.execute(params![id, at, tools[call as usize % tools.len()], random.gen_range(20..4_000)])?;
                        decision.execute(params![
                            id,
                            at,
                            delay,
                            "five_hour",
                            five,
                            five * 1.2,
                            if delay > 0 { "5-hour ahead of pace" } else { "on pace" }
                        ])?;
                        hook_event.execute(params![id, "post-tool-use", at])?;
                        filled.tool_calls += 1;
                        filled.decisions += 1;
                        filled.hook_events += 1;
                    }
                    let ended = if at < now_ms - HOUR_MS { Some(at) } else { None };
                    session.execute(params![
                        id,
                        project,
                        format!("/home/dev/.claude/projects/{id}.jsonl"),
                        session_start,
                        at.min(now_ms),
                        ended,
                        ended.map(|_| "other"),
                        calls,
                        calls * 900,
                        delay_total,
                        random.gen_range(0..4)
                    ])?;
                    filled.sessions += 1;
                }
                day_start += DAY_MS;
            }
            tx.execute(
                "UPDATE api_state SET state = 'ok', last_attempt_at = ?1, last_success_at = ?1 WHERE id = 1",
                [now_ms - 2 * MINUTE_MS],
            )?;
            Ok(())
        })
        .expect("fill the store");
    filled
}

fn spawn_once(program: &str, args: &[&str], envs: &[(&str, &std::path::Path)]) -> Duration {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .env("TZ", "UTC");
    run_timed(&mut command, b"").0
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_pace-maker");
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let tool_home = dir.path().join("tool-home");
    let now_ms = pace_maker::clock::now_ms();
    let mut store =
        Store::open(&tool_home.join("pace-maker.db"), Duration::from_secs(5)).expect("store");
    let fill_start = Instant::now();
    let filled = fill(&mut store, now_ms);
    drop(store);
    let size = std::fs::metadata(tool_home.join("pace-maker.db"))
        .map(|meta| meta.len())
        .unwrap_or(0);
    println!(
        "store: {DAYS} days, {} snapshots, {} sessions, {} tool calls, {} decisions, {} hook events, {:.1} MB (filled in {:.1} s)",
        filled.snapshots,
        filled.sessions,
        filled.tool_calls,
        filled.decisions,
        filled.hook_events,
        size as f64 / 1e6,
        fill_start.elapsed().as_secs_f64()
    );
    let envs = [
        ("HOME", home.as_path()),
        ("PACE_MAKER_HOME", tool_home.as_path()),
    ];
    for _ in 0..10 {
        spawn_once(binary, &["status"], &envs);
        spawn_once(binary, &["status", "--json"], &envs);
    }
    let (mut text, mut json, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        text.push(spawn_once(binary, &["status"], &envs));
        json.push(spawn_once(binary, &["status", "--json"], &envs));
        baseline.push(spawn_once("/bin/true", &[], &envs));
    }
    println!("runs: {RUNS} each, interleaved");
    for (name, samples) in [
        ("/bin/true", baseline),
        ("pace-maker status", text),
        ("pace-maker status --json", json),
    ] {
        println!(
            "{name:<26} median {:>7.3} ms  p90 {:>7.3} ms",
            milliseconds(median(&samples)),
            milliseconds(percentile(&samples, 0.9))
        );
    }
}
