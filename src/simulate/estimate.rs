//! The local usage estimate on a simulated machine, made as the hook makes
//! it. The engine draws it for pacers that keep their own readings, and
//! the hook's side of a policy ([`super::policies`]) asks for it.

use crate::store::Store;
use crate::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowKind, WindowReading};

/// The hook keeps an unchanged estimate row at most this often.
const ESTIMATE_STORE_EVERY_MS: i64 = 5 * 60_000;

/// The local usage of a machine since a moment, units.
pub fn local_since(local: &[(i64, f64)], since_ms: i64) -> f64 {
    let total = local.last().map_or(0.0, |&(_, total)| total);
    let index = local.partition_point(|&(at, _)| at < since_ms);
    let before = if index == 0 { 0.0 } else { local[index - 1].1 };
    total - before
}

/// The local estimate as the hook makes it: the freshest official reading
/// plus this machine's usage since (what its transcripts hold), off by
/// the scenario's relative error. `None` without an official reading.
pub fn model_estimate(
    official: &UsageSnapshot,
    local: &[(i64, f64)],
    weekly_per_unit: f64,
    error: f64,
    now_ms: i64,
) -> UsageSnapshot {
    let since = local_since(local, official.taken_at_ms) * (1.0 + error);
    let now_s = now_ms.div_euclid(1000);
    let reading = |kind: WindowKind, per_unit: f64| {
        official.window(kind).map(|reading| {
            let current = reading.at(kind, now_s);
            WindowReading {
                percent: (current.percent + since * per_unit).clamp(0.0, 100.0),
                resets_at_s: current.resets_at_s,
            }
        })
    };
    UsageSnapshot {
        source: SnapshotSource::Estimate,
        taken_at_ms: now_ms,
        five_hour: reading(WindowKind::FiveHour, 1.0),
        seven_day: reading(WindowKind::SevenDay, weekly_per_unit),
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    }
}

/// The hook's estimate on a simulated machine: made only when asked (no
/// fresh official figure), and kept in the store as the hook keeps it.
pub fn store_estimate(
    store: &mut Store,
    local: &[(i64, f64)],
    weekly_per_unit: f64,
    error: f64,
    now_ms: i64,
) -> anyhow::Result<Option<UsageSnapshot>> {
    let Some(official) = snapshot::freshest_official(store.connection())? else {
        return Ok(None);
    };
    let estimate = model_estimate(&official, local, weekly_per_unit, error, now_ms);
    let previous = snapshot::latest(store.connection(), SnapshotSource::Estimate)?;
    let unchanged = previous.as_ref().is_some_and(|previous| {
        previous.same_figures(&estimate) && now_ms - previous.taken_at_ms < ESTIMATE_STORE_EVERY_MS
    });
    if !unchanged {
        store.write(|transaction| snapshot::insert(transaction, &estimate))?;
    }
    Ok(Some(estimate))
}
