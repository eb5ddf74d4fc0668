//! The fuzz targets' inputs on every `cargo test`: each committed seed
//! (`fuzz/seeds/<target>/`) and each input that once crashed a target
//! (`fuzz/regressions/<target>/`) goes through the same harness the
//! libFuzzer targets run, so a crash found by a long fuzz run stays fixed
//! without cargo-fuzz, nightly flags or minutes of CPU in CI.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

/// Every file of `fuzz/<kind>/<target>/`, sorted.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs every seed and regression input of `target`; at least `min_seeds` seeds.
fn replay(target: &str, min_seeds: usize, run: fn(&[u8])) {
    let seeds = inputs("seeds", target);
    assert!(
        seeds.len() >= min_seeds,
        "fuzz/seeds/{target} holds {} inputs, expected at least {min_seeds}",
        seeds.len()
    );
    for path in seeds.iter().chain(&inputs("regressions", target)) {
        let bytes = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn hook_input_seeds_and_past_crashes_pass_the_harness() {
    replay("hook_input", 8, harness::hook_input);
}

#[test]
fn statusline_input_seeds_and_past_crashes_pass_the_harness() {
    replay("statusline_input", 3, harness::statusline_input);
}

#[test]
fn usage_body_seeds_and_past_crashes_pass_the_harness() {
    replay("usage_body", 2, harness::usage_body);
}

#[test]
fn settings_merge_seeds_and_past_crashes_pass_the_harness() {
    replay("settings_merge", 3, harness::settings_merge);
}

#[test]
fn epic_spec_seeds_and_past_crashes_pass_the_harness() {
    replay("epic_spec", 3, harness::epic_spec);
}

#[test]
fn transcript_tail_seeds_and_past_crashes_pass_the_harness() {
    replay("transcript_tail", 4, harness::transcript_tail);
}
