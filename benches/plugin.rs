//! `cargo bench --bench plugin`: what the Claude Code plugin's way of
//! calling the binary adds to each hook, against the settings way that
//! calls the binary directly.
//!
//! Claude Code runs every hook command through `/bin/sh -c`, so both ways
//! are spawned exactly so, with the captured PostToolUse payload on stdin:
//! - direct: `'/path/pace-maker' hook post-tool-use` (what `install` writes);
//! - plugin: `set -- hook post-tool-use; . "${CLAUDE_PLUGIN_ROOT}/scripts/launch"`
//!   (the plugin's hooks file), with the binary found each of the
//!   launcher's three ways: the path `install` recorded, PATH (its folder
//!   last of nine), cargo's bin folder (after all of PATH);
//! - for comparison, the launcher as a process of its own
//!   (`sh "${CLAUDE_PLUGIN_ROOT}/scripts/launch" hook post-tool-use`), the
//!   way it is not called.
//!
//! Twice: with the kill switch (`PACE_MAKER_DISABLE=1`: the binary exits
//! as soon as it starts, so what remains is process start-up and the
//! launcher, with the least noise), and as the whole hook (bookkeeping in
//! a store of each variant's own, pacing off so that nothing sleeps). The
//! variants run interleaved, round after round, so machine noise hits each
//! alike; each variant's cost over direct is the median of its per-round
//! differences. `PACE_MAKER_BENCH_RUNS` sets the rounds (default 500).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pace_maker::event::EventKind;
use pace_maker::install::{merge, plugin};
use support::{median, milliseconds, percentile, post_tool_use_payload, run_timed};

/// The limit the plugin's launcher is held to, per hook.
const BUDGET: Duration = Duration::from_millis(1);

struct Variant {
    name: &'static str,
    command: String,
    environment: Vec<(String, String)>,
}

