//! Named cases and properties of the pacing policy.

use super::*;
use proptest::prelude::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
/// An arbitrary `now`, well away from zero.
const NOW: i64 = 1_800_000_000_000;

fn five(percent: f64, resets_at_ms: i64) -> Option<WindowReading> {
    Some(WindowReading {
        percent,
        resets_at_s: Some(resets_at_ms / 1000),
    })
}

fn snapshot(
    source: SnapshotSource,
    taken_at_ms: i64,
    five_hour: Option<WindowReading>,
    seven_day: Option<WindowReading>,
) -> UsageSnapshot {
    UsageSnapshot {
        source,
        taken_at_ms,
        five_hour,
        seven_day,
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    }
}

/// A 5-hour window that resets at `resets_at_ms`, read by the API at the
/// given `(minutes before now, percent)` points.
fn five_hour_history(resets_at_ms: i64, points: &[(i64, f64)]) -> Vec<UsageSnapshot> {
    points
        .iter()
        .map(|&(minutes_ago, percent)| {
            snapshot(
                SnapshotSource::Api,
                NOW - minutes_ago * MINUTE,
                five(percent, resets_at_ms),
                None,
            )
        })
        .collect()
}

/// Tool calls every `every_ms` for the last `span_ms`, each followed by
/// `delay_ms`, the current call last (at now, no delay yet).
fn steady_calls(span_ms: i64, every_ms: i64, delay_ms: i64) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let mut at = NOW - span_ms;
    while at < NOW {
        calls.push(ToolCall {
            at_ms: at,
            delay_ms,
        });
        at += every_ms;
    }
    calls.push(ToolCall {
        at_ms: NOW,
        delay_ms: 0,
    });
    calls
}

fn decide_with(
    snapshots: &[UsageSnapshot],
    calls: &[ToolCall],
    ttl_seconds: u64,
    settings: &PacingSettings,
) -> Decision {
    decide_for(snapshots, calls, &[], ttl_seconds, settings)
}

/// The decision for a session among `other_sessions` (5-hour window only).
fn decide_among(
    snapshots: &[UsageSnapshot],
    calls: &[ToolCall],
    other_sessions: &[&[ToolCall]],
) -> Decision {
    decide_for(snapshots, calls, other_sessions, 300, &only_five_hour())
}

fn decide_for(
    snapshots: &[UsageSnapshot],
    calls: &[ToolCall],
    other_sessions: &[&[ToolCall]],
    ttl_seconds: u64,
    settings: &PacingSettings,
) -> Decision {
    decide(&PolicyInput {
        now_ms: NOW,
        snapshots,
        calls,
        other_sessions,
        tool_duration_ms: Some(1000),
        cache_ttl_seconds: ttl_seconds,
        settings,
    })
}

fn only_five_hour() -> PacingSettings {
    PacingSettings {
        seven_day: false,
        ..PacingSettings::default()
    }
}

#[test]
fn no_snapshot_at_all_means_no_delay_and_says_so() {
    let decision = decide_with(
        &[],
        &steady_calls(HOUR, 30_000, 0),
        300,
        &PacingSettings::default(),
    );
    assert_eq!(decision.delay_ms, 0);
    assert_eq!(decision.reason.verdict, Verdict::NoData);
    assert_eq!(
        decision.reason.to_string(),
        "no fresh usage figure (5-hour: missing; weekly: missing): no delay"
    );
}

#[test]
fn a_stale_official_figure_fails_open_when_estimates_are_off() {
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(80, 30.0), (20, 90.0)]);
    let settings = PacingSettings {
        use_estimate: false,
        ..only_five_hour()
    };
    let decision = decide_with(&history, &steady_calls(HOUR, 30_000, 0), 300, &settings);
    assert_eq!(decision.delay_ms, 0);
    assert_eq!(decision.reason.verdict, Verdict::NoData);
    assert!(decision.reason.to_string().contains("5-hour: 1200 s old"));
}

