//! Load: 32 Claude Code sessions at once, 500 hook calls each, of every
//! event kind, through the built binary, while `status` (two processes in
//! a loop) and `watch`'s data path (one store kept open, the dashboard
//! gathered in a loop) read the store over and over. Proves what a busy machine needs from the store and the
//! hooks: no update lost (exact counts per session and event), no "database
//! is locked" or any other error surfacing (exit 0, silent, logs clean),
//! every hook inside its configured deadline, and memory flat from the
//! first call to the last. The figures (latency quantiles, peak memory)
//! are printed for the record; run with `--nocapture` to see them.
//!
//! Pacing stays on but never sleeps here: there is no usage snapshot, so
//! every PostToolUse records a zero-delay "no data" decision (counted
//! too). No credentials exist, so no request is ever attempted.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::measured::{self, quantile, Measured};
use crate::support::{self, fixture_lines, kebab, refused_url, Sandbox};
use pace_maker::dashboard::data;
use pace_maker::store::Store;

const SESSIONS: usize = 32;
const CALLS_PER_SESSION: usize = 500;
/// The PostToolUse hook's configured timeout (`hooks.post_tool_use_timeout_seconds`).
const POST_TOOL_USE_DEADLINE: Duration = Duration::from_secs(300);
/// Every other hook's (`hooks.other_timeout_seconds`).
const OTHER_DEADLINE: Duration = Duration::from_secs(10);
/// A hook process's peak memory may not pass this.
const MAX_RSS_KIB: i64 = 64 * 1024;

/// The captured payload of each event, by kebab-case name.
fn payloads() -> BTreeMap<String, serde_json::Value> {
    fixture_lines("hook-inputs-basic.jsonl")
        .into_iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(&line).unwrap())
        .map(|value| (kebab(value["hook_event_name"].as_str().unwrap()), value))
        .collect()
}

/// One session's calls: start, then cycles of a prompt, eight tool calls
/// and a stop, then the end.
fn plan() -> Vec<&'static str> {
    let cycle = [
        "user-prompt-submit",
        "post-tool-use",
        "post-tool-use",
        "post-tool-use",
        "post-tool-use",
        "post-tool-use",
        "post-tool-use",
        "post-tool-use",
        "post-tool-use",
        "stop",
    ];
    let mut plan = vec!["session-start"];
    plan.extend(cycle.iter().cycle().take(CALLS_PER_SESSION - 2));
    plan.push("session-end");
    plan
}

fn session_id(index: usize) -> String {
    format!("10ad{index:04x}-0000-4000-8000-{index:012x}")
}

struct Call {
    event: &'static str,
    measured: Measured,
}

fn hook_command(sandbox: &Sandbox, event: &str) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("pace-maker"));
    command
        .args(["hook", event])
        .env_clear()
        .envs(support::clock_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("PACE_MAKER_HOME", sandbox.tool_home())
        .env("CLAUDE_CONFIG_DIR", sandbox.home().join(".claude"))
        // Never contacted (no credentials); a closed loopback port if it were.
        .env("PACE_MAKER_API_BASE", refused_url())
        .current_dir(sandbox.dir.path());
    command
}

/// Set in the test process the load test runs itself in.
const LOAD_CHILD: &str = "PACE_MAKER_TEST_LOAD_CHILD";

