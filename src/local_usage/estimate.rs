//! The fallback estimate: utilization when no official figure is fresh.
//!
//! estimate = last official reading + coefficient x what was used since,
//! where "what was used" is the local transcripts' cost at API prices
//! (a cost weighs models the way the limits appear to: an Opus token
//! counts for more than a Haiku one), and the coefficient (percent of a
//! window per dollar) is learnt per plan and window from pairs of
//! consecutive official readings: the rise in percent between them over
//! the local cost between them. The sums are kept in the store and
//! refined whenever new official readings have arrived since the last
//! refinement, with older pairs slowly fading so a change of limits is
//! followed. Without a calibrated coefficient there is no estimate: a
//! guess would slow a user down for nothing. Use of the same account on
//! another machine is invisible here: it shows as a higher coefficient,
//! which errs on the side of pacing more.
//!
//! The hook path calls [`current`]; it only works when the official figure
//! is stale, and then scans only appended transcript bytes, within a byte
//! budget (a scan that cannot finish within it gives no estimate this time
//! but keeps its progress for the next call).

use std::path::PathBuf;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::entry::TokenCounts;
use super::load::{self, LoadFilter};
use super::pricing;
use super::scanner::{self, ScanOptions};
use crate::config::Config;
use crate::store::{self, Store};
use crate::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowKind, WindowReading};

/// New transcript bytes a hook-path scan reads at most.
pub const HOOK_SCAN_BUDGET_BYTES: u64 = 32 << 20;
/// `meta` key: the time (ms) of the newest official reading folded into the calibration.
pub const META_CALIBRATED_THROUGH: &str = "local_usage_calibrated_through_ms";
/// Each new pair weighs this much more than everything before it (older pairs fade).
const FADE: f64 = 0.98;
/// Two readings belong to the same window when their resets differ by less than this.
const SAME_WINDOW_SECONDS: i64 = 600;
/// A new estimate row is stored at most this often when the figures do not change.
const STORE_EVERY_MS: i64 = 5 * 60_000;

/// The weight of a reply for the estimate: its cost at API prices, with
/// models the table does not know priced like the current Opus models.
pub fn weight(model: Option<&str>, tokens: &TokenCounts) -> f64 {
    model
        .and_then(|model| pricing::cost(model, tokens))
        .or_else(|| pricing::cost("claude-opus-4-5", tokens))
        .unwrap_or(0.0)
}

/// The learnt coefficient of one plan and window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub plan: String,
    pub window: WindowKind,
    /// Window percent per dollar of local usage.
    pub percent_per_dollar: f64,
    /// Pairs of official readings folded in.
    pub samples: u32,
    pub updated_at_ms: i64,
}

fn window_name(kind: WindowKind) -> &'static str {
    kind.key()
}

/// The stored calibration of a plan and window.
pub fn calibration(
    connection: &Connection,
    plan: &str,
    window: WindowKind,
) -> rusqlite::Result<Option<Calibration>> {
    connection
        .query_row(
            "SELECT percent_sum, cost_sum, samples, updated_at FROM usage_calibration
             WHERE plan = ?1 AND window = ?2",
            params![plan, window_name(window)],
            |row| {
                let percent: f64 = row.get(0)?;
                let cost: f64 = row.get(1)?;
                Ok(Calibration {
                    plan: plan.to_string(),
                    window,
                    percent_per_dollar: if cost > 0.0 { percent / cost } else { 0.0 },
                    samples: row.get::<_, i64>(2)? as u32,
                    updated_at_ms: row.get(3)?,
                })
            },
        )
        .optional()
}

/// The plan key calibrations are filed under: the subscription type and
/// rate-limit tier from Claude Code's credentials (only those two fields
/// are read), or `unknown`.
pub fn plan_key() -> String {
    use crate::usage::credentials::{self, LoginFacts};
    let path = credentials::credentials_file(&crate::paths::claude_dir());
    let facts = std::fs::read(path)
        .ok()
        .and_then(|bytes| credentials::login_facts(&bytes).ok().flatten());
    match facts {
        Some(LoginFacts {
            subscription_type: Some(kind),
            rate_limit_tier,
            ..
        }) => match rate_limit_tier {
            Some(tier) => format!("{kind}/{tier}"),
            None => kind,
        },
        _ => "unknown".to_string(),
    }
}

/// The used-since figures of one window, pure: `base` is the official
/// reading as it stands now, `used_dollars` what was used after it.
pub fn project_percent(base_percent: f64, used_dollars: f64, percent_per_dollar: f64) -> f64 {
    (base_percent + used_dollars.max(0.0) * percent_per_dollar).clamp(0.0, 100.0)
}

/// One pair of consecutive official readings of the same window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub from_ms: i64,
    pub to_ms: i64,
    pub percent_rise: f64,
}

