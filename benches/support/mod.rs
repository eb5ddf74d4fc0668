//! Shared by the benchmarks: running a command the way Claude Code runs a
//! hook (a fresh process, stdin piped), timed from spawn to exit, and the
//! statistics every benchmark reports.

#![allow(
    dead_code,
    reason = "each benchmark uses a different part of the support module"
)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `command` with `stdin` piped in, timed from spawn to exit; checks
/// that it succeeded and returns the time and its stdout. A program that
/// exits before reading its stdin (`/bin/true`) is fine.
pub fn run_timed(command: &mut Command, stdin: &[u8]) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    let output = child.wait_with_output().expect("wait");
    let elapsed = start.elapsed();
    assert!(output.status.success(), "{command:?} failed: {output:?}");
    (elapsed, output.stdout)
}

/// The sample at `share` (0.5 is the median) of the sorted samples.
pub fn percentile(samples: &[Duration], share: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * share).round() as usize]
}

pub fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 0.5)
}

pub fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The captured PostToolUse payload shipped with the tests.
pub fn post_tool_use_payload() -> Vec<u8> {
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude-code-2.1.330/hook-inputs-basic.jsonl"
    );
    std::fs::read_to_string(fixtures)
        .expect("fixture")
        .lines()
        .find(|line| line.contains("\"PostToolUse\""))
        .expect("a PostToolUse payload")
        .as_bytes()
        .to_vec()
}
