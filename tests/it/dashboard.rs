//! The views of `status`, `watch` and `history`, drawn from real stores at a
//! fixed moment and compared with snapshots: an empty store, a mission
//! ahead of its pace, and a usage API in backoff.

use std::time::Duration;

use pace_maker::commands::status::{self, StatusReport};
use pace_maker::config::Config;
use pace_maker::dashboard::data::{self, DashboardData, GatherOptions};
use pace_maker::dashboard::paint::Paint;
use pace_maker::dashboard::render;
use pace_maker::store::Store;
use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rusqlite::params;

/// 2026-11-25T14:00:00Z: every fixture is laid out around this moment.
const NOW_MS: i64 = 1_795_615_200_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// A store in a temporary directory, kept alive with it.
struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("pace-maker.db"), Duration::from_secs(1)).unwrap();
        Self { dir, store }
    }

    fn gather(&self) -> DashboardData {
        data::gather(
            self.store.connection(),
            &Config::default(),
            NOW_MS,
            &jiff::tz::TimeZone::UTC,
            GatherOptions { chart: true },
        )
        .unwrap()
    }

    fn snapshot(
        &mut self,
        source: SnapshotSource,
        at_ms: i64,
        five: (f64, i64),
        seven: (f64, i64),
    ) {
        let snapshot = UsageSnapshot {
            source,
            taken_at_ms: at_ms,
            five_hour: Some(WindowReading {
                percent: five.0,
                resets_at_s: Some(five.1 / 1000),
            }),
            seven_day: Some(WindowReading {
                percent: seven.0,
                resets_at_s: Some(seven.1 / 1000),
            }),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        self.store
            .write(|tx| snapshot::insert(tx, &snapshot))
            .unwrap();
    }

    #[expect(clippy::too_many_arguments, reason = "one row of the sessions table")]
    fn session(
        &mut self,
        id: &str,
        project: &str,
        started_ms: i64,
        last_ms: i64,
        ended_ms: Option<i64>,
        tool_calls: i64,
        delay_ms: i64,
        blocks: i64,
    ) {
        self.store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO sessions (id, project_dir, started_at, last_activity_at, ended_at,
                        tool_calls, delay_ms_total, momentum_blocks)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        id, project, started_ms, last_ms, ended_ms, tool_calls, delay_ms, blocks
                    ],
                )
            })
            .unwrap();
    }

    fn decision(
        &mut self,
        session: &str,
        at_ms: i64,
        delay_ms: i64,
        utilization: f64,
        reason: &str,
    ) {
        self.store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window,
                        utilization, projected_percent, target_percent, reason)
                     VALUES (?1, ?2, ?3, 'five_hour', ?4, ?5, 95.0, ?6)",
                    params![
                        session,
                        at_ms,
                        delay_ms,
                        utilization,
                        utilization + 30.0,
                        reason
                    ],
                )
            })
            .unwrap();
    }

    /// Attaches an epic with `done` of `total` criteria ticked to `project`.
    fn epic(&mut self, project: &str, done: usize, total: usize) {
        let mut text = String::from("# Rocket\n\n## Acceptance criteria\n");
        for index in 0..total {
            let mark = if index < done { 'x' } else { ' ' };
            text.push_str(&format!("- [{mark}] criterion {index}\n"));
        }
        let path = self.dir.path().join("EPIC.md");
        std::fs::write(&path, text).unwrap();
        self.store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO epics (project_dir, spec_path, attached_at) VALUES (?1, ?2, ?3)",
                    params![project, path.to_string_lossy(), NOW_MS - 3 * HOUR_MS],
                )
            })
            .unwrap();
    }

    fn api(
        &mut self,
        state: &str,
        backoff_until: Option<i64>,
        last_success: Option<i64>,
        error: Option<&str>,
    ) {
        self.store
            .write(|tx| {
                tx.execute(
                    "UPDATE api_state SET state = ?1, backoff_until = ?2, last_success_at = ?3,
                        last_attempt_at = ?4, last_error = ?5, failures = ?6 WHERE id = 1",
                    params![
                        state,
                        backoff_until,
                        last_success,
                        NOW_MS - 3 * MINUTE_MS,
                        error,
                        i64::from(error.is_some()) * 3
                    ],
                )
            })
            .unwrap();
    }
}

fn empty() -> Fixture {
    Fixture::new()
}

