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
pub mod estimate;
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

/// The seeds `--seeds` runs by default: one seed is one draw of the
/// mission, so a comparison of policies reads many.
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
    /// Each policy over seeds 1 to N (with `--seeds N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_seeds: Option<Vec<SeedMean>>,
}

/// One policy's figures over many seeds of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedMean {
    pub policy: String,
    pub seeds: u64,
    pub mean_efficiency: f64,
    /// Over the seeds where demand exceeds the budget (1.0 when none does).
    pub mean_work_vs_oracle: f64,
    pub min_work_vs_oracle: f64,
    pub mean_lockout_minutes: f64,
    pub max_lockout_minutes: f64,
    /// Seeds with any lockout.
    pub seeds_locked_out: u64,
    /// Needless delay summed over the seeds, and the seeds that had any.
    pub needless_delay_seconds: f64,
    pub seeds_with_needless_delay: u64,
    /// Seeds where demand exceeds the budget.
    pub seeds_over_budget: u64,
}

/// Runs a scenario under each named policy with seeds 1 to `seeds`, on
/// every core, and sums up.
pub fn over_seeds(
    scenario: &Scenario,
    policies: &[&str],
    seeds: u64,
) -> Result<Vec<SeedMean>, String> {
    scenario.validate()?;
    let threads = std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(1)
        .min(seeds.max(1) as usize);
    let results: Vec<Result<ScenarioResult, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut seeded = scenario.clone();
                    (1..=seeds)
                        .filter(|seed| (seed % threads as u64) as usize == thread)
                        .map(|seed| {
                            seeded.seed = seed;
                            simulate_runs(&seeded, policies, false)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a simulation thread"))
            .collect()
    });
    let mut means: Vec<SeedMean> = policies
        .iter()
        .map(|name| SeedMean {
            policy: name.to_string(),
            seeds,
            mean_efficiency: 0.0,
            mean_work_vs_oracle: 0.0,
            min_work_vs_oracle: f64::INFINITY,
            mean_lockout_minutes: 0.0,
            max_lockout_minutes: 0.0,
            seeds_locked_out: 0,
            needless_delay_seconds: 0.0,
            seeds_with_needless_delay: 0,
            seeds_over_budget: 0,
        })
        .collect();
    for result in results {
        let result = result?;
        let over = result.allowance.demand_exceeds_budget;
        for (mean, run) in means.iter_mut().zip(&result.runs) {
            let metrics = &run.metrics;
            mean.mean_efficiency += metrics.efficiency / seeds as f64;
            mean.mean_lockout_minutes += metrics.lockout_minutes / seeds as f64;
            mean.max_lockout_minutes = mean.max_lockout_minutes.max(metrics.lockout_minutes);
            mean.seeds_locked_out += u64::from(metrics.lockout_minutes > 0.0);
            mean.needless_delay_seconds += metrics.needless_delay_seconds;
            mean.seeds_with_needless_delay += u64::from(metrics.needless_delay_seconds > 0.0);
            if over {
                mean.seeds_over_budget += 1;
                mean.mean_work_vs_oracle += metrics.work_vs_oracle;
                mean.min_work_vs_oracle = mean.min_work_vs_oracle.min(metrics.work_vs_oracle);
            }
        }
    }
    for mean in &mut means {
        if mean.seeds_over_budget > 0 {
            mean.mean_work_vs_oracle /= mean.seeds_over_budget as f64;
        } else {
            mean.mean_work_vs_oracle = 1.0;
            mean.min_work_vs_oracle = 1.0;
        }
    }
    Ok(means)
}

/// The target the runs are measured at: the default `pacing.target_percent`.
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
            oracle: false,
        },
    );
    let oracle = engine::run(
        scenario,
        &mut policies::NoPacing,
        Options {
            limits: true,
            target_percent: target,
            oracle: true,
        },
    );
    let allowance = metrics::allowance(&free, &oracle, target);
    let mut runs = Vec::with_capacity(policies.len());
    for name in policies {
        let mut pacer = policies::by_name(name).ok_or_else(|| {
            format!(
                "unknown policy `{name}` (one of {})",
                policies::POLICY_NAMES.join(", ")
            )
        })?;
        let trace = engine::run(scenario, pacer.as_mut(), Options::paced(target));
        runs.push(RunResult {
            metrics: metrics::measure(pacer.name(), &trace, &allowance, target),
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
