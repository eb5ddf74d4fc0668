//! `cargo bench --bench hook`: the hook hot path against the cost of
//! spawning `/bin/true`.
//!
//! Claude Code spawns a hook as a fresh process for every tool call, so the
//! honest measure is the whole spawn: process start, config, stdin, the
//! store, exit. Both commands are spawned the same way (stdin piped with the
//! same payload, stdout and stderr captured), interleaved so that machine
//! noise hits both alike, and the medians are compared.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{median, milliseconds, percentile, post_tool_use_payload, run_timed};

const RUNS: usize = 300;

fn spawn_once(
    program: &str,
    args: &[&str],
    payload: &[u8],
    envs: &[(&str, &std::path::Path)],
) -> Duration {
    let (elapsed, stdout) = run_timed(
        Command::new(program).args(args).envs(envs.iter().copied()),
        payload,
    );
    assert!(stdout.is_empty(), "{program} printed on stdout");
    elapsed
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_pace-maker");
    let payload = post_tool_use_payload();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let tool_home = dir.path().join("tool-home");
    let envs = [
        ("HOME", home.as_path()),
        ("PACE_MAKER_HOME", tool_home.as_path()),
    ];
    // Warm up: the first call creates the store.
    for _ in 0..10 {
        spawn_once(binary, &["hook", "post-tool-use"], &payload, &envs);
        spawn_once("/bin/true", &[], &payload, &envs);
    }
    let mut hook = Vec::with_capacity(RUNS);
    let mut baseline = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        hook.push(spawn_once(
            binary,
            &["hook", "post-tool-use"],
            &payload,
            &envs,
        ));
        baseline.push(spawn_once("/bin/true", &[], &payload, &envs));
    }
    let hook_median = median(&hook);
    let true_median = median(&baseline);
    println!("runs: {RUNS} each, interleaved, stdin = fixture PostToolUse payload");
    println!(
        "/bin/true                     median {:>8.3} ms  p90 {:>8.3} ms",
        milliseconds(true_median),
        milliseconds(percentile(&baseline, 0.9))
    );
    println!(
        "pace-maker hook post-tool-use median {:>8.3} ms  p90 {:>8.3} ms",
        milliseconds(hook_median),
        milliseconds(percentile(&hook, 0.9))
    );
    println!(
        "ratio (hook / true): {:.2}",
        hook_median.as_secs_f64() / true_median.as_secs_f64()
    );
}