#[test]
fn a_fresh_estimate_stands_in_for_a_stale_official_figure_with_a_lower_target() {
    let resets = NOW + 3 * HOUR;
    let mut history = five_hour_history(resets, &[(80, 30.0), (20, 50.0)]);
    history.push(snapshot(
        SnapshotSource::Estimate,
        NOW - 60 * MINUTE,
        five(30.0, resets),
        None,
    ));
    history.push(snapshot(
        SnapshotSource::Estimate,
        NOW - MINUTE,
        five(60.0, resets),
        None,
    ));
    history.sort_by_key(|snapshot| snapshot.taken_at_ms);
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &only_five_hour(),
    );
    let window = decision.reason.window.unwrap();
    assert_eq!(window.source, SnapshotSource::Estimate);
    assert_eq!(window.target_percent, 90.0);
    assert!(decision.delay_ms > 0, "{}", decision.reason);
    assert!(decision
        .reason
        .to_string()
        .contains("on the local estimate"));
}

#[test]
fn under_target_at_the_current_rate_means_no_delay() {
    // 2 h into the window at 20 %, 10 %/h: 20 + 3 h * 10 = 50 % at reset.
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(60, 10.0), (30, 15.0), (0, 20.0)]);
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &only_five_hour(),
    );
    assert_eq!(decision.delay_ms, 0);
    assert_eq!(decision.reason.verdict, Verdict::OnPace);
    let window = decision.reason.window.unwrap();
    assert!((window.projected_percent - 50.0).abs() < 0.5, "{window:?}");
}

#[test]
fn ahead_of_pace_stretches_each_cycle_by_the_needed_factor() {
    // 2 h in at 60 %, 30 %/h over the last hour: 150 % at reset. Allowed:
    // (95 - 60) / 3 h = 11.67 %/h, so cycles stretch 30 / 11.67 = 2.571x;
    // 30 s of work per cycle means 30 * 1.571 = 47 s of sleep.
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &only_five_hour(),
    );
    assert_eq!(decision.reason.verdict, Verdict::Ahead);
    assert_eq!(decision.delay_ms, 47_000);
    let window = decision.reason.window.unwrap();
    assert_eq!(window.kind, WindowKind::FiveHour);
    assert!((window.projected_percent - 150.0).abs() < 0.5);
    assert!((window.pace_percent - 38.0).abs() < 0.5);
    assert!(decision.reason.holds_pace);
    assert_eq!(
        decision.user_message(),
        "pace-maker: pausing 47 s, 5-hour window at 60 % vs 38 % pace"
    );
}

#[test]
fn the_sessions_own_sleep_is_taken_out_of_the_burn_rate() {
    // Same rise as above, but the session slept half of each minute: left
    // alone it would burn twice as fast, so it must stay slowed down.
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    let rested = decide_with(
        &history,
        &steady_calls(HOUR, 60_000, 30_000),
        300,
        &only_five_hour(),
    );
    let window = rested.reason.window.unwrap();
    // The last half hour unpaced at 60 %/h (twice the observed 30), the
    // hours after at the window's long-run unpaced rate, 40 %/h (the first
    // hour of its two, before the session's calls, was unpaced already):
    // 60 + 30 + 100 = 190 % projected.
    assert!((window.projected_percent - 190.0).abs() < 1.0, "{window:?}");
    // 30 s work per cycle, stretched by 130 / 35 = 3.71: 81 s of sleep.
    assert_eq!(rested.delay_ms, 81_000);
    let unrested = decide_with(
        &history,
        &steady_calls(HOUR, 60_000, 0),
        300,
        &only_five_hour(),
    );
    assert!(
        unrested.reason.window.unwrap().projected_percent < window.projected_percent - 30.0,
        "without the sleeps the same rise projects far lower"
    );
}

#[test]
fn a_fresh_sessions_first_sleeps_are_not_the_whole_spans_sleep_share() {
    // 45 % two hours into the window (the window's start and a reading
    // refreshed a minute ago at the same figure): 22.5 %/h, pace 38 %.
    // The session began five minutes ago and has slept 10 s after each of
    // its 3 s cycles. Those sleeps are five minutes of a two-hour span that
    // someone unseen burnt unpaced: the unpaced rate stays about 22.5 %/h,
    // not the 4x that reading its own sleeps as the span's share gives.
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(5, 45.0), (1, 45.0)]);
    let calls = steady_calls(5 * MINUTE, 13_000, 10_000);
    let decision = decide_with(&history, &calls, 300, &only_five_hour());
    let window = decision.reason.window.unwrap();
    assert!(
        window.unpaced_percent_per_hour < 1.1 * window.burn_percent_per_hour,
        "{window:?}"
    );
    // 3 s of work per cycle, stretched by about 22.5 / 16.7 = 1.35.
    assert!(decision.delay_ms <= 2_000, "{decision:?}");
}