fn main() {
    let runs: usize = std::env::var("PACE_MAKER_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(500);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_pace-maker"));
    let plugin_root = Path::new(env!("CARGO_MANIFEST_DIR")).join(plugin::PLUGIN_FOLDER);
    let payload = post_tool_use_payload();
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = |name: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).expect("folder");
        path
    };
    let home = folder("home");
    let cargo_home = folder("cargo");
    let with_binary = folder("bin");
    std::os::unix::fs::symlink(&binary, with_binary.join("pace-maker")).expect("link");
    std::os::unix::fs::symlink(&binary, folder("cargo/bin").join("pace-maker")).expect("link");
    // A PATH as long as a developer's: eight folders without pace-maker.
    let mut folders: Vec<String> = (0..6)
        .map(|index| folder(&format!("empty-{index}")).display().to_string())
        .collect();
    folders.extend(["/usr/bin".to_string(), "/bin".to_string()]);
    let path_without = folders.join(":");
    let path_with = format!("{path_without}:{}", with_binary.display());

    // Each variant has a tool home (and store) of its own: one hook input
    // run by two programs within moments is one event, which a shared
    // store would count once and let the second run end early.
    let variant = |name: &'static str, command: String, path: &str, record: bool| {
        let tool_home = folder(&format!(
            "tool-home-{}",
            name.replace([' ', ',', '\'', '(', ')'], "-")
        ));
        if record {
            std::fs::write(
                tool_home.join(pace_maker::paths::BINARY_RECORD_FILE),
                format!("{}\n", binary.display()),
            )
            .expect("record");
        }
        let mut environment: Vec<(String, String)> = [
            ("HOME", home.display().to_string()),
            ("PACE_MAKER_HOME", tool_home.display().to_string()),
            ("CARGO_HOME", cargo_home.display().to_string()),
            ("PATH", path.to_string()),
            // Nothing may poll beyond this machine: a dead port.
            ("PACE_MAKER_API_BASE", "http://127.0.0.1:9".to_string()),
            ("PACE_MAKER_PACING_ENABLED", "false".to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
        // Claude Code sets it for a plugin's hooks only.
        if name != "direct (settings)" {
            environment.push((
                "CLAUDE_PLUGIN_ROOT".into(),
                plugin_root.display().to_string(),
            ));
        }
        Variant {
            name,
            command,
            environment,
        }
    };
    let sourced = plugin::hook_command(EventKind::PostToolUse);
    let variants = vec![
        variant(
            "direct (settings)",
            merge::hook_command(&binary.display().to_string(), EventKind::PostToolUse),
            &path_without,
            false,
        ),
        variant(
            "plugin, recorded path",
            sourced.clone(),
            &path_without,
            true,
        ),
        variant("plugin, found on PATH", sourced.clone(), &path_with, false),
        variant("plugin, cargo's bin folder", sourced, &path_without, false),
        variant(
            "launcher as its own process",
            format!(
                "sh \"${{CLAUDE_PLUGIN_ROOT}}/{}\" hook post-tool-use",
                plugin::LAUNCHER
            ),
            &path_with,
            false,
        ),
    ];
    // A fresh official figure in each store, so that no hook polls the usage API.
    let statusline = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude-code-2.1.330/statusline-inputs-oauth.jsonl"
    ))
    .expect("fixture");
    let statusline = statusline.lines().nth(1).expect("a second line").as_bytes();
    for variant in &variants {
        run_timed(
            Command::new(&binary)
                .arg("statusline")
                .env_clear()
                .envs(variant.environment.iter().map(|(k, v)| (k, v))),
            statusline,
        );
    }

    println!(
        "runs: {runs} rounds, variants interleaved; stdin = fixture PostToolUse payload; \
         each through /bin/sh -c as Claude Code runs a hook"
    );
    for (label, kill_switch) in [("kill switch (start-up only)", true), ("whole hook", false)] {
        let run = |variant: &Variant| {
            let mut command = Command::new("/bin/sh");
            command
                .arg("-c")
                .arg(&variant.command)
                .env_clear()
                .envs(variant.environment.iter().map(|(k, v)| (k, v)));
            if kill_switch {
                command.env("PACE_MAKER_DISABLE", "1");
            }
            let (elapsed, stdout) = run_timed(&mut command, &payload);
            assert!(stdout.is_empty(), "{} printed {stdout:?}", variant.name);
            elapsed
        };
        for _ in 0..20 {
            variants.iter().for_each(|variant| {
                run(variant);
            });
        }
        let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); variants.len()];
        for round in 0..runs {
            // A different variant goes first each round.
            for offset in 0..variants.len() {
                let index = (round + offset) % variants.len();
                samples[index].push(run(&variants[index]));
            }
        }
        println!("\n{label}:");
        for (variant, times) in variants.iter().zip(&samples) {
            let over: Vec<Duration> = times
                .iter()
                .zip(&samples[0])
                .map(|(time, direct)| time.saturating_sub(*direct))
                .collect();
            let under: Vec<Duration> = times
                .iter()
                .zip(&samples[0])
                .map(|(time, direct)| direct.saturating_sub(*time))
                .collect();
            // The median of the signed per-round differences.
            let mut signed: Vec<f64> = over
                .iter()
                .zip(&under)
                .map(|(over, under)| milliseconds(*over) - milliseconds(*under))
                .collect();
            signed.sort_by(f64::total_cmp);
            let added = signed[signed.len() / 2];
            let verdict = if variant.name.starts_with("plugin") {
                if added < milliseconds(BUDGET) {
                    "  (under the 1 ms budget)"
                } else {
                    "  (OVER the 1 ms budget)"
                }
            } else {
                ""
            };
            println!(
                "  {:<30} median {:>7.3} ms  p90 {:>7.3} ms  over direct {:>+7.3} ms{verdict}",
                variant.name,
                milliseconds(median(times)),
                milliseconds(percentile(times, 0.9)),
                added,
            );
        }
    }
}