/// The pairs a run of official readings (oldest first) gives for a window:
/// consecutive readings of the same window instance whose figure did not fall.
pub fn pairs(readings: &[UsageSnapshot], kind: WindowKind) -> Vec<Pair> {
    let mut out = Vec::new();
    for window in readings.windows(2) {
        let (earlier, later) = (&window[0], &window[1]);
        let (Some(a), Some(b)) = (earlier.window(kind), later.window(kind)) else {
            continue;
        };
        let same_window = match (a.resets_at_s, b.resets_at_s) {
            (Some(x), Some(y)) => (x - y).abs() < SAME_WINDOW_SECONDS,
            _ => false,
        };
        if !same_window || b.percent < a.percent || later.taken_at_ms <= earlier.taken_at_ms {
            continue;
        }
        out.push(Pair {
            from_ms: earlier.taken_at_ms,
            to_ms: later.taken_at_ms,
            percent_rise: b.percent - a.percent,
        });
    }
    out
}

/// Local weights in time order with running sums, to price any interval quickly.
struct Usage {
    times: Vec<i64>,
    /// `cumulative[i]` = weight of entries `0..i`.
    cumulative: Vec<f64>,
}

impl Usage {
    fn load(connection: &Connection, roots: &[PathBuf], since_ms: i64) -> anyhow::Result<Self> {
        let filter = LoadFilter {
            roots: Some(roots.to_vec()),
            project: None,
            since_ms: Some(since_ms),
        };
        let loaded = load::load(connection, &filter)?;
        let mut weighted: Vec<(i64, f64)> = loaded
            .entries
            .iter()
            .filter(|entry| entry.timestamp_ms > since_ms)
            .map(|entry| {
                (
                    entry.timestamp_ms,
                    weight(loaded.model_name(entry), &entry.tokens),
                )
            })
            .collect();
        weighted.sort_by_key(|(time, _)| *time);
        let mut cumulative = Vec::with_capacity(weighted.len() + 1);
        cumulative.push(0.0);
        let mut sum = 0.0;
        for (_, value) in &weighted {
            sum += value;
            cumulative.push(sum);
        }
        Ok(Self {
            times: weighted.into_iter().map(|(time, _)| time).collect(),
            cumulative,
        })
    }

    /// Weight of entries in `(from, to]`.
    fn between(&self, from_ms: i64, to_ms: i64) -> f64 {
        let start = self.times.partition_point(|t| *t <= from_ms);
        let end = self.times.partition_point(|t| *t <= to_ms);
        if end <= start {
            0.0
        } else {
            self.cumulative[end] - self.cumulative[start]
        }
    }
}

/// Official readings taken after `after_ms`, plus the last one at or before it, oldest first.
fn official_since(connection: &Connection, after_ms: i64) -> anyhow::Result<Vec<UsageSnapshot>> {
    let mut readings: Vec<UsageSnapshot> = Vec::new();
    let previous_at = snapshot::official_taken_at_or_before(connection, after_ms)?;
    for reading in snapshot::since(connection, previous_at.unwrap_or(after_ms))? {
        if reading.source.is_official() {
            readings.push(reading);
        }
    }
    Ok(readings)
}

/// Folds official readings that arrived since the last refinement into the
/// calibration of `plan`. Returns how many pairs were added.
pub fn refine(
    store: &mut Store,
    roots: &[PathBuf],
    plan: &str,
    now_ms: i64,
) -> anyhow::Result<usize> {
    let through: i64 = store
        .meta(META_CALIBRATED_THROUGH)?
        .and_then(|value| value.parse().ok())
        .unwrap_or(i64::MIN);
    let readings = official_since(store.connection(), through)?;
    let Some(newest) = readings.last().map(|r| r.taken_at_ms) else {
        return Ok(0);
    };
    if readings.len() < 2 {
        store.write(|tx| store::set_meta(tx, META_CALIBRATED_THROUGH, &newest.to_string()))?;
        return Ok(0);
    }
    let usage = Usage::load(store.connection(), roots, readings[0].taken_at_ms)?;
    let mut added = 0;
    let mut updates = Vec::new();
    for kind in WindowKind::ALL {
        let window_pairs = pairs(&readings, kind);
        if window_pairs.is_empty() {
            continue;
        }
        let contributions: Vec<(f64, f64)> = window_pairs
            .iter()
            .map(|pair| (pair.percent_rise, usage.between(pair.from_ms, pair.to_ms)))
            .filter(|(rise, cost)| *rise > 0.0 || *cost > 0.0)
            .collect();
        added += contributions.len();
        updates.push((kind, contributions));
    }
    store.write(|tx| {
        for (kind, contributions) in &updates {
            let (mut percent_sum, mut cost_sum, mut samples): (f64, f64, i64) = tx
                .query_row(
                    "SELECT percent_sum, cost_sum, samples FROM usage_calibration WHERE plan = ?1 AND window = ?2",
                    params![plan, window_name(*kind)],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?
                .unwrap_or((0.0, 0.0, 0));
            for (rise, cost) in contributions {
                percent_sum = percent_sum * FADE + rise;
                cost_sum = cost_sum * FADE + cost;
                samples += 1;
            }
            tx.execute(
                "INSERT INTO usage_calibration (plan, window, percent_sum, cost_sum, samples, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(plan, window) DO UPDATE SET percent_sum = excluded.percent_sum,
                    cost_sum = excluded.cost_sum, samples = excluded.samples, updated_at = excluded.updated_at",
                params![plan, window_name(*kind), percent_sum, cost_sum, samples, now_ms],
            )?;
        }
        store::set_meta(tx, META_CALIBRATED_THROUGH, &newest.to_string())
    })?;
    Ok(added)
}

/// What an estimate rests on, kept in the snapshot's `raw_json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateBasis {
    pub plan: String,
    /// The official reading the estimate starts from.
    pub basis_source: SnapshotSource,
    pub basis_taken_at_ms: i64,
    pub five_hour_calibration_samples: u32,
    pub seven_day_calibration_samples: u32,
    /// Local usage since the basis (US dollars at API prices), per window.
    pub five_hour_used_dollars: f64,
    pub seven_day_used_dollars: f64,
}

