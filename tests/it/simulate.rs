//! The simulator's verdict on the pacing policy, over every built-in
//! scenario, and `pace-maker simulate` as a person runs it.

use crate::support::Sandbox;
use pace_maker::simulate::{self, policies::POLICY_NAMES, scenario};

/// How far pace-maker's efficiency may trail the reference pacer's at one
/// seed before it counts as behind: two hundredths of the budget. At one
/// seed the two runs' windows open at different moments (the reference's
/// lockouts shift its own), so whether a burst's last cycles land before a
/// reset is chance; `bursty` at its default seed differs by 0.015 while
/// over seeds 1-32 pace-maker's mean is ahead, 0.982 against 0.973
/// (docs/simulator.md has the figures over 200 seeds).
const NOISE_BAND: f64 = 0.02;

#[test]
fn pace_maker_never_locks_out_adds_no_needless_delay_and_keeps_up_with_the_oracle() {
    let mut over_budget = 0;
    for scenario in scenario::built_in() {
        let result = simulate::simulate(&scenario, &POLICY_NAMES).unwrap();
        let run = |name: &str| {
            &result
                .runs
                .iter()
                .find(|run| run.metrics.policy == name)
                .unwrap()
                .metrics
        };
        let (ours, reference) = (run("pace-maker"), run("reference"));
        let name = &scenario.name;
        assert_eq!(ours.lockout_minutes, 0.0, "{name}: locked out");
        assert_eq!(
            ours.needless_delay_seconds, 0.0,
            "{name}: delay where no pacing stays under the target"
        );
        for metrics in result.runs.iter().map(|run| &run.metrics) {
            assert!(
                metrics.efficiency <= 1.0,
                "{name}: {} efficiency {}",
                metrics.policy,
                metrics.efficiency
            );
        }
        if result.allowance.demand_exceeds_budget {
            over_budget += 1;
            assert!(
                ours.work_vs_oracle >= 0.95,
                "{name}: {} of the oracle's work",
                ours.work_vs_oracle
            );
            // Against the reference, on the share of each complete window's
            // budget that became work (the runs' windows open at different
            // times, so their work by the end is not on one clock).
            assert!(
                ours.efficiency >= reference.efficiency - NOISE_BAND,
                "{name}: efficiency {} against the reference's {}",
                ours.efficiency,
                reference.efficiency
            );
            assert!(
                run("none").lockout_minutes > 0.0,
                "{name}: without pacing the demand should hit the limit"
            );
        } else {
            assert_eq!(ours.max_delay_seconds, 0.0, "{name}: a delay under budget");
        }
        // No sleep reaches the cache TTL, none rebuilds the cache.
        assert!(
            ours.max_delay_seconds < scenario.cache.ttl_seconds,
            "{name}: a {} s sleep",
            ours.max_delay_seconds
        );
        assert_eq!(
            ours.cache_rebuilds_from_sleeps, 0,
            "{name}: a sleep let the cache go cold"
        );
    }
    assert!(
        over_budget >= 12,
        "only {over_budget} scenarios over budget"
    );
}

#[test]
fn light_demand_stays_under_budget_and_gets_no_delay() {
    let light = scenario::find("light").unwrap();
    let result = simulate::simulate(&light, &["pace-maker"]).unwrap();
    assert!(!result.allowance.demand_exceeds_budget);
    let metrics = &result.runs[0].metrics;
    assert_eq!(metrics.mean_delay_seconds, 0.0);
    assert_eq!(metrics.cycles, result.allowance.free_cycles);
}

#[test]
fn sleeps_past_the_cache_ttl_cost_the_reference_rebuilds() {
    let cache = scenario::find("cache-5m").unwrap();
    let result = simulate::simulate(&cache, &["pace-maker", "reference"]).unwrap();
    let (ours, reference) = (&result.runs[0].metrics, &result.runs[1].metrics);
    assert!(reference.max_delay_seconds > cache.cache.ttl_seconds);
    assert!(reference.cache_rebuilds_from_sleeps > 5, "{reference:?}");
    assert_eq!(ours.cache_rebuilds_from_sleeps, 0);
    assert!(
        reference.efficiency < ours.efficiency - 0.03,
        "{reference:?}"
    );
}

#[test]
fn a_seed_gives_one_outcome() {
    let mut bursty = scenario::find("bursty").unwrap();
    let first = simulate::simulate(&bursty, &["pace-maker"]).unwrap();
    let again = simulate::simulate(&bursty, &["pace-maker"]).unwrap();
    assert_eq!(first.runs[0].metrics, again.runs[0].metrics);
    bursty.seed += 1;
    let other = simulate::simulate(&bursty, &["pace-maker"]).unwrap();
    assert_ne!(first.runs[0].metrics, other.runs[0].metrics);
}

#[test]
fn simulate_without_arguments_compares_every_policy_on_the_default_scenario() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command()
        .arg("simulate")
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(scenario::DEFAULT_SCENARIO), "{text}");
    for policy in POLICY_NAMES {
        let plain = pace_maker::simulate::report::plain_name(policy);
        assert!(
            lines.iter().any(|line| line.starts_with(plain)),
            "{policy} missing: {text}"
        );
    }
    assert!(text.contains("utilization at each reset"), "{text}");
    // No store, no log: the simulator touches nothing.
    assert!(!sandbox.tool_home().exists());
}