#[test]
fn a_session_that_just_joined_counts_the_other_sessions_sleep() {
    // Two sessions held the account at 30 % an hour by sleeping half of
    // each minute. A third joins: its own three calls have no sleep.
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    let newcomer = steady_calls(2 * MINUTE, 60_000, 0);
    let alone = decide_with(&history, &newcomer, 300, &only_five_hour());
    // Alone it takes the held-down rate for its own: 60 + 30 x 3 = 150 %
    // projected, so it sleeps, but far less than the others do.
    let alone_window = alone.reason.window.unwrap();
    assert!(
        (alone_window.unpaced_percent_per_hour - 30.0).abs() < 1.0,
        "{alone_window:?}"
    );
    let paced = steady_calls(HOUR, 60_000, 30_000);
    let others: [&[ToolCall]; 2] = [&paced, &paced];
    let joined = decide_among(&history, &newcomer, &others);
    let window = joined.reason.window.unwrap();
    // With the others' sleeps the account's unpaced rate is far above the
    // 30 %/h it observes, and the newcomer slows like the others.
    assert!(
        window.projected_percent > alone_window.projected_percent + 40.0,
        "{window:?} against {alone_window:?}"
    );
    assert!(
        2 * joined.delay_ms > 3 * alone.delay_ms,
        "{} against {} alone",
        joined.delay_ms,
        alone.delay_ms
    );
    // A session with a full history of its own is moved little by others
    // that paced the same way (alone it sleeps 81 s; the others' sleeps
    // weigh more against the unseen first hour of the window's long run).
    let settled = decide_among(&history, &paced, &others);
    assert!(
        (81_000..=101_000).contains(&settled.delay_ms),
        "{settled:?}"
    );
}

#[test]
fn right_after_a_reset_an_old_high_reading_never_throttles() {
    let resets = NOW - 2 * MINUTE;
    let history = five_hour_history(resets, &[(40, 80.0), (10, 97.0), (5, 98.0)]);
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &only_five_hour(),
    );
    assert_eq!(decision.delay_ms, 0);
    assert_eq!(decision.reason.window.unwrap().utilization_percent, 0.0);
}

#[test]
fn a_few_percent_early_in_a_fresh_window_is_not_taken_for_a_steep_rate() {
    // 5 min after the reset at 3 %: divided by at least 15 min, 12 %/h.
    let resets = NOW + 5 * HOUR - 5 * MINUTE;
    let history = five_hour_history(resets, &[(0, 3.0)]);
    let decision = decide_with(
        &history,
        &steady_calls(5 * MINUTE, 30_000, 0),
        300,
        &only_five_hour(),
    );
    assert_eq!(decision.delay_ms, 0, "{}", decision.reason);
}

#[test]
fn the_weekly_window_binds_when_it_is_the_one_ahead() {
    let five_resets = NOW + 3 * HOUR;
    let week_resets = NOW + 24 * HOUR;
    let week = |percent| {
        Some(WindowReading {
            percent,
            resets_at_s: Some(week_resets / 1000),
        })
    };
    let history = vec![
        snapshot(
            SnapshotSource::Api,
            NOW - 24 * HOUR,
            five(0.0, NOW - 22 * HOUR),
            week(70.0),
        ),
        snapshot(
            SnapshotSource::Api,
            NOW - 60 * MINUTE,
            five(10.0, five_resets),
            week(84.0),
        ),
        snapshot(
            SnapshotSource::Api,
            NOW,
            five(20.0, five_resets),
            week(85.0),
        ),
    ];
    // Weekly: 15 %/day, 85 + 15 = 100 % at reset vs 95 %.
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &PacingSettings::default(),
    );
    let window = decision.reason.window.unwrap();
    assert_eq!(window.kind, WindowKind::SevenDay, "{}", decision.reason);
    assert!(decision.delay_ms > 0);
    // With the weekly window switched off nothing is ahead.
    let five_only = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &only_five_hour(),
    );
    assert_eq!(five_only.delay_ms, 0, "{}", five_only.reason);
}

