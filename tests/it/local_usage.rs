//! Local usage accounting against real files and a real store: generated
//! transcript trees checked against the generator's own truth, and the
//! ways files change under a scanner (appends, truncation, replacement,
//! half-written and invalid lines) checked for nothing counted twice and
//! nothing lost.

#[path = "../generator/mod.rs"]
mod generator;

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::five_dollar_reply;
use assert_cmd::Command;
use generator::{generate, GeneratorOptions};
use pace_maker::local_usage::entry::TokenCounts;
use pace_maker::local_usage::load::{load, LoadFilter};
use pace_maker::local_usage::report::{daily, Period};
use pace_maker::local_usage::scanner::{scan, ScanOptions, ScanSummary};
use pace_maker::store::Store;

struct ScanSandbox {
    _dir: tempfile::TempDir,
    claude: PathBuf,
    store: Store,
}

impl ScanSandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let claude = dir.path().join("claude");
        std::fs::create_dir_all(claude.join("projects/-p")).unwrap();
        let store = Store::open(
            &dir.path().join("home/pace-maker.db"),
            Duration::from_secs(2),
        )
        .unwrap();
        Self {
            _dir: dir,
            claude,
            store,
        }
    }

    fn options(&self) -> ScanOptions {
        ScanOptions {
            roots: vec![self.claude.clone()],
            max_bytes: None,
            threads: 2,
        }
    }

    fn scan(&mut self) -> ScanSummary {
        let options = self.options();
        scan(&mut self.store, &options, 0).unwrap()
    }

    fn totals(&self) -> (TokenCounts, usize) {
        let filter = LoadFilter {
            roots: Some(vec![self.claude.clone()]),
            ..LoadFilter::default()
        };
        let loaded = load(self.store.connection(), &filter).unwrap();
        let mut total = TokenCounts::default();
        for entry in &loaded.entries {
            total.add(&entry.tokens);
        }
        (total, loaded.entries.len())
    }

    fn file(&self, name: &str) -> PathBuf {
        self.claude.join("projects/-p").join(name)
    }
}

/// A reply line whose input count is `input` (other counts fixed), padded to `width`.
fn reply(id: &str, input: u64) -> String {
    format!(
        r#"{{"parentUuid":null,"isSidechain":false,"message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"text","text":"hi"}}],"usage":{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}}},"requestId":"req_{id}","type":"assistant","timestamp":"2026-10-01T10:00:00.000Z","sessionId":"s","version":"2.1.330"}}"#
    )
}