#[test]
fn simulate_fits_100_columns_names_policies_in_plain_words_and_says_what_next() {
    let sandbox = Sandbox::new();
    let run = |args: &[&str]| -> String {
        let output = sandbox
            .command()
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(output).unwrap()
    };
    for args in [
        &["simulate"][..],
        &["simulate", "--list"],
        &["simulate", "--scenario", "light"],
    ] {
        let text = run(args);
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "{args:?}: {line:?}");
        }
    }
    let text = run(&["simulate"]);
    for plain in [
        "pace-maker",
        "Python pacer v2",
        "Python pacer v1",
        "no pacing",
    ] {
        assert!(text.contains(plain), "{plain}: {text}");
    }
    // Internal ids are not row names.
    assert!(
        !text
            .lines()
            .any(|line| line.starts_with("reference") || line.starts_with("log-curve")),
        "{text}"
    );
    assert!(text.contains("docs/simulator.md"), "{text}");
    assert!(text.contains("`pace-maker install`"), "{text}");
    // --wide keeps every metric, past 100 columns.
    let wide = run(&["simulate", "--wide"]);
    assert!(
        wide.contains("rebuild share") && wide.contains("by sleeps"),
        "{wide}"
    );
    assert!(
        wide.lines().any(|line| line.chars().count() > 100),
        "{wide}"
    );
}

#[test]
fn simulate_json_covers_every_scenario_and_policy_with_compare() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command()
        .args(["simulate", "--compare", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let scenarios = value["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), scenario::built_in().len());
    for entry in scenarios {
        let runs = entry["runs"].as_array().unwrap();
        assert_eq!(runs.len(), POLICY_NAMES.len());
        assert!(runs[0]["metrics"]["efficiency"].is_number());
        assert!(runs[0]["metrics"]["lockout_minutes"].is_number());
        assert!(entry["allowance"]["allowed_cycles"].is_number());
        assert!(runs[0]["metrics"]["work_vs_oracle"].is_number());
        assert!(runs[0]["metrics"]["needless_delay_seconds"].is_number());
        // Seeds are run only when asked for.
        assert!(entry.get("over_seeds").is_none());
    }
    assert_eq!(value["target_percent"], 95.0);
}

#[test]
fn a_printed_trace_runs_like_the_built_in_it_came_from() {
    let sandbox = Sandbox::new();
    let trace = sandbox
        .command()
        .args(["simulate", "--scenario", "three-sessions", "--print-trace"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let path = sandbox.dir.path().join("trace.json");
    std::fs::write(&path, &trace).unwrap();
    let run = |args: &[&str]| {
        sandbox
            .command()
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let from_trace = run(&["simulate", "--trace", path.to_str().unwrap(), "--json"]);
    let built_in = run(&["simulate", "--scenario", "three-sessions", "--json"]);
    assert_eq!(from_trace, built_in);
    // --seed overrides the trace's own.
    let reseeded = run(&[
        "simulate",
        "--trace",
        path.to_str().unwrap(),
        "--seed",
        "99",
        "--json",
    ]);
    assert_ne!(from_trace, reseeded);
}

#[test]
fn simulate_writes_an_svg_chart_of_one_scenario() {
    let sandbox = Sandbox::new();
    let path = sandbox.dir.path().join("chart.svg");
    sandbox
        .command()
        .args(["simulate", "--scenario", "bursty", "--policy", "pace-maker"])
        .arg("--svg")
        .arg(&path)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("pace-maker"));
    assert!(svg.contains("even pace to target"));
    assert_eq!(svg.matches("<polyline").count(), 5);
    // Several scenarios cannot share one chart.
    sandbox
        .command()
        .args(["simulate", "--compare", "--svg"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(predicates::str::contains("hint: add --scenario NAME"));
}

#[test]
fn an_unknown_scenario_policy_or_bad_trace_is_an_error_with_a_hint() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["simulate", "--scenario", "nope"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "error: no built-in scenario `nope`",
        ))
        .stderr(predicates::str::contains(
            "hint: `pace-maker simulate --list`",
        ));
    sandbox
        .command()
        .args(["simulate", "--policy", "fastest"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no policy `fastest`"));
    let path = sandbox.dir.path().join("bad.json");
    std::fs::write(&path, r#"{"name": "x"}"#).unwrap();
    sandbox
        .command()
        .args(["simulate", "--trace"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(predicates::str::contains("is not a valid trace"))
        .stderr(predicates::str::contains("docs/simulator.md"));
}

#[test]
fn the_scenario_list_names_every_built_in() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command()
        .args(["simulate", "--list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    for scenario in scenario::built_in() {
        assert!(text.contains(&scenario.name));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]

    /// The share of a window's budget that became work counts only the
    /// cycles that kept every window under the target, whose costs add up
    /// to at most the window's rise to it: no policy, demand or seed gets
    /// an efficiency above 1.
    #[test]
    fn no_efficiency_is_above_one(
        seed in 1u64..10_000,
        scale in 0.2f64..4.0,
        hours in 2.0f64..9.0,
        name in proptest::sample::select(vec!["steady-heavy", "bursty", "late-start", "burst-after-lull"]),
    ) {
        let mut scenario = scenario::find(name).unwrap();
        scenario.seed = seed;
        scenario.duration_hours = hours;
        for session in &mut scenario.sessions {
            for phase in &mut session.phases {
                if let scenario::Distribution::Tagged(scenario::TaggedDistribution::Lognormal { median, .. }) =
                    &mut phase.cost_percent
                {
                    *median *= scale;
                }
            }
        }
        let result = simulate::simulate(&scenario, &POLICY_NAMES).unwrap();
        for run in &result.runs {
            proptest::prop_assert!(
                run.metrics.efficiency <= 1.0 + 1e-9,
                "{}: {}", run.metrics.policy, run.metrics.efficiency
            );
        }
    }
}