#[test]
fn a_sleep_never_outlasts_the_prompt_cache_and_the_reason_says_pace_is_not_held() {
    // Far ahead: 4 h left at 80 %, 40 %/h over the last hour.
    let resets = NOW + 4 * HOUR;
    let history = five_hour_history(resets, &[(60, 40.0), (0, 80.0)]);
    let settings = PacingSettings {
        max_delay_seconds: 1000,
        hook_timeout_seconds: 1200,
        ..only_five_hour()
    };
    let decision = decide_with(&history, &steady_calls(HOUR, 30_000, 0), 300, &settings);
    // TTL 300 s - margin 30 s - 30 s of this cycle's work already used.
    assert_eq!(decision.delay_ms, 240_000);
    assert_eq!(decision.reason.limit, Some(Limit::CacheTtl));
    assert!(!decision.reason.holds_pace);
    assert!(decision.reason.to_string().contains("prompt-cache TTL"));
    assert!(decision.user_message().contains("300 s prompt-cache TTL"));
    // With a one-hour cache the whole sleep fits, longer than the 5-minute
    // cache allowed: 40 %/h against 3.75 %/h allowed stretches 30 s of
    // work by about 10x (less the calm stretch's share: the last hour rose
    // slower than the window so far).
    let hour_cache = decide_with(&history, &steady_calls(HOUR, 30_000, 0), 3600, &settings);
    assert!(hour_cache.delay_ms >= 280_000, "{hour_cache:?}");
    assert_eq!(hour_cache.reason.limit, None);
    assert!(hour_cache.reason.holds_pace);
}

#[test]
fn past_the_target_the_delay_is_the_longest_allowed() {
    let resets = NOW + 2 * HOUR;
    let history = five_hour_history(resets, &[(60, 90.0), (0, 96.0)]);
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        3600,
        &only_five_hour(),
    );
    assert_eq!(decision.delay_ms, 240_000);
    assert_eq!(decision.reason.needed_delay_ms, 2 * HOUR + 1000);
    assert!(!decision.reason.holds_pace);
    assert_eq!(decision.reason.limit, Some(Limit::MaxDelay));
}

#[test]
fn a_window_never_asks_for_a_sleep_past_its_own_reset() {
    // Past the target three minutes before the reset: sleeping until the
    // reset is enough, the maximum (4 min) would eat into the new window.
    let resets = NOW + 3 * MINUTE;
    let history = five_hour_history(resets, &[(60, 90.0), (0, 96.0)]);
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        3600,
        &only_five_hour(),
    );
    assert_eq!(decision.delay_ms, 3 * MINUTE + 1000);
    assert_eq!(decision.reason.needed_delay_ms, 3 * MINUTE + 1000);
}

#[test]
fn near_the_reset_the_sleep_leaves_time_for_a_last_cycle_that_fits() {
    // 94.5 % four minutes before the reset, rising 90 %/h: a cycle of 30 s
    // of work costs 0.75 %, so one more lands within half a cycle of the
    // target. Holding pace would take a 330 s sleep; it ends a cycle's
    // work before the reset instead.
    let resets = NOW + 4 * MINUTE;
    let history = five_hour_history(resets, &[(30, 49.5), (15, 72.0), (0, 94.5)]);
    let calls = steady_calls(HOUR, 30_000, 0);
    let decision = decide_with(&history, &calls, 3600, &only_five_hour());
    assert_eq!(
        decision.reason.needed_delay_ms,
        4 * MINUTE - 30_000,
        "{}",
        decision.reason
    );
    // At 95 % there is no room for a last cycle: the sleep runs to the reset.
    let full = five_hour_history(resets, &[(30, 50.0), (15, 72.5), (0, 95.0)]);
    let decision = decide_with(&full, &calls, 3600, &only_five_hour());
    assert_eq!(
        decision.reason.needed_delay_ms,
        4 * MINUTE + 1000,
        "{}",
        decision.reason
    );
}