/// A mission three hours and forty minutes into its 5-hour window at 82 %,
/// where the pace allows 70 %, climbing 20 points an hour.
fn ahead_of_pace() -> Fixture {
    let mut fixture = Fixture::new();
    let five_reset = NOW_MS + 80 * MINUTE_MS;
    let five_start = five_reset - 5 * HOUR_MS;
    let seven_reset = NOW_MS + 74 * HOUR_MS;
    // The previous 5-hour window, inside the weekly burn-rate lookback.
    for step in 0..12 {
        let at = five_start - 2 * HOUR_MS + step * 10 * MINUTE_MS;
        fixture.snapshot(
            SnapshotSource::Statusline,
            at,
            (70.0 + step as f64, five_start),
            (37.5 + step as f64 * 0.02, seven_reset),
        );
    }
    // This window: 10 points an hour for an hour, then 27 an hour up to 82 % now.
    let five_at = |at: i64| {
        let hours = (at - five_start) as f64 / HOUR_MS as f64;
        if hours <= 1.0 {
            10.0 * hours
        } else {
            10.0 + 27.0 * (hours - 1.0)
        }
    };
    let mut at = five_start + 5 * MINUTE_MS;
    while at < NOW_MS {
        let percent = five_at(at);
        fixture.snapshot(
            SnapshotSource::Statusline,
            at,
            (percent, five_reset),
            (38.0 + percent / 41.0, seven_reset),
        );
        at += 5 * MINUTE_MS;
    }
    let last = NOW_MS - 12_000;
    fixture.snapshot(
        SnapshotSource::Statusline,
        last,
        (five_at(last), five_reset),
        (38.0 + five_at(last) / 41.0, seven_reset),
    );
    fixture.session(
        "d095304d-895a-4782-9633-22c1acc3ecef",
        "/home/dev/rocket",
        NOW_MS - 3 * HOUR_MS,
        NOW_MS - 20_000,
        None,
        214,
        7 * MINUTE_MS + 30_000,
        2,
    );
    fixture.session(
        "5c1e2a77-0000-4000-8000-000000000001",
        "/home/dev/website",
        NOW_MS - 9 * HOUR_MS,
        NOW_MS - 6 * HOUR_MS,
        Some(NOW_MS - 6 * HOUR_MS),
        41,
        0,
        0,
    );
    // Reasons worded as the pacing policy words them.
    for (minutes_ago, delay_s, utilization, pace, projected) in [
        (31, 0, 72.0, 64.0, 93.0),
        (24, 12, 75.0, 65.5, 101.0),
        (17, 28, 77.5, 67.0, 108.0),
        (9, 45, 80.0, 68.5, 115.0),
        (2, 64, 82.0, 69.4, 119.0),
    ] {
        let verdict = if delay_s > 0 { "ahead:" } else { "on pace:" };
        fixture.decision(
            "d095304d-895a-4782-9633-22c1acc3ecef",
            NOW_MS - minutes_ago * MINUTE_MS,
            delay_s * 1000,
            utilization,
            &format!(
                "{verdict} 5-hour window at {utilization:.1} % (pace {pace:.1} %), projected {projected:.0} % at reset vs target 95 %"
            ),
        );
    }
    // Yesterday's delay does not count today.
    fixture.decision(
        "5c1e2a77-0000-4000-8000-000000000001",
        NOW_MS - 16 * HOUR_MS,
        90_000,
        60.0,
        "ahead: 5-hour window at 60.0 % (pace 41.0 %), projected 104 % at reset vs target 95 %",
    );
    fixture.epic("/home/dev/rocket", 3, 7);
    fixture.api("ok", None, Some(NOW_MS - 2 * MINUTE_MS), None);
    fixture
}

/// The usage API rate limited: the last official reading is 20 minutes old
/// (stale), the local estimate carries on.
fn in_backoff() -> Fixture {
    let mut fixture = Fixture::new();
    let five_reset = NOW_MS + 3 * HOUR_MS;
    let seven_reset = NOW_MS + 5 * 24 * HOUR_MS;
    fixture.snapshot(
        SnapshotSource::Api,
        NOW_MS - 40 * MINUTE_MS,
        (18.0, five_reset),
        (12.0, seven_reset),
    );
    fixture.snapshot(
        SnapshotSource::Api,
        NOW_MS - 20 * MINUTE_MS,
        (22.0, five_reset),
        (12.5, seven_reset),
    );
    fixture.snapshot(
        SnapshotSource::Estimate,
        NOW_MS - 30 * MINUTE_MS,
        (20.0, five_reset),
        (12.8, seven_reset),
    );
    fixture.snapshot(
        SnapshotSource::Estimate,
        NOW_MS - MINUTE_MS,
        (26.0, five_reset),
        (13.0, seven_reset),
    );
    fixture.session(
        "a7f3c9e1-1111-4000-8000-000000000002",
        "/home/dev/compiler",
        NOW_MS - HOUR_MS,
        NOW_MS - 30_000,
        None,
        57,
        0,
        0,
    );
    fixture.api(
        "backing-off",
        Some(NOW_MS + 25 * MINUTE_MS),
        Some(NOW_MS - 41 * MINUTE_MS),
        Some("rate limited (429)"),
    );
    fixture
}

