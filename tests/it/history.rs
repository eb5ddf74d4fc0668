//! `pace-maker history`: readings and decisions of a span, as tables, JSON
//! and the SVG chart.

use crate::support::Sandbox;
use predicates::prelude::*;
use rusqlite::params;

/// Readings every 10 minutes for 5 hours, a delay every half hour.
fn seed(sandbox: &Sandbox) -> i64 {
    sandbox.command().arg("status").assert().success();
    let store = sandbox.store();
    let now = pace_maker::clock::now_ms();
    let reset_s = (now + 3_600_000) / 1000;
    for step in 0..30 {
        let at = now - (30 - step) * 600_000;
        store
            .execute(
                "INSERT INTO usage_snapshots (source, taken_at, five_hour_percent, five_hour_resets_at,
                    seven_day_percent, seven_day_resets_at) VALUES ('statusline', ?1, ?2, ?3, 40.0, ?4)",
                params![at, step as f64 * 3.0, reset_s, reset_s + 86_400],
            )
            .unwrap();
        if step % 3 == 0 {
            store
                .execute(
                    "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window, utilization,
                        projected_percent, target_percent, reason)
                     VALUES ('abcdef1234', ?1, 30000, 'five_hour', ?2, 110.0, 95.0, 'ahead of pace')",
                    params![at, step as f64 * 3.0],
                )
                .unwrap();
        }
    }
    now
}

#[test]
fn history_lists_the_span_asked_for_in_text_and_json() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    sandbox
        .command()
        .args(["history", "--since", "125m"])
        .env("TZ", "UTC")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "usage readings, last 2 h 5 min: 12",
        ))
        .stdout(predicate::str::contains(
            "pacing decisions, last 2 h 5 min: 4 (delay added 2 min)",
        ))
        .stdout(predicate::str::contains("statusline"))
        .stdout(predicate::str::contains("abcdef12"));
    let output = sandbox
        .command()
        .args(["history", "--since", "24h", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["snapshots"].as_array().unwrap().len(), 30);
    assert_eq!(json["decisions"].as_array().unwrap().len(), 10);
    assert_eq!(json["snapshots"][0]["source"], "statusline");
    assert_eq!(json["decisions"][0]["delay_ms"], 30000);
}

#[test]
fn history_writes_the_usage_chart_as_svg() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    let path = sandbox.dir.path().join("usage.svg");
    sandbox
        .command()
        .args(["history", "--since", "6h", "--svg"])
        .arg(&path)
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote"));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
    assert!(svg.contains("<polyline"), "{svg}");
    // The simulator's panels, over the span.
    for label in [
        "5-hour window %",
        "weekly window %",
        "delay per call, s",
        "even pace to target",
    ] {
        assert!(svg.contains(label), "{label}: {svg}");
    }
    assert!(svg.contains("pace-maker history: the last 6 h"), "{svg}");
}

#[test]
fn history_refuses_a_span_that_is_not_a_duration() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["history", "--since", "yesterday"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("error: --since"))
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn history_shows_the_per_model_windows_and_the_window_that_decided() {
    let sandbox = Sandbox::new();
    let now = seed(&sandbox);
    let store = sandbox.store();
    let reset_s = (now + 3 * 86_400_000) / 1000;
    store
        .execute(
            "INSERT INTO usage_snapshots (source, taken_at, five_hour_percent, seven_day_percent,
                seven_day_opus_percent, seven_day_opus_resets_at) VALUES ('api', ?1, 10.0, 20.0, 90.0, ?2)",
            params![now - 60_000, reset_s],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window, utilization,
                projected_percent, target_percent, reason)
             VALUES ('abcdef1234', ?1, 7000, 'seven_day_opus', 90.0, 157.0, 95.0,
                'ahead: weekly Opus window at 90.0 %')",
            [now - 30_000],
        )
        .unwrap();
    let output = sandbox
        .command()
        .args(["history", "--since", "10m"])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let header = text.lines().find(|line| line.starts_with("taken")).unwrap();
    assert!(header.contains("Opus"), "{text}");
    assert!(!header.contains("Sonnet"), "no reading has it: {text}");
    assert!(text.contains("90 %"), "{text}");
    assert!(text.contains("seven_day_opus"), "{text}");
    let output = sandbox
        .command()
        .args(["history", "--since", "10m", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let api = json["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|snapshot| snapshot["source"] == "api")
        .unwrap();
    assert_eq!(api["seven_day_opus_percent"], 90.0);
    assert!(api.get("seven_day_sonnet_percent").is_none(), "{api}");
    assert_eq!(
        json["decisions"][json["decisions"].as_array().unwrap().len() - 1]["window"],
        "seven_day_opus"
    );
}