#[test]
fn in_the_last_half_hour_the_requests_sent_since_the_reading_can_end_the_window() {
    // 90 % five minutes ago, ten minutes before the reset, after half an
    // hour of a request a minute at 0.5 % each. Since that reading the
    // session sent a request every 10 s: thirty of them, 15 % at the rise
    // per request the readings showed, past the target. The rate per
    // minute of work carried forward sees only 2.5 % of it; counting the
    // requests ends the window: the sleep runs to the reset.
    let resets = NOW + 10 * MINUTE;
    let history = five_hour_history(
        resets,
        &[
            (35, 75.0),
            (30, 77.5),
            (25, 80.0),
            (20, 82.5),
            (15, 85.0),
            (10, 87.5),
            (5, 90.0),
        ],
    );
    let mut calls: Vec<ToolCall> = (0..60)
        .map(|index| ToolCall {
            at_ms: NOW - 65 * MINUTE + index * MINUTE,
            delay_ms: 0,
        })
        .collect();
    calls.extend((0..30).map(|index| ToolCall {
        at_ms: NOW - 5 * MINUTE + index * 10_000,
        delay_ms: 0,
    }));
    calls.push(ToolCall {
        at_ms: NOW,
        delay_ms: 0,
    });
    let decision = decide_with(&history, &calls, 3600, &only_five_hour());
    assert_eq!(
        decision.reason.needed_delay_ms,
        10 * MINUTE + 1000,
        "{}",
        decision.reason
    );
    // The same requests two hours before the reset only count through the
    // rates: the window is not ended.
    let early = five_hour_history(
        NOW + 2 * HOUR,
        &[
            (35, 45.0),
            (30, 47.5),
            (25, 50.0),
            (20, 52.5),
            (15, 55.0),
            (10, 57.5),
            (5, 60.0),
        ],
    );
    let decision = decide_with(&early, &calls, 3600, &only_five_hour());
    assert!(
        decision.reason.needed_delay_ms < 2 * HOUR,
        "{}",
        decision.reason
    );
}

#[test]
fn after_a_lull_the_requests_since_the_reading_are_priced_at_the_windows_own_rise() {
    // 90 % two minutes ago, five minutes before the reset, after a lull
    // of 50 minutes: the half hour before the reading has no request to
    // price the new ones by. The window rose 90 % over its 150 requests,
    // 0.6 % each; the nine sent since the reading make 5.4 %, past the
    // target: the window is done and the sleep runs to the reset.
    let resets = NOW + 5 * MINUTE;
    let history = five_hour_history(resets, &[(200, 60.0), (120, 80.0), (45, 90.0), (2, 90.0)]);
    let mut calls: Vec<ToolCall> = (0..150)
        .map(|index| ToolCall {
            at_ms: NOW - 280 * MINUTE + index * 90_000,
            delay_ms: 0,
        })
        .collect();
    let burst: Vec<ToolCall> = (0..9)
        .map(|index| ToolCall {
            at_ms: NOW - 110_000 + index * 12_000,
            delay_ms: 0,
        })
        .collect();
    calls.extend(burst.iter().copied());
    calls.push(ToolCall {
        at_ms: NOW,
        delay_ms: 0,
    });
    let decision = decide_with(&history, &calls, 3600, &only_five_hour());
    assert_eq!(
        decision.reason.needed_delay_ms,
        5 * MINUTE + 1000,
        "{}",
        decision.reason
    );
    // Two requests since the reading (1.2 %) leave room: no such sleep.
    let mut fewer = calls[..150].to_vec();
    fewer.extend(burst[..2].iter().copied());
    fewer.push(ToolCall {
        at_ms: NOW,
        delay_ms: 0,
    });
    let decision = decide_with(&history, &fewer, 3600, &only_five_hour());
    assert!(
        decision.reason.needed_delay_ms < 5 * MINUTE,
        "{}",
        decision.reason
    );
}

#[test]
fn a_burst_the_capped_sleeps_can_barely_hold_is_projected_to_the_reset() {
    // Three hours into the window: 45 % over the first two and a half,
    // then 70 %/h for the last half hour, at 80 % now with two hours left.
    // At 70 %/h until the reset the window needs cycles of 30 s stretched
    // 9.3-fold, more than 0.85 of what the 240 s sleeps give (9x): the
    // burst is projected to the reset and the sleep is the longest. The
    // long-run rate's calm hours would have asked for 2 minutes.
    let resets = NOW + 2 * HOUR;
    let history = five_hour_history(
        resets,
        &[
            (60, 40.0),
            (30, 45.0),
            (25, 50.8),
            (20, 56.7),
            (15, 62.5),
            (10, 68.3),
            (5, 74.2),
            (0, 80.0),
        ],
    );
    let calls = steady_calls(HOUR, 30_000, 0);
    let decision = decide_with(&history, &calls, 3600, &only_five_hour());
    assert_eq!(decision.delay_ms, 240_000, "{}", decision.reason);
    assert!(!decision.reason.holds_pace);
}

