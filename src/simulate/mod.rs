//! `pace-maker simulate`: missions against the usage windows, to compare
//! pacing policies on the number that matters: how much work gets done
//! without ever hitting a limit.
//!
//! - `scenario`: what runs (also the `--trace` JSON format) and the built-ins;
//! - `engine`: the discrete-event run (sessions, windows, sources, cache);
//! - `policies`: ours (the hook's own function), the reference pacer's
//!   two formulas, and none;
//! - `metrics`: lockouts, cycles, efficiency against what the budgets allowed;
//! - `report`: the table, JSON, the terminal chart and the SVG.
//!
//! Deterministic: one seed, one outcome, whatever the machine.

pub mod engine;
pub mod metrics;
pub mod policies;
pub mod report;
pub mod scenario;

use serde::Serialize;

use crate::config::Config;
use engine::Options;
use metrics::{Allowance, Metrics, Sample};
use scenario::Scenario;

/// Minutes between the points of the over-time chart.
pub const SAMPLE_MINUTES: f64 = 5.0;

/// The seeds `--compare` averages efficiency over (1 to this). One seed
/// is one draw of the cycle costs: when two policies both use a window's
/// whole budget, which of them gets a cycle or two more is chance (see
/// docs/simulator.md), so the comparison of policies reads the mean.
pub const COMPARE_SEEDS: u64 = 32;

/// One policy's run of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub metrics: Metrics,
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// Every run of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub allowance: Allowance,
    pub runs: Vec<RunResult>,
    /// Each policy over seeds 1 to `COMPARE_SEEDS` (with `--compare`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_seeds: Option<Vec<SeedMean>>,
}

/// One policy's figures over many seeds of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedMean {
    pub policy: String,
    pub seeds: u64,
    pub mean_efficiency: f64,
    pub mean_lockout_minutes: f64,
    pub max_lockout_minutes: f64,
}

/// Runs a scenario under each named policy with seeds 1 to `seeds` and
/// averages: the comparison that single-seed chance cannot tip.
pub fn over_seeds(
    scenario: &Scenario,
    policies: &[&str],
    seeds: u64,
) -> Result<Vec<SeedMean>, String> {
    let mut means: Vec<SeedMean> = policies
        .iter()
        .map(|name| SeedMean {
            policy: name.to_string(),
            seeds,
            mean_efficiency: 0.0,
            mean_lockout_minutes: 0.0,
            max_lockout_minutes: 0.0,
        })
        .collect();
    let mut seeded = scenario.clone();
    for seed in 1..=seeds {
        seeded.seed = seed;
        let result = simulate_runs(&seeded, policies, false)?;
        for (mean, run) in means.iter_mut().zip(&result.runs) {
            mean.mean_efficiency += run.metrics.efficiency / seeds as f64;
            mean.mean_lockout_minutes += run.metrics.lockout_minutes / seeds as f64;
            mean.max_lockout_minutes = mean.max_lockout_minutes.max(run.metrics.lockout_minutes);
        }
    }
    Ok(means)
}

/// The target the ceiling is computed at: the default `pacing.target_percent`.
pub fn target_percent() -> f64 {
    Config::default().pacing.target_percent
}

/// Runs a scenario under each named policy.
pub fn simulate(scenario: &Scenario, policies: &[&str]) -> Result<ScenarioResult, String> {
    simulate_runs(scenario, policies, true)
}

fn simulate_runs(
    scenario: &Scenario,
    policies: &[&str],
    with_samples: bool,
) -> Result<ScenarioResult, String> {
    scenario.validate()?;
    let target = target_percent();
    let free = engine::run(
        scenario,
        &mut policies::NoPacing,
        Options {
            limits: false,
            target_percent: target,
        },
    );
    let allowance = metrics::allowance(&free, target);
    let mut runs = Vec::with_capacity(policies.len());
    for name in policies {
        let mut pacer = policies::by_name(name).ok_or_else(|| {
            format!(
                "unknown policy `{name}` (one of {})",
                policies::POLICY_NAMES.join(", ")
            )
        })?;
        let trace = engine::run(
            scenario,
            pacer.as_mut(),
            Options {
                limits: true,
                target_percent: target,
            },
        );
        runs.push(RunResult {
            metrics: metrics::measure(pacer.name(), &trace, &allowance),
            samples: if with_samples {
                metrics::samples(&trace, SAMPLE_MINUTES, target)
            } else {
                Vec::new()
            },
        });
    }
    Ok(ScenarioResult {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: scenario.seed,
        allowance,
        runs,
        over_seeds: None,
    })
}