/// The estimate, if the official figure is stale and one can be made, for
/// the Claude folders and plan of this environment. Stores it as an
/// `estimate` snapshot (at most every few minutes when unchanged) and
/// returns it.
pub fn current(
    store: &mut Store,
    config: &Config,
    now_ms: i64,
) -> anyhow::Result<Option<UsageSnapshot>> {
    current_in(
        store,
        config,
        now_ms,
        &crate::paths::claude_dirs(),
        &plan_key(),
    )
}

/// [`current`] for given Claude folders and plan.
pub fn current_in(
    store: &mut Store,
    config: &Config,
    now_ms: i64,
    roots: &[PathBuf],
    plan: &str,
) -> anyhow::Result<Option<UsageSnapshot>> {
    let Some(official) = snapshot::freshest_official(store.connection())? else {
        return Ok(None);
    };
    if official.age_s(now_ms) < config.pacing.stale_after_seconds as i64 {
        return Ok(None);
    }
    let options = ScanOptions {
        roots: roots.to_vec(),
        max_bytes: Some(HOOK_SCAN_BUDGET_BYTES),
        threads: 2,
    };
    let scan = scanner::scan(store, &options, now_ms).context("scanning transcripts")?;
    if !scan.complete {
        return Ok(None);
    }
    refine(store, roots, plan, now_ms)?;
    let Some(estimate) = estimate_from(store.connection(), roots, plan, &official, now_ms)? else {
        return Ok(None);
    };
    let previous = snapshot::latest(store.connection(), SnapshotSource::Estimate)?;
    let unchanged = previous
        .as_ref()
        .is_some_and(|p| p.same_figures(&estimate) && now_ms - p.taken_at_ms < STORE_EVERY_MS);
    if !unchanged {
        store.write(|tx| snapshot::insert(tx, &estimate))?;
    }
    Ok(Some(estimate))
}

/// The estimate from an official reading, without scanning or storing.
pub fn estimate_from(
    connection: &Connection,
    roots: &[PathBuf],
    plan: &str,
    official: &UsageSnapshot,
    now_ms: i64,
) -> anyhow::Result<Option<UsageSnapshot>> {
    let now_s = now_ms / 1000;
    let mut basis = EstimateBasis {
        plan: plan.to_string(),
        basis_source: official.source,
        basis_taken_at_ms: official.taken_at_ms,
        five_hour_calibration_samples: 0,
        seven_day_calibration_samples: 0,
        five_hour_used_dollars: 0.0,
        seven_day_used_dollars: 0.0,
    };
    // Usage counts from the reading, or from the window's start if it reset since.
    let mut windows: Vec<(WindowKind, f64, i64, Calibration)> = Vec::new();
    for kind in WindowKind::ALL {
        let Some(reading) = official.window(kind) else {
            continue;
        };
        let Some(calibration) = calibration(connection, plan, kind)? else {
            continue;
        };
        if calibration.samples == 0 || calibration.percent_per_dollar <= 0.0 {
            continue;
        }
        let now_reading = reading.at(kind, now_s);
        let since_ms = if now_reading == reading {
            official.taken_at_ms
        } else {
            now_reading
                .resets_at_s
                .map_or(official.taken_at_ms, |r| (r - kind.length_s()) * 1000)
        };
        windows.push((kind, now_reading.percent, since_ms, calibration));
    }
    if windows.is_empty() {
        return Ok(None);
    }
    let earliest = windows
        .iter()
        .map(|w| w.2)
        .min()
        .unwrap_or(official.taken_at_ms);
    let usage = Usage::load(connection, roots, earliest)?;
    let mut estimate = UsageSnapshot {
        source: SnapshotSource::Estimate,
        taken_at_ms: now_ms,
        five_hour: None,
        seven_day: None,
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    };
    for (kind, base, since_ms, calibration) in windows {
        let used = usage.between(since_ms, now_ms);
        let reading = WindowReading {
            percent: project_percent(base, used, calibration.percent_per_dollar),
            resets_at_s: official
                .window(kind)
                .map(|r| r.at(kind, now_s))
                .and_then(|r| r.resets_at_s),
        };
        match kind {
            WindowKind::FiveHour => {
                estimate.five_hour = Some(reading);
                basis.five_hour_calibration_samples = calibration.samples;
                basis.five_hour_used_dollars = used;
            }
            WindowKind::SevenDay => {
                estimate.seven_day = Some(reading);
                basis.seven_day_calibration_samples = calibration.samples;
                basis.seven_day_used_dollars = used;
            }
            // Transcripts are not split by plan window per model here.
            WindowKind::SevenDayOpus | WindowKind::SevenDaySonnet => {}
        }
    }
    estimate.raw_json = Some(serde_json::to_string(&basis)?);
    Ok(Some(estimate))
}