#[test]
fn the_burst_is_projected_to_the_reset_only_near_what_the_sleeps_can_hold() {
    // 30 s cycles, 240 s sleeps: at most a 9-fold stretch.
    assert!(hold_to_reset(135.0, 15.0, 30_000, 240_000));
    assert!(hold_to_reset(115.0, 15.0, 30_000, 240_000));
    assert!(!hold_to_reset(114.0, 15.0, 30_000, 240_000));
    // No room, no work: the ordinary rules decide.
    assert!(!hold_to_reset(135.0, 0.0, 30_000, 240_000));
    // With no sleep allowed, any stretch is past what sleeps give; a rise
    // that fits the room is never projected.
    assert!(hold_to_reset(16.0, 15.0, 30_000, 0));
    assert!(!hold_to_reset(14.0, 15.0, 30_000, 0));
}

#[test]
fn a_small_change_keeps_the_previous_delay() {
    // The same situation as the 47 s case, the previous call slept 45 s.
    let resets = NOW + 3 * HOUR;
    let history = five_hour_history(resets, &[(60, 30.0), (30, 45.0), (0, 60.0)]);
    let mut calls: Vec<ToolCall> = steady_calls(HOUR, 30_000, 0)
        .into_iter()
        .filter(|call| call.at_ms < NOW - 75_000)
        .collect();
    calls.push(ToolCall {
        at_ms: NOW - 75_000,
        delay_ms: 45_000,
    });
    calls.push(ToolCall {
        at_ms: NOW,
        delay_ms: 0,
    });
    let decision = decide_with(&history, &calls, 300, &only_five_hour());
    assert_eq!(decision.delay_ms, 45_000, "{}", decision.reason);
}

#[test]
fn the_max_delay_never_comes_closer_to_the_hook_timeout_than_the_margin() {
    let settings = PacingSettings {
        max_delay_seconds: 500,
        hook_timeout_seconds: 300,
        ..PacingSettings::default()
    };
    assert_eq!(settings.longest_delay_ms(), 270_000);
}

#[test]
fn parallel_calls_count_as_one_cycle_and_idle_gaps_as_no_work() {
    let calls = [
        ToolCall {
            at_ms: 0,
            delay_ms: 10_000,
        },
        ToolCall {
            at_ms: 100,
            delay_ms: 10_000,
        },
        ToolCall {
            at_ms: 40_100,
            delay_ms: 0,
        },
        // A person was away for an hour.
        ToolCall {
            at_ms: 3_640_100,
            delay_ms: 0,
        },
        ToolCall {
            at_ms: 3_670_100,
            delay_ms: 0,
        },
    ];
    let activity = activity(&calls, 0, 4_000_000);
    assert_eq!(activity.sleep_ms, 10_100);
    assert_eq!(activity.work_ms, 30_000 + 30_000);
}

#[test]
fn a_sleep_straddling_the_start_of_a_span_counts_for_its_part_inside() {
    // A 200 s sleep from 0, work until 230 s, the current call at 230 s;
    // a reading taken at 100 s sees 100 s of sleep and 30 s of work since.
    let calls = [
        ToolCall {
            at_ms: 0,
            delay_ms: 200_000,
        },
        ToolCall {
            at_ms: 230_000,
            delay_ms: 0,
        },
    ];
    let since = activity(&calls, 100_000, 230_000);
    assert_eq!(since.sleep_ms, 100_000);
    assert_eq!(since.work_ms, 30_000);
    let whole = activity(&calls, 0, 230_000);
    assert_eq!((whole.sleep_ms, whole.work_ms), (200_000, 30_000));
}

#[test]
fn a_persons_pause_is_not_a_cycles_work() {
    // Cycles of 30 s for half an hour, one of them followed by a 10-minute
    // pause (under the idle gap, so it counts as activity).
    let mut calls = steady_calls(30 * MINUTE, 30_000, 0);
    for call in calls
        .iter_mut()
        .filter(|call| call.at_ms > NOW - 12 * MINUTE)
    {
        call.at_ms += 10 * MINUTE;
    }
    calls.retain(|call| call.at_ms <= NOW);
    calls.last_mut().expect("calls").at_ms = NOW;
    assert_eq!(typical_work_per_cycle(&calls, NOW), 30_000);
}

