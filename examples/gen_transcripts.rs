//! Writes a realistic Claude Code transcript tree for tests and benchmarks.
//!
//! `cargo run --release --example gen_transcripts -- --size 500MB --out DIR --seed N [--days D]`
//! writes `DIR/projects/...` (use DIR as `CLAUDE_CONFIG_DIR`) and prints the
//! true totals as JSON on stdout. The same seed gives the same bytes.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../tests/generator/mod.rs"]
mod generator;

use generator::{generate, GeneratorOptions};

fn parse_size(text: &str) -> Option<u64> {
    let upper = text.trim().to_ascii_uppercase();
    let (digits, unit) = match upper.find(|c: char| !c.is_ascii_digit()) {
        Some(index) => upper.split_at(index),
        None => (upper.as_str(), ""),
    };
    let value: u64 = digits.parse().ok()?;
    let scale = match unit.trim_end_matches('B').trim_end_matches('I') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    Some(value * scale)
}

fn main() -> ExitCode {
    let mut options = GeneratorOptions::default();
    let mut out: Option<PathBuf> = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments.next().unwrap_or_default();
        match flag.as_str() {
            "--size" => match parse_size(&value) {
                Some(size) => options.target_bytes = size,
                None => return usage(&format!("bad size `{value}`")),
            },
            "--seed" => match value.parse() {
                Ok(seed) => options.seed = seed,
                Err(_) => return usage(&format!("bad seed `{value}`")),
            },
            "--days" => match value.parse() {
                Ok(days) => options.days = days,
                Err(_) => return usage(&format!("bad day count `{value}`")),
            },
            "--out" => out = Some(PathBuf::from(value)),
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    let Some(out) = out else {
        return usage("--out is required");
    };
    match generate(&out, &options) {
        Ok(manifest) => {
            let daily: serde_json::Map<String, serde_json::Value> = manifest
                .daily
                .iter()
                .map(|(day, t)| {
                    (
                        day.clone(),
                        serde_json::json!({"inputTokens": t.input, "outputTokens": t.output,
                            "cacheCreationTokens": t.cache_creation(), "cacheReadTokens": t.cache_read}),
                    )
                })
                .collect();
            let t = manifest.total;
            println!(
                "{}",
                serde_json::json!({
                    "files": manifest.files, "bytes": manifest.bytes, "lines": manifest.lines,
                    "replies": manifest.replies, "usageLines": manifest.usage_lines,
                    "totals": {"inputTokens": t.input, "outputTokens": t.output,
                        "cacheCreationTokens": t.cache_creation(), "cacheReadTokens": t.cache_read,
                        "totalTokens": t.total()},
                    "daily": daily,
                })
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}");
    eprintln!("usage: gen_transcripts --size 500MB --out DIR [--seed N] [--days D]");
    ExitCode::from(2)
}