/// The basis stored with an estimate snapshot (for `status`: age, calibration count).
pub fn basis(estimate: &UsageSnapshot) -> Option<EstimateBasis> {
    serde_json::from_str(estimate.raw_json.as_deref()?).ok()
}

/// What `status` shows of the estimate: the latest one, its age, and how
/// many official pairs each window's coefficient rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateStatus {
    pub plan: String,
    pub latest: Option<UsageSnapshot>,
    pub age_s: Option<i64>,
    pub five_hour_calibration_samples: u32,
    pub seven_day_calibration_samples: u32,
}

/// Reads the estimate's state without scanning (cheap).
pub fn status(
    connection: &Connection,
    plan: &str,
    now_ms: i64,
) -> rusqlite::Result<EstimateStatus> {
    let latest = snapshot::latest(connection, SnapshotSource::Estimate)?;
    let samples = |kind| -> rusqlite::Result<u32> {
        Ok(calibration(connection, plan, kind)?.map_or(0, |c| c.samples))
    };
    Ok(EstimateStatus {
        plan: plan.to_string(),
        age_s: latest.as_ref().map(|s| s.age_s(now_ms)),
        latest,
        five_hour_calibration_samples: samples(WindowKind::FiveHour)?,
        seven_day_calibration_samples: samples(WindowKind::SevenDay)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(at_ms: i64, five: f64, resets_at_s: i64) -> UsageSnapshot {
        UsageSnapshot {
            source: SnapshotSource::Statusline,
            taken_at_ms: at_ms,
            five_hour: Some(WindowReading {
                percent: five,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        }
    }

    #[test]
    fn pairs_stay_inside_one_window_and_never_fall() {
        let readings = [
            reading(1_000, 10.0, 20_000),
            reading(2_000, 12.0, 20_000),
            reading(3_000, 12.0, 20_100),
            // The window reset: a new instance, no pair across it.
            reading(4_000, 1.0, 38_000),
            reading(5_000, 3.5, 38_000),
        ];
        let got = pairs(&readings, WindowKind::FiveHour);
        assert_eq!(
            got,
            vec![
                Pair {
                    from_ms: 1_000,
                    to_ms: 2_000,
                    percent_rise: 2.0
                },
                Pair {
                    from_ms: 2_000,
                    to_ms: 3_000,
                    percent_rise: 0.0
                },
                Pair {
                    from_ms: 4_000,
                    to_ms: 5_000,
                    percent_rise: 2.5
                },
            ]
        );
        assert!(pairs(&readings, WindowKind::SevenDay).is_empty());
    }

    #[test]
    fn the_estimate_adds_calibrated_usage_and_stays_within_bounds() {
        assert_eq!(project_percent(40.0, 2.0, 5.0), 50.0);
        assert_eq!(project_percent(90.0, 10.0, 5.0), 100.0);
        assert_eq!(project_percent(40.0, -1.0, 5.0), 40.0);
    }

    #[test]
    fn unknown_models_weigh_like_current_opus() {
        let tokens = TokenCounts {
            input: 1_000_000,
            ..TokenCounts::default()
        };
        assert_eq!(weight(Some("claude-opus-5-5"), &tokens), 5.0);
        assert_eq!(weight(None, &tokens), 5.0);
        assert_eq!(weight(Some("claude-haiku-4-5"), &tokens), 1.0);
    }
}