/// The 5-hour window two hours in: a steady 12 %/h, then the last two
/// polls rising 4 % each (a burst starting).
fn a_burst_starting(resets: i64) -> Vec<UsageSnapshot> {
    five_hour_history(
        resets,
        &[
            (30, 40.0),
            (25, 41.0),
            (20, 42.0),
            (15, 43.0),
            (10, 44.0),
            (5, 48.0),
            (0, 52.0),
        ],
    )
}

#[test]
fn a_bursts_start_shows_in_the_last_two_polls_but_a_cache_rebuild_does_not() {
    let resets = NOW + 3 * HOUR;
    let history = a_burst_starting(resets);
    let working = steady_calls(HOUR, 30_000, 0);
    let burst = decide_with(&history, &working, 300, &only_five_hour());
    // The same rise right after a 6-minute pause (longer than the 5-minute
    // cache lives) is the cache rebuilt: the half hour's slope stands.
    let mut paused = working.clone();
    paused.retain(|call| call.at_ms <= NOW - 9 * MINUTE || call.at_ms >= NOW - 3 * MINUTE);
    let rebuild = decide_with(&history, &paused, 300, &only_five_hour());
    assert!(rebuild.delay_ms > 0, "{rebuild:?}");
    // 48 %/h over the last 10 minutes against about 22 %/h over the half
    // hour: the burst sleeps longer at once.
    assert!(
        burst.delay_ms > rebuild.delay_ms * 3 / 2,
        "{burst:?} against {rebuild:?}"
    );
}

#[test]
fn a_calm_end_of_a_window_is_not_paced_as_if_a_burst_ran() {
    // Half an hour left at 87.5 %: the window averaged 19 %/h, the last
    // half hour 9 %/h. At 9 %/h it lands at 92 %; the room kept for a
    // burst that starts now and runs 6 minutes unseen (about 1 %) still
    // fits. The window's active rate over the whole half hour would not.
    let resets = NOW + 30 * MINUTE;
    let history = five_hour_history(
        resets,
        &[
            (240, 10.0),
            (120, 45.0),
            (60, 78.0),
            (30, 83.0),
            (20, 84.5),
            (10, 86.0),
            (0, 87.5),
        ],
    );
    let decision = decide_with(
        &history,
        &steady_calls(HOUR, 30_000, 0),
        300,
        &only_five_hour(),
    );
    assert_eq!(decision.delay_ms, 0, "{}", decision.reason);
    let window = decision.reason.window.expect("a window");
    assert!(
        window.projected_percent > 92.0 && window.projected_percent < 95.0,
        "{}",
        decision.reason
    );
}

/// Builds a 5-hour history with a constant rate: `elapsed_ms` into the
/// window, `percent` now, readings every five minutes of the last hour
/// (rounded down to whole percent, as the real sources report, when asked).
fn linear_history(elapsed_ms: i64, percent: f64, whole_percent: bool) -> Vec<UsageSnapshot> {
    let start = NOW - elapsed_ms;
    let resets = start + 5 * HOUR;
    let mut history = Vec::new();
    let mut at = NOW;
    while at >= (NOW - HOUR).max(start) {
        let share = (at - start) as f64 / elapsed_ms as f64;
        history.push(snapshot(
            SnapshotSource::Api,
            at,
            five(
                if whole_percent {
                    (percent * share).floor()
                } else {
                    percent * share
                },
                resets,
            ),
            None,
        ));
        at -= 5 * MINUTE;
    }
    history.reverse();
    if let Some(last) = history.last_mut() {
        last.five_hour = five(percent, resets);
    }
    history
}