fn draw(data: &DashboardData, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render::draw(frame, data)).unwrap();
    terminal.backend().to_string()
}

fn status_text(data: &DashboardData) -> String {
    let mut out = Vec::new();
    status::write_text(&mut out, data, Paint::PLAIN).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn an_empty_store_draws_the_frame_and_says_there_is_nothing_yet() {
    let data = empty().gather();
    insta::assert_snapshot!("empty_80x24", draw(&data, 80, 24));
    insta::assert_snapshot!("empty_160x48", draw(&data, 160, 48));
    insta::assert_snapshot!("empty_status", status_text(&data));
}

#[test]
fn a_mission_ahead_of_pace_shows_the_curve_over_the_pace_line() {
    let data = ahead_of_pace().gather();
    let reading = data.windows[0].reading.as_ref().unwrap();
    assert_eq!(
        reading.pace_state,
        Some(pace_maker::dashboard::pace::PaceState::Ahead)
    );
    insta::assert_snapshot!("ahead_80x24", draw(&data, 80, 24));
    insta::assert_snapshot!("ahead_160x48", draw(&data, 160, 48));
    insta::assert_snapshot!("ahead_status", status_text(&data));
}

#[test]
fn a_usage_api_in_backoff_is_shown_with_the_estimate_carrying_on() {
    let data = in_backoff().gather();
    assert_eq!(
        data.windows[0].reading.as_ref().unwrap().source,
        SnapshotSource::Estimate
    );
    insta::assert_snapshot!("backoff_80x24", draw(&data, 80, 24));
    insta::assert_snapshot!("backoff_160x48", draw(&data, 160, 48));
    insta::assert_snapshot!("backoff_status", status_text(&data));
}

#[test]
fn delay_today_counts_from_local_midnight_only() {
    let data = ahead_of_pace().gather();
    assert_eq!(data.pacing.delay_ms_today, (12 + 28 + 45 + 64) * 1000);
    assert_eq!(
        data.pacing
            .last_delay
            .as_ref()
            .map(|decision| decision.delay_ms),
        Some(64_000)
    );
}

#[test]
fn status_json_of_a_mission_ahead_of_pace_carries_the_pace_figures() {
    let data = ahead_of_pace().gather();
    let mut json = serde_json::to_value(StatusReport::from_data(&data)).unwrap();
    let epic = &mut json["sessions"][0]["epic"];
    assert_eq!(
        (epic["done"].clone(), epic["total"].clone()),
        (3.into(), 7.into())
    );
    assert!(epic["spec_path"].as_str().unwrap().ends_with("EPIC.md"));
    // The spec lives in a temporary folder; keep the snapshot stable.
    epic["spec_path"] = "[temporary]/EPIC.md".into();
    let five = &json["windows"]["five_hour"];
    assert_eq!(five["percent"], 81.9);
    assert_eq!(five["pace_state"], "ahead");
    assert_eq!(five["source"], "statusline");
    assert_eq!(five["projection"]["kind"], "full-before-reset");
    assert_eq!(json["pacing"]["delay_ms_today"], 149_000);
    assert_eq!(json["usage_api"]["state"], "ok");
    insta::assert_json_snapshot!("ahead_status_json", json);
}

#[test]
fn watch_shows_the_per_model_weekly_window_the_usage_api_reports() {
    let mut fixture = ahead_of_pace();
    let opus = UsageSnapshot {
        source: SnapshotSource::Api,
        taken_at_ms: NOW_MS - MINUTE_MS,
        five_hour: None,
        seven_day: None,
        seven_day_opus: Some(WindowReading {
            percent: 90.0,
            resets_at_s: Some((NOW_MS + 3 * 24 * HOUR_MS) / 1000),
        }),
        seven_day_sonnet: None,
        raw_json: None,
    };
    fixture
        .store
        .write(|tx| snapshot::insert(tx, &opus))
        .unwrap();
    let data = fixture.gather();
    let kinds: Vec<_> = data.windows.iter().map(|window| window.kind).collect();
    use pace_maker::usage::snapshot::WindowKind;
    assert_eq!(
        kinds,
        [
            WindowKind::FiveHour,
            WindowKind::SevenDay,
            WindowKind::SevenDayOpus
        ]
    );
    for (width, height) in [(80, 24), (160, 48)] {
        let screen = draw(&data, width, height);
        assert!(screen.contains("weekly Opus"), "{screen}");
        assert!(screen.contains("90 %"), "{screen}");
    }
    let text = status_text(&data);
    assert!(text.contains("weekly Opus"), "{text}");
}
