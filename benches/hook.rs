//! `cargo bench --bench hook`: the hook hot path against the cost of
//! spawning `/bin/true`.
//!
//! Claude Code spawns a hook as a fresh process for every tool call, so the
//! honest measure is the whole spawn: process start, config, stdin, the
//! store, exit. Both commands are spawned the same way (stdin piped with the
//! same payload, stdout and stderr captured), interleaved so that machine
//! noise hits both alike, and the medians are compared.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 300;

fn spawn_once(
    program: &str,
    args: &[&str],
    payload: &[u8],
    envs: &[(&str, &std::path::Path)],
) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // /bin/true may exit before reading; a broken pipe is fine.
    let _ = child.stdin.take().expect("stdin").write_all(payload);
    let output = child.wait_with_output().expect("wait");
    let elapsed = start.elapsed();
    assert!(output.status.success(), "{program} failed");
    assert!(output.stdout.is_empty(), "{program} printed on stdout");
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_pace-maker");
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude-code-2.1.330/hook-inputs-basic.jsonl"
    );
    let text = std::fs::read_to_string(fixtures).expect("fixture");
    let payload = text
        .lines()
        .find(|line| line.contains("\"PostToolUse\""))
        .expect("a PostToolUse payload")
        .as_bytes()
        .to_vec();
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
    let hook_median = median(hook.clone());
    let true_median = median(baseline.clone());
    println!("runs: {RUNS} each, interleaved, stdin = fixture PostToolUse payload");
    println!(
        "/bin/true                     median {:>8.3} ms  p90 {:>8.3} ms",
        true_median.as_secs_f64() * 1e3,
        percentile(baseline, 0.9).as_secs_f64() * 1e3
    );
    println!(
        "pace-maker hook post-tool-use median {:>8.3} ms  p90 {:>8.3} ms",
        hook_median.as_secs_f64() * 1e3,
        percentile(hook, 0.9).as_secs_f64() * 1e3
    );
    println!(
        "ratio (hook / true): {:.2}",
        hook_median.as_secs_f64() / true_median.as_secs_f64()
    );
}