proptest! {
    #[test]
    fn the_delay_stays_within_zero_and_max_delay(
        elapsed_minutes in 1i64..299,
        percent in 0.0f64..100.0,
        delay in 0i64..300_000,
        every in 2_000i64..200_000,
        max_delay in 0u64..600,
        ttl in prop::sample::select(vec![300u64, 3600]),
    ) {
        let settings = PacingSettings {
            max_delay_seconds: max_delay,
            hook_timeout_seconds: max_delay + 30,
            seven_day: false,
            ..PacingSettings::default()
        };
        let history = linear_history(elapsed_minutes * MINUTE, percent, true);
        let calls = steady_calls(HOUR, every, delay);
        let decision = decide_with(&history, &calls, ttl, &settings);
        prop_assert!(decision.delay_ms >= 0);
        prop_assert!(decision.delay_ms <= max_delay as i64 * 1000, "{decision:?}");
    }

    #[test]
    fn the_delay_is_zero_whenever_the_projection_is_under_target(
        elapsed_minutes in 16i64..299,
        rate_per_hour in 0.0f64..40.0,
        target in 50.0f64..100.0,
    ) {
        // A constant rate with whole-percent readings; the projection is
        // computed here, independently, and kept a whole percent clear of
        // the target (the readings are rounded down).
        let elapsed = elapsed_minutes * MINUTE;
        let percent = rate_per_hour * elapsed as f64 / HOUR as f64;
        let left_hours = (5 * HOUR - elapsed) as f64 / HOUR as f64;
        let projection = percent + rate_per_hour * left_hours;
        prop_assume!(percent < 100.0);
        prop_assume!(projection < target - 1.0);
        let settings = PacingSettings {
            target_percent: target,
            seven_day: false,
            ..PacingSettings::default()
        };
        let history = linear_history(elapsed, percent, false);
        let decision = decide_with(&history, &steady_calls(HOUR, 30_000, 0), 300, &settings);
        prop_assert_eq!(decision.delay_ms, 0, "{}", decision.reason);
    }

    #[test]
    fn for_fixed_time_and_history_the_delay_never_falls_as_utilization_rises(
        elapsed_minutes in 1i64..299,
        low in 0.0f64..100.0,
        extra in 0.0f64..50.0,
        delay in 0i64..240_000,
        every in 2_000i64..120_000,
        weekly in 0.0f64..100.0,
        estimate in any::<bool>(),
    ) {
        let high = (low + extra).min(100.0);
        let history = linear_history(elapsed_minutes * MINUTE, low, true);
        let calls = steady_calls(3 * HOUR, every, delay);
        let settings = PacingSettings::default();
        let week = Some(WindowReading { percent: weekly, resets_at_s: Some((NOW + 50 * HOUR) / 1000) });
        let with = |percent: f64| {
            let mut history = history.clone();
            let last = history.last_mut().unwrap();
            last.five_hour = last.five_hour.map(|reading| WindowReading { percent, ..reading });
            last.seven_day = week;
            if estimate {
                last.source = SnapshotSource::Estimate;
                last.taken_at_ms = NOW - 1000;
                // The official figures are stale.
                for snapshot in history.iter_mut().rev().skip(1) {
                    snapshot.taken_at_ms -= 2 * HOUR;
                }
            }
            decide_with(&history, &calls, 300, &settings)
        };
        let (lower, higher) = (with(low), with(high));
        prop_assert!(
            lower.delay_ms <= higher.delay_ms,
            "{} -> {}: {} then {}", low, high, lower.reason, higher.reason
        );
    }

    #[test]
    fn no_single_delay_reaches_the_prompt_cache_ttl(
        elapsed_minutes in 1i64..299,
        percent in 0.0f64..100.0,
        ttl in 1u64..4000,
        margin in 0u64..120,
        max_delay in 0u64..4000,
        every in 2_000i64..600_000,
        delay in 0i64..600_000,
        tool in 0i64..600_000,
    ) {
        let settings = PacingSettings {
            max_delay_seconds: max_delay,
            hook_timeout_seconds: max_delay + 30,
            cache_ttl_margin_seconds: margin,
            seven_day: false,
            ..PacingSettings::default()
        };
        let history = linear_history(elapsed_minutes * MINUTE, percent, true);
        let calls = steady_calls(HOUR, every, delay);
        let decision = decide(&PolicyInput {
            now_ms: NOW,
            snapshots: &history,
            calls: &calls,
            other_sessions: &[],
            tool_duration_ms: Some(tool),
            cache_ttl_seconds: ttl,
            settings: &settings,
        });
        prop_assert!(decision.delay_ms < ttl as i64 * 1000, "{decision:?}");
    }
}
