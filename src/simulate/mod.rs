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
}

/// The target the ceiling is computed at: the default `pacing.target_percent`.
pub fn target_percent() -> f64 {
    Config::default().pacing.target_percent
}

/// Runs a scenario under each named policy.
pub fn simulate(scenario: &Scenario, policies: &[&str]) -> Result<ScenarioResult, String> {
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
            samples: metrics::samples(&trace, SAMPLE_MINUTES, target),
        });
    }
    Ok(ScenarioResult {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: scenario.seed,
        allowance,
        runs,
    })
}
