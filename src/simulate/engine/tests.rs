use super::*;
use crate::simulate::policies::NoPacing;
use crate::simulate::scenario;

fn free() -> Options {
    Options {
        limits: false,
        target_percent: 95.0,
        oracle: false,
    }
}

#[test]
fn the_five_hour_window_opens_at_the_first_request_after_its_reset() {
    let scenario = scenario::find("burst-after-lull").unwrap();
    let trace = run(&scenario, &mut NoPacing, free());
    let windows = &trace.account.five_hour_windows;
    assert!(windows.len() >= 2, "{windows:?}");
    for pair in windows.windows(2) {
        assert_eq!(pair[0].ends_ms - pair[0].opened_ms, FIVE_HOUR_MS);
        // The next one opened with a request at or after the reset.
        assert!(pair[1].opened_ms >= pair[0].ends_ms);
        assert!(trace
            .requests
            .iter()
            .any(|request| request.at_ms == pair[1].opened_ms));
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let scenario = scenario::find("steady-heavy").unwrap();
    let first = run(&scenario, &mut NoPacing, free());
    let second = run(&scenario, &mut NoPacing, free());
    assert_eq!(first.requests, second.requests);
    assert!(first.completed[0] > 500);
}

/// Sleeps a fixed time after every call.
struct Sleeper(i64);

impl Pacer for Sleeper {
    fn name(&self) -> &'static str {
        "sleeper"
    }

    fn delay_ms(&mut self, _view: &mut View<'_>) -> i64 {
        self.0
    }
}

#[test]
fn pacing_delays_the_mission_but_never_skips_or_reorders_its_work() {
    let mut scenario = scenario::find("bursty").unwrap();
    scenario.cache.rebuild_percent_per_kilotoken = 0.0;
    let fast = run(&scenario, &mut NoPacing, free());
    let slow = run(&scenario, &mut Sleeper(20_000), free());
    assert!(slow.requests.len() < fast.requests.len());
    // The slow run's cycles are the fast run's first ones, in order, at
    // the same cost: the bursts come later, they are not skipped.
    for (slow, fast) in slow.requests.iter().zip(&fast.requests) {
        assert!((slow.cost - fast.cost).abs() < 1e-12);
        assert!(slow.at_ms >= fast.at_ms);
    }
}

#[test]
fn a_lockout_lasts_until_the_window_resets() {
    let scenario = scenario::find("steady-heavy").unwrap();
    let trace = run(&scenario, &mut NoPacing, Options::paced(95.0));
    let &(from, until) = trace.lockouts.first().expect("no pacing locks itself out");
    assert!(trace.account.percent(WindowKind::FiveHour, from) >= 100.0);
    let window = trace
        .account
        .five_hour_windows
        .iter()
        .find(|window| window.opened_ms <= from && from < window.ends_ms)
        .unwrap();
    assert_eq!(until, window.ends_ms);
}

#[test]
fn the_oracle_never_passes_the_target() {
    for name in ["steady-heavy", "burst-after-lull", "weekly-bound"] {
        let scenario = scenario::find(name).unwrap();
        let trace = run(
            &scenario,
            &mut NoPacing,
            Options {
                oracle: true,
                ..Options::paced(95.0)
            },
        );
        assert!(trace.lockouts.is_empty(), "{name}");
        assert!(
            trace.requests.iter().all(|request| request.within_target),
            "{name}"
        );
    }
}

#[test]
fn each_machine_sees_its_own_sources_and_sessions_only() {
    let scenario = scenario::find("two-machines").unwrap();
    let mut seen = Vec::new();
    struct Spy<'a>(&'a mut Vec<(usize, usize)>);
    impl Pacer for Spy<'_> {
        fn name(&self) -> &'static str {
            "spy"
        }
        fn delay_ms(&mut self, view: &mut View<'_>) -> i64 {
            self.0.push((view.session, view.other_sessions.len()));
            0
        }
    }
    run(&scenario, &mut Spy(&mut seen), Options::paced(95.0));
    assert!(seen.iter().any(|&(session, _)| session == 1));
    assert!(
        seen.iter().all(|&(_, others)| others == 0),
        "a session never sees the other machine's calls"
    );
}