fn inputs(total: &TokenCounts) -> u64 {
    total.input
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn generated_transcripts_add_up_to_the_generators_truth() {
    let mut sandbox = ScanSandbox::new();
    let options = GeneratorOptions {
        target_bytes: 3 << 20,
        seed: 11,
        ..GeneratorOptions::default()
    };
    let manifest = generate(&sandbox.claude, &options).unwrap();
    let first = sandbox.scan();
    assert!(first.complete);
    assert_eq!(first.entries_read, manifest.usage_lines);
    let filter = LoadFilter {
        roots: Some(vec![sandbox.claude.clone()]),
        ..LoadFilter::default()
    };
    let loaded = load(sandbox.store.connection(), &filter).unwrap();
    assert_eq!(loaded.entries.len() as u64, manifest.replies);
    let report = daily(&loaded, &Period::all(jiff::tz::TimeZone::UTC));
    let days: Vec<(String, u64, u64, u64, u64)> = report
        .daily
        .iter()
        .map(|row| {
            let s = &row.sums;
            (
                row.date.clone(),
                s.input_tokens,
                s.output_tokens,
                s.cache_creation_tokens,
                s.cache_read_tokens,
            )
        })
        .collect();
    let truth: Vec<(String, u64, u64, u64, u64)> = manifest
        .daily
        .iter()
        .map(|(day, t)| {
            (
                day.clone(),
                t.input,
                t.output,
                t.cache_creation(),
                t.cache_read,
            )
        })
        .collect();
    assert_eq!(days, truth);
    assert_eq!(report.totals.sums.total_tokens, manifest.total.total());
    // Nothing changed: a rescan reads nothing.
    let again = sandbox.scan();
    assert_eq!((again.files_read, again.bytes_read), (0, 0));
    assert_eq!(sandbox.totals().0, manifest.total);
}

#[test]
fn a_rescan_reads_only_appended_bytes() {
    let mut sandbox = ScanSandbox::new();
    let path = sandbox.file("s.jsonl");
    write(&path, &format!("{}\n{}\n", reply("a", 1), reply("b", 2)));
    sandbox.scan();
    let added = format!("{}\n", reply("c", 4));
    append(&path, &added);
    let summary = sandbox.scan();
    assert_eq!(summary.bytes_read, added.len() as u64);
    assert_eq!(summary.entries_read, 1);
    assert_eq!(inputs(&sandbox.totals().0), 7);
}

#[test]
fn a_truncated_file_is_read_again_without_double_counting() {
    let mut sandbox = ScanSandbox::new();
    let path = sandbox.file("s.jsonl");
    write(
        &path,
        &format!("{}\n{}\n{}\n", reply("a", 1), reply("b", 2), reply("c", 4)),
    );
    sandbox.scan();
    assert_eq!(inputs(&sandbox.totals().0), 7);
    write(&path, &format!("{}\n", reply("a", 1)));
    let summary = sandbox.scan();
    assert_eq!(summary.files_reset, 1);
    assert_eq!(
        sandbox.totals(),
        (
            TokenCounts {
                input: 1,
                output: 10,
                ..TokenCounts::default()
            },
            1
        )
    );
    append(&path, &format!("{}\n", reply("d", 8)));
    sandbox.scan();
    assert_eq!(inputs(&sandbox.totals().0), 9);
}

#[test]
fn a_file_replaced_under_the_same_name_counts_only_its_new_content() {
    let mut sandbox = ScanSandbox::new();
    let path = sandbox.file("s.jsonl");
    write(&path, &format!("{}\n{}\n", reply("a", 1), reply("b", 2)));
    sandbox.scan();
    // Replaced by rename: a new inode, longer than before.
    let replacement = sandbox.file("s.jsonl.tmp");
    write(
        &replacement,
        &format!(
            "{}\n{}\n{}\n",
            reply("x", 16),
            reply("y", 32),
            reply("z", 64)
        ),
    );
    std::fs::rename(&replacement, &path).unwrap();
    sandbox.scan();
    assert_eq!(inputs(&sandbox.totals().0), 112);
    // Rewritten in place with the same length: caught by the bytes before the read point.
    // The rewrite gets a later mtime, set outright rather than waited for.
    let scanned_mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    write(
        &path,
        &format!(
            "{}\n{}\n{}\n",
            reply("x", 16),
            reply("y", 32),
            reply("w", 99)
        ),
    );
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(scanned_mtime + Duration::from_secs(1))
        .unwrap();
    let summary = sandbox.scan();
    assert_eq!(summary.files_reset, 1);
    assert_eq!(
        sandbox.totals(),
        (
            TokenCounts {
                input: 147,
                output: 30,
                ..TokenCounts::default()
            },
            3
        )
    );
}

#[test]
fn a_half_written_last_line_is_counted_once_when_finished() {
    let mut sandbox = ScanSandbox::new();
    let path = sandbox.file("s.jsonl");
    let second = reply("b", 2);
    let (head, tail) = second.split_at(second.len() / 2);
    write(&path, &format!("{}\n{head}", reply("a", 1)));
    sandbox.scan();
    assert_eq!(inputs(&sandbox.totals().0), 1);
    append(&path, &format!("{tail}\n"));
    sandbox.scan();
    assert_eq!(sandbox.totals().1, 2);
    assert_eq!(inputs(&sandbox.totals().0), 3);
    sandbox.scan();
    assert_eq!(inputs(&sandbox.totals().0), 3);
}

#[test]
fn invalid_lines_in_the_middle_lose_nothing_around_them() {
    let mut sandbox = ScanSandbox::new();
    let path = sandbox.file("s.jsonl");
    let broken = &reply("broken", 1000)[..80];
    write(
        &path,
        &format!(
            "{}\nnot json at all\n{broken}\n\n{{\"usage\":{{\"input_tokens\":\"many\"}}}}\n{}\n",
            reply("a", 1),
            reply("b", 2)
        ),
    );
    sandbox.scan();
    assert_eq!(sandbox.totals().1, 2);
    assert_eq!(inputs(&sandbox.totals().0), 3);
    append(&path, &format!("\u{0}\u{1}garbage\n{}\n", reply("c", 4)));
    sandbox.scan();
    assert_eq!(inputs(&sandbox.totals().0), 7);
}

#[test]
fn copies_across_files_count_once_and_the_main_chain_copy_wins() {
    let mut sandbox = ScanSandbox::new();
    write(
        &sandbox.file("s1.jsonl"),
        &format!("{}\n{}\n", reply("a", 1), reply("b", 2)),
    );
    // A resumed session copies the old lines, then goes on.
    write(
        &sandbox.file("s2.jsonl"),
        &format!("{}\n{}\n{}\n", reply("a", 1), reply("b", 2), reply("c", 4)),
    );
    // A subagent log repeats reply c as a sidechain copy with a bigger count.
    let subagents = sandbox.file("s2/subagents");
    std::fs::create_dir_all(&subagents).unwrap();
    let sidechain = reply("c", 4000).replace("\"isSidechain\":false", "\"isSidechain\":true");
    write(&subagents.join("agent-1.jsonl"), &format!("{sidechain}\n"));
    sandbox.scan();
    assert_eq!(sandbox.totals().1, 3);
    assert_eq!(inputs(&sandbox.totals().0), 7);
}

#[test]
fn a_byte_budget_leaves_the_rest_for_the_next_scan() {
    let mut sandbox = ScanSandbox::new();
    for index in 0..4 {
        write(
            &sandbox.file(&format!("s{index}.jsonl")),
            &format!("{}\n", reply(&index.to_string(), 1)),
        );
    }
    let mut options = sandbox.options();
    let one_file = reply("0", 1).len() as u64 + 1;
    options.max_bytes = Some(one_file);
    let first = scan(&mut sandbox.store, &options, 0).unwrap();
    assert!(!first.complete);
    assert_eq!(first.files_read, 1);
    let rest = sandbox.scan();
    assert!(rest.complete);
    assert_eq!(rest.files_read, 3);
    assert_eq!(inputs(&sandbox.totals().0), 4);
}

#[test]
fn a_byte_budget_reads_a_big_file_in_parts() {
    let mut sandbox = ScanSandbox::new();
    let path = sandbox.file("s.jsonl");
    write(
        &path,
        &format!(
            "{}
{}
{}
",
            reply("a", 1),
            reply("b", 2),
            reply("c", 4)
        ),
    );
    let mut options = sandbox.options();
    options.max_bytes = Some(reply("a", 1).len() as u64 * 3 / 2);
    let first = scan(&mut sandbox.store, &options, 0).unwrap();
    assert!(!first.complete);
    assert_eq!(inputs(&sandbox.totals().0), 1);
    let second = scan(&mut sandbox.store, &options, 0).unwrap();
    assert!(!second.complete);
    assert_eq!(inputs(&sandbox.totals().0), 3);
    let third = scan(&mut sandbox.store, &options, 0).unwrap();
    assert!(third.complete);
    assert_eq!(inputs(&sandbox.totals().0), 7);
    assert_eq!(sandbox.scan().files_read, 0);
}

#[test]
fn the_report_command_prints_ccusage_shaped_json() {
    let dir = tempfile::tempdir().unwrap();
    let claude = dir.path().join("claude");
    let manifest = generate(
        &claude,
        &GeneratorOptions {
            target_bytes: 400_000,
            seed: 5,
            ..GeneratorOptions::default()
        },
    )
    .unwrap();
    let run = |kind: &str| -> serde_json::Value {
        let output = Command::cargo_bin("pace-maker")
            .unwrap()
            .args(["report", kind, "--json", "--timezone", "UTC"])
            .env("HOME", dir.path())
            .env("PACE_MAKER_HOME", dir.path().join("home"))
            .env("CLAUDE_CONFIG_DIR", &claude)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let report = run("daily");
    let totals = &report["totals"];
    assert_eq!(totals["inputTokens"], manifest.total.input);
    assert_eq!(totals["outputTokens"], manifest.total.output);
    assert_eq!(
        totals["cacheCreationTokens"],
        manifest.total.cache_creation()
    );
    assert_eq!(totals["cacheReadTokens"], manifest.total.cache_read);
    assert_eq!(totals["totalTokens"], manifest.total.total());
    assert_eq!(
        report["daily"].as_array().unwrap().len(),
        manifest.daily.len()
    );
    let blocks = run("blocks");
    let block_tokens: u64 = blocks["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["totalTokens"].as_u64().unwrap())
        .sum();
    assert_eq!(block_tokens, manifest.total.total());
    let sessions = run("session");
    assert_eq!(sessions["totals"]["totalTokens"], manifest.total.total());
}

#[test]
fn the_estimate_adds_calibrated_local_usage_to_the_last_official_reading() {
    use pace_maker::local_usage::estimate;
    use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};

    let mut sandbox = ScanSandbox::new();
    let config = pace_maker::config::Config::default();
    let t0: i64 = 1_795_000_000_000;
    let minute = 60_000;
    let official = |at_ms: i64, percent: f64| UsageSnapshot {
        source: SnapshotSource::Statusline,
        taken_at_ms: at_ms,
        five_hour: Some(WindowReading {
            percent,
            resets_at_s: Some(t0 / 1000 + 4 * 3600),
        }),
        seven_day: None,
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    };
    let roots = vec![sandbox.claude.clone()];
    // $5 of use between two readings that rose 10 points: 2 points per dollar.
    write(
        &sandbox.file("s.jsonl"),
        &format!("{}\n", five_dollar_reply("a", t0 + minute)),
    );
    for reading in [official(t0, 10.0), official(t0 + 10 * minute, 20.0)] {
        sandbox
            .store
            .write(|tx| snapshot::insert(tx, &reading))
            .unwrap();
    }
    // Fresh official figure: no estimate.
    let fresh =
        estimate::current_in(&mut sandbox.store, &config, t0 + 11 * minute, &roots, "max").unwrap();
    assert_eq!(fresh, None);
    // Another $5 after the last reading, which is now stale.
    append(
        &sandbox.file("s.jsonl"),
        &format!("{}\n", five_dollar_reply("b", t0 + 20 * minute)),
    );
    let now = t0 + 30 * minute;
    let estimate = estimate::current_in(&mut sandbox.store, &config, now, &roots, "max")
        .unwrap()
        .expect("an estimate");
    assert_eq!(estimate.source, SnapshotSource::Estimate);
    let five = estimate.five_hour.unwrap();
    assert!((five.percent - 30.0).abs() < 1e-9, "{}", five.percent);
    assert_eq!(five.resets_at_s, Some(t0 / 1000 + 4 * 3600));
    let basis = estimate::basis(&estimate).unwrap();
    assert_eq!(basis.five_hour_calibration_samples, 1);
    assert_eq!(basis.basis_taken_at_ms, t0 + 10 * minute);
    // It was stored, and status can show its age and calibration count.
    let status = estimate::status(sandbox.store.connection(), "max", now + 5000).unwrap();
    assert_eq!(status.age_s, Some(5));
    assert_eq!(status.five_hour_calibration_samples, 1);
    assert_eq!(status.latest, Some(estimate.clone()));
    // A new official reading refines the coefficient: +5 points for the
    // second $5, so 15 points per $10 overall (faded slightly).
    sandbox
        .store
        .write(|tx| snapshot::insert(tx, &official(t0 + 31 * minute, 25.0)))
        .unwrap();
    let later = estimate::current_in(&mut sandbox.store, &config, t0 + 50 * minute, &roots, "max")
        .unwrap()
        .unwrap();
    let calibration = estimate::calibration(
        sandbox.store.connection(),
        "max",
        pace_maker::usage::snapshot::WindowKind::FiveHour,
    )
    .unwrap()
    .unwrap();
    assert_eq!(calibration.samples, 2);
    assert!(
        calibration.percent_per_dollar > 1.4 && calibration.percent_per_dollar < 1.6,
        "{}",
        calibration.percent_per_dollar
    );
    // Nothing used since the newest reading: the estimate is that reading.
    assert_eq!(later.five_hour.unwrap().percent, 25.0);
    // Another plan has no calibration: no estimate.
    let other =
        estimate::current_in(&mut sandbox.store, &config, t0 + 50 * minute, &roots, "pro").unwrap();
    assert_eq!(other, None);
}

/// A sandbox of transcripts for `pace-maker report` runs.
struct ReportSandbox {
    dir: tempfile::TempDir,
}

impl ReportSandbox {
    fn new(lines: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("claude/projects/-p");
        std::fs::create_dir_all(&project).unwrap();
        write(&project.join("s1.jsonl"), &(lines.join("\n") + "\n"));
        Self { dir }
    }

    /// stdout and stderr of `pace-maker report ARGS`, which must succeed.
    fn run(&self, args: &[&str]) -> (String, String) {
        let output = Command::cargo_bin("pace-maker")
            .unwrap()
            .arg("report")
            .args(args)
            .env("HOME", self.dir.path())
            .env("PACE_MAKER_HOME", self.dir.path().join("home"))
            .env("CLAUDE_CONFIG_DIR", self.dir.path().join("claude"))
            .env("TZ", "UTC")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{args:?}: {stderr}");
        (String::from_utf8(output.stdout).unwrap(), stderr)
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.run(&args).0).unwrap()
    }
}

/// A reply of `model` at `timestamp` with `input` fresh input tokens.
fn reply_at(id: &str, timestamp: &str, model: &str, input: u64) -> String {
    format!(
        r#"{{"parentUuid":null,"isSidechain":false,"message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"{model}","content":[{{"type":"text","text":"hi"}}],"usage":{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}}},"requestId":"req_{id}","type":"assistant","timestamp":"{timestamp}","sessionId":"s1","version":"2.1.330"}}"#
    )
}

#[test]
fn an_unpriced_model_is_flagged_never_shown_as_free() {
    // The model Claude Code 2.1.330 writes, which has no published price yet.
    let sandbox = ReportSandbox::new(&support::fixture_lines("transcript-basic-core.jsonl"));
    for kind in ["daily", "weekly", "monthly", "session", "blocks"] {
        let (table, _) = sandbox.run(&[kind, "-z", "UTC"]);
        assert!(!table.contains("0.00"), "{kind}: {table}");
        let costs: Vec<&str> = table
            .lines()
            .filter(|line| line.starts_with("20") || line.starts_with("Total"))
            .collect();
        assert!(!costs.is_empty(), "{kind}: {table}");
        for line in costs {
            assert!(
                line.split_whitespace().any(|cell| cell == "?"),
                "{kind}: {line}"
            );
        }
        assert!(
            table.contains("? no price for claude-opus-5-5"),
            "{kind}: {table}"
        );
    }
    let (json, stderr) = sandbox.run(&["daily", "--json", "-z", "UTC"]);
    assert!(stderr.contains("no price for claude-opus-5-5"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The ccusage field stays a number; the marks sit beside it.
    assert_eq!(json["totals"]["totalCost"], 0.0);
    assert_eq!(json["totals"]["unpricedModels"][0], "claude-opus-5-5");
    let day = &json["daily"][0];
    assert_eq!(day["totalCost"], 0.0);
    assert_eq!(day["unpricedModels"][0], "claude-opus-5-5");
    assert_eq!(day["modelBreakdowns"][0]["missingPricing"], true);
    assert_eq!(day["modelBreakdowns"][0]["cost"], 0.0);
    let blocks = sandbox.json(&["blocks"]);
    assert_eq!(blocks["blocks"][0]["unpricedModels"][0], "claude-opus-5-5");
}

#[test]
fn a_partly_priced_cost_is_marked_and_a_priced_one_is_not() {
    let sandbox = ReportSandbox::new(&[
        reply_at("a", "2026-03-02T10:00:00.000Z", "claude-opus-5-5", 1000),
        reply_at(
            "b",
            "2026-03-02T11:00:00.000Z",
            "claude-sonnet-4-5-20250929",
            100_000,
        ),
        reply_at(
            "c",
            "2026-03-03T11:00:00.000Z",
            "claude-sonnet-4-5-20250929",
            100_000,
        ),
    ]);
    let (table, _) = sandbox.run(&["daily", "-z", "UTC"]);
    let line = |day: &str| {
        table
            .lines()
            .find(|line| line.starts_with(day))
            .unwrap()
            .to_string()
    };
    let cells =
        |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };
    assert!(
        cells(&line("2026-03-02")).contains(&"0.30?".to_string()),
        "{table}"
    );
    assert!(
        cells(&line("2026-03-03")).contains(&"0.30".to_string()),
        "{table}"
    );
    assert!(
        cells(&line("Total")).contains(&"0.60?".to_string()),
        "{table}"
    );
}

#[test]
fn weekly_and_monthly_reports_group_in_the_time_zone() {
    // Saturday 2026-03-28 20:00 UTC is Sunday 2026-03-29 05:00 in Tokyo;
    // Tuesday 2026-03-31 20:00 UTC is 2026-04-01 in Tokyo.
    let sandbox = ReportSandbox::new(&[
        reply_at("a", "2026-03-28T20:00:00.000Z", "claude-sonnet-4-5", 1),
        reply_at("b", "2026-03-31T20:00:00.000Z", "claude-sonnet-4-5", 2),
    ]);
    let keys = |json: &serde_json::Value, list: &str, key: &str| -> Vec<(String, u64)> {
        json[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row[key].as_str().unwrap().to_string(),
                    row["inputTokens"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let utc = sandbox.json(&["weekly", "-z", "UTC"]);
    assert_eq!(
        keys(&utc, "weekly", "week"),
        vec![("2026-03-22".into(), 1), ("2026-03-29".into(), 2)]
    );
    let tokyo = sandbox.json(&["weekly", "--timezone", "Asia/Tokyo"]);
    assert_eq!(
        keys(&tokyo, "weekly", "week"),
        vec![("2026-03-29".into(), 3)]
    );
    assert_eq!(tokyo["totals"]["inputTokens"], 3);
    // As ccusage's --start-of-week: weeks named by their Monday.
    let monday = sandbox.json(&["weekly", "-z", "UTC", "--start-of-week", "monday"]);
    assert_eq!(
        keys(&monday, "weekly", "week"),
        vec![("2026-03-23".into(), 1), ("2026-03-30".into(), 2)]
    );
    let (table, _) = sandbox.run(&["weekly", "-z", "UTC", "-w", "saturday"]);
    assert!(table.starts_with("Week from Saturday (UTC)"), "{table}");
    assert!(table.contains("\n2026-03-28 "), "{table}");
    let utc = sandbox.json(&["monthly", "-z", "UTC"]);
    assert_eq!(keys(&utc, "monthly", "month"), vec![("2026-03".into(), 3)]);
    let tokyo = sandbox.json(&["monthly", "-z", "Asia/Tokyo"]);
    assert_eq!(
        keys(&tokyo, "monthly", "month"),
        vec![("2026-03".into(), 1), ("2026-04".into(), 2)]
    );
    let (table, _) = sandbox.run(&["monthly", "-z", "Asia/Tokyo"]);
    assert!(table.starts_with("Month (Asia/Tokyo)"), "{table}");
    assert!(table.contains("\n2026-04 "), "{table}");
    let (table, _) = sandbox.run(&["weekly", "-z", "UTC"]);
    assert!(table.starts_with("Week from Sunday (UTC)"), "{table}");
}

#[test]
fn shown_times_follow_the_time_zone_models_are_sorted_and_gaps_have_no_milliseconds() {
    let sandbox = ReportSandbox::new(&[
        reply_at("a", "2026-03-02T10:15:00.500Z", "claude-sonnet-4-5", 1),
        reply_at("b", "2026-03-02T10:20:00.250Z", "claude-haiku-4-5", 1),
        reply_at("c", "2026-03-02T10:25:00.750Z", "claude-opus-4-5", 1),
        reply_at("d", "2026-03-03T02:00:00.000Z", "claude-sonnet-4-5", 1),
    ]);
    let (table, _) = sandbox.run(&["blocks", "-z", "Europe/Paris"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("Block start (Europe/Paris)"),
        "{table}"
    );
    // 10:00 UTC is 11:00 in Paris; the gap starts 5 h after 10:25:00.750.
    assert!(lines[1].starts_with("2026-03-02 11:00 "), "{table}");
    assert!(
        lines[1].ends_with("claude-haiku-4-5, claude-opus-4-5, claude-sonnet-4-5"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("2026-03-02 16:25 ") && lines[2].contains("gap"),
        "{table}"
    );
    assert!(lines[3].starts_with("2026-03-03 03:00 "), "{table}");
    assert!(!table.contains(".750") && !table.contains('Z'), "{table}");
    let (table, _) = sandbox.run(&["session", "-z", "Asia/Tokyo"]);
    assert!(table.contains("Asia/Tokyo"), "{table}");
    assert!(table.contains("2026-03-03 11:00"), "{table}");
    // Models in a stable order, the same in every report and JSON.
    let blocks = sandbox.json(&["blocks"]);
    assert_eq!(
        blocks["blocks"][0]["models"],
        serde_json::json!(["claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-5"])
    );
    let daily = sandbox.json(&["daily", "-z", "UTC"]);
    assert_eq!(
        daily["daily"][0]["modelsUsed"],
        serde_json::json!(["claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-5"])
    );
}