/// The load test runs in a test process of its own: this binary again,
/// with only this test. A hook's peak memory as `wait4` reports it starts
/// from the peak of the process that spawned it (at exec the kernel
/// carries over the address space the child was forked or vforked with),
/// and this binary runs every other test alongside, so their memory would
/// count against the hooks' bound.
#[test]
fn thirty_two_sessions_of_five_hundred_mixed_hook_calls_lose_nothing_while_status_and_watch_read() {
    if std::env::var_os(LOAD_CHILD).is_none() {
        let name = "load::thirty_two_sessions_of_five_hundred_mixed_hook_calls_lose_nothing_while_status_and_watch_read";
        let output = Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(LOAD_CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprint!("{stderr}");
        assert!(
            output.status.success() && stdout.contains("test result: ok. 1 passed"),
            "the load test in its own process: {}\n{stdout}{stderr}",
            output.status
        );
        return;
    }
    load_in_this_process();
}

fn load_in_this_process() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.home().join(".claude")).unwrap();
    let payloads = Arc::new(payloads());
    let plan = plan();
    let started = Instant::now();

    let writers_done = Arc::new(AtomicBool::new(false));
    let status_runs = Arc::new(AtomicUsize::new(0));
    let status_failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let done = Arc::clone(&writers_done);
            let runs = Arc::clone(&status_runs);
            let failures = Arc::clone(&status_failures);
            let home = sandbox.home();
            let tool_home = sandbox.tool_home();
            std::thread::spawn(move || {
                // Tool calls per session as last seen: a reader must never see one shrink.
                let mut seen: BTreeMap<String, i64> = BTreeMap::new();
                while !done.load(Ordering::Relaxed) {
                    // A person's refresh rate, give or take: the hooks get the CPU.
                    std::thread::sleep(Duration::from_millis(20));
                    let mut status = Command::new(assert_cmd::cargo::cargo_bin("pace-maker"));
                    status
                        .args(["status", "--json"])
                        .env_clear()
                        .envs(support::clock_env())
                        .env("HOME", &home)
                        .env("PACE_MAKER_HOME", &tool_home);
                    let result = measured::run(&mut status, b"");
                    runs.fetch_add(1, Ordering::Relaxed);
                    if !result.succeeded() || !result.stderr.is_empty() {
                        failures.lock().unwrap().push(format!(
                            "status {:?}: {}",
                            result.ended,
                            result.stderr_text()
                        ));
                        continue;
                    }
                    let report: serde_json::Value = match serde_json::from_slice(&result.stdout) {
                        Ok(report) => report,
                        Err(error) => {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("status JSON: {error}"));
                            continue;
                        }
                    };
                    for session in report["sessions"].as_array().into_iter().flatten() {
                        let id = session["id"].as_str().unwrap_or_default().to_string();
                        let calls = session["tool_calls"].as_i64().unwrap_or(-1);
                        let before = seen.insert(id.clone(), calls).unwrap_or(0);
                        if calls < before {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{id}: tool calls went from {before} to {calls}"));
                        }
                    }
                }
            })
        })
        .collect();

    // `watch`'s data path, as watch runs it: one store kept open for the
    // whole run, the dashboard gathered over and over.
    let watch_gathers = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let done = Arc::clone(&writers_done);
        let gathers = Arc::clone(&watch_gathers);
        let failures = Arc::clone(&status_failures);
        let path = sandbox.store_path();
        std::thread::spawn(move || {
            let config = pace_maker::config::Config::default();
            let store = loop {
                // The first hook creates the store.
                match path.exists() {
                    true => break Store::open(&path, Duration::from_millis(2000)).unwrap(),
                    false => std::thread::sleep(Duration::from_millis(10)),
                }
            };
            let options = data::GatherOptions { chart: true };
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                let gathered = data::gather(
                    store.connection(),
                    &config,
                    pace_maker::clock::now_ms(),
                    &jiff::tz::TimeZone::UTC,
                    options,
                );
                gathers.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = gathered {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("watch data: {error}"));
                }
            }
        })
    };

    let writers: Vec<_> = (0..SESSIONS)
        .map(|index| {
            let payloads = Arc::clone(&payloads);
            let plan = plan.clone();
            let commands: Vec<Command> = plan
                .iter()
                .map(|event| hook_command(&sandbox, event))
                .collect();
            std::thread::spawn(move || {
                let id = session_id(index);
                let mut calls = Vec::with_capacity(plan.len());
                for (event, mut command) in plan.into_iter().zip(commands) {
                    let mut payload = payloads[event].clone();
                    payload["session_id"] = serde_json::Value::String(id.clone());
                    let bytes = serde_json::to_vec(&payload).unwrap();
                    let measured = measured::run(&mut command, &bytes);
                    calls.push(Call { event, measured });
                }
                calls
            })
        })
        .collect();
    let calls: Vec<Vec<Call>> = writers
        .into_iter()
        .map(|writer| writer.join().expect("a session thread panicked"))
        .collect();
    writers_done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("a status reader panicked");
    }
    watcher.join().expect("the watch reader panicked");
    let watch_gathers = watch_gathers.load(Ordering::Relaxed);
    assert!(watch_gathers > 0, "watch's data was never gathered");
    let elapsed = started.elapsed();

    // Every hook: exit 0, silent, inside its deadline, memory bounded.
    let mut walls = Vec::new();
    let mut rss: Vec<i64> = Vec::new();
    for (index, session) in calls.iter().enumerate() {
        for (number, call) in session.iter().enumerate() {
            let what = format!("session {index} call {number} ({})", call.event);
            call.measured.assert_quiet_success(&what);
            let deadline = if call.event == "post-tool-use" {
                POST_TOOL_USE_DEADLINE
            } else {
                OTHER_DEADLINE
            };
            assert!(
                call.measured.wall < deadline,
                "{what} took {:?}",
                call.measured.wall
            );
            assert!(
                call.measured.max_rss_kib <= MAX_RSS_KIB,
                "{what} peaked at {} KiB",
                call.measured.max_rss_kib
            );
            walls.push(call.measured.wall);
        }
    }
    // Memory is flat: the last calls of each session peak no higher than
    // its first ones (beyond allocator noise), though the store grew
    // from empty to thousands of rows meanwhile.
    let window = 50;
    let early: i64 = calls
        .iter()
        .flat_map(|session| &session[..window])
        .map(|call| call.measured.max_rss_kib)
        .max()
        .unwrap();
    let late: i64 = calls
        .iter()
        .flat_map(|session| &session[session.len() - window..])
        .map(|call| call.measured.max_rss_kib)
        .max()
        .unwrap();
    rss.extend(calls.iter().flatten().map(|call| call.measured.max_rss_kib));
    // SQLite's page cache (2 MB by default) fills as the store grows;
    // anything beyond that and allocator noise would be a leak.
    assert!(
        late <= early + 8 * 1024,
        "memory grew: the first calls peaked at {early} KiB, the last at {late} KiB"
    );

    let failures = status_failures.lock().unwrap();
    assert!(failures.is_empty(), "status failed: {failures:?}");
    let status_runs = status_runs.load(Ordering::Relaxed);
    assert!(status_runs > 0, "status never ran during the load");

    // Exact counts: nothing lost, nothing doubled.
    let expected = |event: &str| plan.iter().filter(|planned| **planned == event).count() as i64;
    let posts = expected("post-tool-use");
    let store = sandbox.store();
    for index in 0..SESSIONS {
        let id = session_id(index);
        for event in [
            "session-start",
            "user-prompt-submit",
            "post-tool-use",
            "stop",
            "session-end",
        ] {
            let count: i64 = store
                .query_row(
                    "SELECT count(*) FROM hook_events WHERE session_id = ?1 AND event = ?2",
                    [&id, event],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(count, expected(event), "{id} {event}");
        }
        let (tool_calls, delay_total, ended, reason): (i64, i64, Option<i64>, Option<String>) = store
            .query_row(
                "SELECT tool_calls, delay_ms_total, ended_at, end_reason FROM sessions WHERE id = ?1",
                [&id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .unwrap();
        assert_eq!(tool_calls, posts, "{id} tool_calls");
        assert_eq!(delay_total, 0, "{id} slept");
        assert!(ended.is_some(), "{id} was not ended");
        assert_eq!(reason.as_deref(), Some("other"), "{id} end reason");
        let rows = |table: &str| -> i64 {
            store
                .query_row(
                    &format!("SELECT count(*) FROM {table} WHERE session_id = ?1"),
                    [&id],
                    |row| row.get(0),
                )
                .unwrap()
        };
        assert_eq!(rows("tool_calls"), posts, "{id} tool_calls rows");
        assert_eq!(rows("pacing_decisions"), posts, "{id} pacing decisions");
    }
    let total: i64 = store
        .query_row("SELECT count(*) FROM hook_events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(total, (SESSIONS * CALLS_PER_SESSION) as i64);
    let integrity: String = store
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    // Logs clean: no warning or error of any kind, no lock message.
    let bad: Vec<String> = sandbox
        .log_lines()
        .into_iter()
        .filter(|line| {
            line.contains("WARN")
                || line.contains("ERROR")
                || line.contains("locked")
                || line.contains("busy")
        })
        .collect();
    assert!(bad.is_empty(), "the logs report trouble: {bad:?}");

    eprintln!(
        "load: {} hook calls in {:.1} s ({:.0}/s) with {status_runs} status runs and {watch_gathers} watch gathers alongside; \
         hook wall p50 {:?} p99 {:?} max {:?}; peak RSS first {early} KiB, last {late} KiB, max {} KiB",
        SESSIONS * CALLS_PER_SESSION,
        elapsed.as_secs_f64(),
        (SESSIONS * CALLS_PER_SESSION) as f64 / elapsed.as_secs_f64(),
        quantile(&walls, 0.5),
        quantile(&walls, 0.99),
        quantile(&walls, 1.0),
        rss.iter().max().unwrap()
    );
}
