//! A usage snapshot: one reading of both windows from one source, as stored.
//!
//! Percentages are 0-100 whatever the source (the API and the status line
//! both report percent; the rate-limit headers' 0..1 are converted before
//! they get here). Reset times are epoch seconds. Everything else the
//! source said is kept verbatim in `raw_json`.

/// `meta` key: the prompt-cache time-to-live in seconds last reported by the
/// status line (`prompt_cache.ttl`), written by `pace-maker statusline`,
/// read by pacing.
pub const META_PROMPT_CACHE_TTL_SECONDS: &str = "prompt_cache_ttl_seconds";

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotSource {
    /// `rate_limits` in the status-line input.
    Statusline,
    /// The OAuth usage endpoint.
    Api,
    /// Local transcripts, calibrated against past official readings.
    Estimate,
}

impl SnapshotSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotSource::Statusline => "statusline",
            SnapshotSource::Api => "api",
            SnapshotSource::Estimate => "estimate",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "statusline" => Some(SnapshotSource::Statusline),
            "api" => Some(SnapshotSource::Api),
            "estimate" => Some(SnapshotSource::Estimate),
            _ => None,
        }
    }

    pub fn is_official(self) -> bool {
        !matches!(self, SnapshotSource::Estimate)
    }
}

impl std::fmt::Display for SnapshotSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model family some windows are reserved for (`seven_day_opus`,
/// `seven_day_sonnet`): a session running that family's model spends that
/// window as well as the account-wide ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    Opus,
    Sonnet,
}

impl ModelFamily {
    pub const ALL: [ModelFamily; 2] = [ModelFamily::Opus, ModelFamily::Sonnet];

    /// The family's name as it appears in model ids and usage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFamily::Opus => "opus",
            ModelFamily::Sonnet => "sonnet",
        }
    }

    /// How people call it: `Opus`, `Sonnet`.
    pub fn label(self) -> &'static str {
        match self {
            ModelFamily::Opus => "Opus",
            ModelFamily::Sonnet => "Sonnet",
        }
    }

    /// The family a model id or alias names (`claude-opus-4-1-20250805`,
    /// `opus`, `claude-3-5-sonnet`, `opus[1m]`), if it names one.
    pub fn of_model(model: &str) -> Option<ModelFamily> {
        let model = model.to_ascii_lowercase();
        ModelFamily::ALL
            .into_iter()
            .find(|family| model.contains(family.as_str()))
    }

    /// The family's weekly window.
    pub fn weekly(self) -> WindowKind {
        match self {
            ModelFamily::Opus => WindowKind::SevenDayOpus,
            ModelFamily::Sonnet => WindowKind::SevenDaySonnet,
        }
    }
}

/// The windows that are paced: the account-wide 5-hour and weekly ones,
/// and the weekly windows of one model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    FiveHour,
    SevenDay,
    SevenDayOpus,
    SevenDaySonnet,
}

impl WindowKind {
    /// The account-wide windows, which every session spends.
    pub const ALL: [WindowKind; 2] = [WindowKind::FiveHour, WindowKind::SevenDay];
    /// The per-model weekly windows, each spent only by its family's sessions.
    pub const PER_MODEL: [WindowKind; 2] = [WindowKind::SevenDayOpus, WindowKind::SevenDaySonnet];
    /// Every window, the account-wide ones first.
    pub const EVERY: [WindowKind; 4] = [
        WindowKind::FiveHour,
        WindowKind::SevenDay,
        WindowKind::SevenDayOpus,
        WindowKind::SevenDaySonnet,
    ];

    /// Length of the window in seconds.
    pub fn length_s(self) -> i64 {
        match self {
            WindowKind::FiveHour => 5 * 3600,
            WindowKind::SevenDay | WindowKind::SevenDayOpus | WindowKind::SevenDaySonnet => {
                7 * 24 * 3600
            }
        }
    }

    /// How people call it: `5-hour`, `weekly`, `weekly Opus`.
    pub fn label(self) -> &'static str {
        match self {
            WindowKind::FiveHour => "5-hour",
            WindowKind::SevenDay => "weekly",
            WindowKind::SevenDayOpus => "weekly Opus",
            WindowKind::SevenDaySonnet => "weekly Sonnet",
        }
    }

    /// The usage endpoint's key for it (`five_hour`, `seven_day_opus`):
    /// also its name in the store, JSON output and the configuration.
    pub fn key(self) -> &'static str {
        match self {
            WindowKind::FiveHour => "five_hour",
            WindowKind::SevenDay => "seven_day",
            WindowKind::SevenDayOpus => "seven_day_opus",
            WindowKind::SevenDaySonnet => "seven_day_sonnet",
        }
    }

    /// The window a key names, if it is one of these.
    pub fn from_key(key: &str) -> Option<WindowKind> {
        WindowKind::EVERY.into_iter().find(|kind| kind.key() == key)
    }

    /// The model family the window is reserved for, if any.
    pub fn family(self) -> Option<ModelFamily> {
        match self {
            WindowKind::FiveHour | WindowKind::SevenDay => None,
            WindowKind::SevenDayOpus => Some(ModelFamily::Opus),
            WindowKind::SevenDaySonnet => Some(ModelFamily::Sonnet),
        }
    }

    /// Whether it is a weekly window (account-wide or per model).
    pub fn is_weekly(self) -> bool {
        self != WindowKind::FiveHour
    }
}

/// The latest reset time a reading may carry: 3000-01-01T00:00:00Z, epoch
/// seconds. Far past any clock, yet in milliseconds it still leaves room in
/// an `i64` for the arithmetic done on it.
pub const LATEST_PLAUSIBLE_RESET_S: i64 = 32_503_680_000;

/// A reset time as a source reported it, if it is a time at all: before
/// the epoch or after [`LATEST_PLAUSIBLE_RESET_S`] reads as "unknown". A
/// status-line input saying `"resets_at": 1e30` must not become a stored
/// reading that every later hook does arithmetic on.
pub fn plausible_reset_s(seconds: i64) -> Option<i64> {
    (0..=LATEST_PLAUSIBLE_RESET_S)
        .contains(&seconds)
        .then_some(seconds)
}

/// One window's reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowReading {
    /// Utilization, 0-100.
    pub percent: f64,
    /// When the window resets, epoch seconds; unknown for some sources.
    pub resets_at_s: Option<i64>,
}

impl WindowReading {
    /// The reading as it stands at `now_s`: a window whose reset has passed
    /// is a fresh window at 0 % that resets one length after its old reset
    /// (or several lengths, when the reading is that old), never a stale 100 %.
    pub fn at(self, kind: WindowKind, now_s: i64) -> WindowReading {
        match self.resets_at_s {
            Some(resets_at) if resets_at <= now_s => {
                // Saturating: a row stored before readings were checked
                // (see `plausible_reset_s`) may hold any value at all.
                let length = kind.length_s();
                let periods = now_s.saturating_sub(resets_at) / length + 1;
                WindowReading {
                    percent: 0.0,
                    resets_at_s: Some(resets_at.saturating_add(periods.saturating_mul(length))),
                }
            }
            _ => self,
        }
    }
}

/// Extra usage as the usage endpoint reports it (`extra_usage`): whether
/// work past the plan's limits goes on, billed at API prices, and how much
/// of the monthly limit is spent. Amounts are in the endpoint's own unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExtraUsage {
    pub is_enabled: bool,
    pub monthly_limit: Option<f64>,
    pub used_credits: Option<f64>,
    /// Share of the monthly limit spent, 0-100.
    pub utilization: Option<f64>,
}

impl ExtraUsage {
    /// Reads `extra_usage` out of a raw answer of the usage endpoint.
    pub fn from_raw(raw: &str) -> Option<ExtraUsage> {
        let value: serde_json::Value = serde_json::from_str(raw).ok()?;
        let extra = value.get("extra_usage")?.as_object()?;
        let number = |key: &str| extra.get(key).and_then(serde_json::Value::as_f64);
        Some(ExtraUsage {
            is_enabled: extra
                .get("is_enabled")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            monthly_limit: number("monthly_limit"),
            used_credits: number("used_credits"),
            utilization: number("utilization"),
        })
    }

    /// One line: `enabled, 12.50 used of 50.00` / `off`.
    pub fn describe(&self) -> String {
        if !self.is_enabled {
            return "off".to_string();
        }
        let amount = |value: Option<f64>| value.map_or("?".to_string(), |v| format!("{v:.2}"));
        match self.monthly_limit {
            Some(_) => format!(
                "enabled, {} used of {}",
                amount(self.used_credits),
                amount(self.monthly_limit)
            ),
            None => format!(
                "enabled, {} used (no monthly limit)",
                amount(self.used_credits)
            ),
        }
    }
}

/// One reading of the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageSnapshot {
    pub source: SnapshotSource,
    /// When the reading was taken, epoch milliseconds.
    pub taken_at_ms: i64,
    pub five_hour: Option<WindowReading>,
    pub seven_day: Option<WindowReading>,
    pub seven_day_opus: Option<WindowReading>,
    pub seven_day_sonnet: Option<WindowReading>,
    /// What the source said, verbatim (unknown keys included).
    pub raw_json: Option<String>,
}

impl UsageSnapshot {
    pub fn window(&self, kind: WindowKind) -> Option<WindowReading> {
        match kind {
            WindowKind::FiveHour => self.five_hour,
            WindowKind::SevenDay => self.seven_day,
            WindowKind::SevenDayOpus => self.seven_day_opus,
            WindowKind::SevenDaySonnet => self.seven_day_sonnet,
        }
    }

    /// Extra usage, when the source reported it (the usage endpoint does).
    pub fn extra_usage(&self) -> Option<ExtraUsage> {
        self.raw_json.as_deref().and_then(ExtraUsage::from_raw)
    }

    /// The windows the source reported that this build does not know
    /// (`seven_day_oauth_apps`, keys that appear later), read from the raw
    /// answer: stored verbatim with the snapshot, shown, never paced (they
    /// name no model family this build knows). A null window or one without
    /// a `utilization` is left out.
    pub fn other_windows(&self) -> Vec<(String, WindowReading)> {
        let Some(raw) = self.raw_json.as_deref() else {
            return Vec::new();
        };
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw)
        else {
            return Vec::new();
        };
        map.iter()
            .filter(|(key, _)| {
                (key.starts_with("seven_day_") || key.starts_with("five_hour_"))
                    && WindowKind::from_key(key).is_none()
            })
            .filter_map(|(key, value)| {
                let percent = value.get("utilization")?.as_f64()?;
                let resets_at_s = value
                    .get("resets_at")
                    .and_then(|reset| reset.as_str())
                    .and_then(|text| text.parse::<jiff::Timestamp>().ok())
                    .and_then(|at| plausible_reset_s(at.as_second()));
                Some((
                    key.clone(),
                    WindowReading {
                        percent,
                        resets_at_s,
                    },
                ))
            })
            .collect()
    }

    /// The snapshot as it stands at `now_s`: each window whose reset has
    /// passed reads as a fresh window at 0 % (see [`WindowReading::at`]).
    pub fn at(&self, now_s: i64) -> UsageSnapshot {
        let five = |reading: Option<WindowReading>| {
            reading.map(|reading| reading.at(WindowKind::FiveHour, now_s))
        };
        let week = |reading: Option<WindowReading>| {
            reading.map(|reading| reading.at(WindowKind::SevenDay, now_s))
        };
        UsageSnapshot {
            five_hour: five(self.five_hour),
            seven_day: week(self.seven_day),
            seven_day_opus: week(self.seven_day_opus),
            seven_day_sonnet: week(self.seven_day_sonnet),
            ..self.clone()
        }
    }

    /// Age in seconds at `now_ms`.
    pub fn age_s(&self, now_ms: i64) -> i64 {
        ((now_ms - self.taken_at_ms) / 1000).max(0)
    }

    /// Whether the windows read the same (ignoring time and raw JSON).
    pub fn same_figures(&self, other: &UsageSnapshot) -> bool {
        self.five_hour == other.five_hour
            && self.seven_day == other.seven_day
            && self.seven_day_opus == other.seven_day_opus
            && self.seven_day_sonnet == other.seven_day_sonnet
    }
}

/// The readings of one source, newest first. Without `INDEXED BY` the
/// bundled SQLite (3.46) reads the whole table and sorts it to find the
/// newest estimate: 3,000 page reads and 8 ms of `status` on 60 days of
/// history.
const OF_SOURCE_NEWEST_FIRST: &str = "FROM usage_snapshots INDEXED BY usage_snapshots_taken_at
    WHERE source = ?1 ORDER BY taken_at DESC";

const COLUMNS: &str = "source, taken_at, five_hour_percent, five_hour_resets_at,
    seven_day_percent, seven_day_resets_at, seven_day_opus_percent, seven_day_opus_resets_at,
    seven_day_sonnet_percent, seven_day_sonnet_resets_at, raw_json";

fn reading(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<WindowReading>> {
    let percent: Option<f64> = row.get(index)?;
    let resets_at_s: Option<i64> = row.get(index + 1)?;
    Ok(percent.map(|percent| WindowReading {
        percent,
        resets_at_s,
    }))
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UsageSnapshot> {
    let source: String = row.get(0)?;
    Ok(UsageSnapshot {
        source: SnapshotSource::parse(&source).unwrap_or(SnapshotSource::Estimate),
        taken_at_ms: row.get(1)?,
        five_hour: reading(row, 2)?,
        seven_day: reading(row, 4)?,
        seven_day_opus: reading(row, 6)?,
        seven_day_sonnet: reading(row, 8)?,
        raw_json: row.get(10)?,
    })
}

/// Stores a snapshot; returns its row id.
pub fn insert(transaction: &Transaction<'_>, snapshot: &UsageSnapshot) -> rusqlite::Result<i64> {
    let split = |reading: Option<WindowReading>| {
        (
            reading.map(|r| r.percent),
            reading.and_then(|r| r.resets_at_s),
        )
    };
    let (five_p, five_r) = split(snapshot.five_hour);
    let (seven_p, seven_r) = split(snapshot.seven_day);
    let (opus_p, opus_r) = split(snapshot.seven_day_opus);
    let (sonnet_p, sonnet_r) = split(snapshot.seven_day_sonnet);
    transaction.execute(
        &format!("INSERT INTO usage_snapshots ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        params![
            snapshot.source.as_str(),
            snapshot.taken_at_ms,
            five_p,
            five_r,
            seven_p,
            seven_r,
            opus_p,
            opus_r,
            sonnet_p,
            sonnet_r,
            snapshot.raw_json
        ],
    )?;
    Ok(transaction.last_insert_rowid())
}

/// The newest snapshot from one source.
pub fn latest(
    connection: &Connection,
    source: SnapshotSource,
) -> rusqlite::Result<Option<UsageSnapshot>> {
    connection
        .query_row(
            &format!("SELECT {COLUMNS} {OF_SOURCE_NEWEST_FIRST} LIMIT 1"),
            [source.as_str()],
            from_row,
        )
        .optional()
}

/// The newest official snapshot (status line or API, whichever is fresher).
pub fn freshest_official(connection: &Connection) -> rusqlite::Result<Option<UsageSnapshot>> {
    connection
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM usage_snapshots INDEXED BY usage_snapshots_taken_at
                 WHERE source IN ('statusline', 'api') ORDER BY taken_at DESC LIMIT 1"
            ),
            [],
            from_row,
        )
        .optional()
}

/// The freshest official reading as it stands at `now_ms`: windows whose
/// reset has passed read as fresh 0 % windows. What status views show.
pub fn current_official(
    connection: &Connection,
    now_ms: i64,
) -> rusqlite::Result<Option<UsageSnapshot>> {
    Ok(freshest_official(connection)?.map(|snapshot| snapshot.at(now_ms.div_euclid(1000))))
}

/// Snapshots taken at or after `since_ms`, oldest first (history for pacing and charts).
pub fn since(connection: &Connection, since_ms: i64) -> rusqlite::Result<Vec<UsageSnapshot>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM usage_snapshots INDEXED BY usage_snapshots_taken_at
         WHERE taken_at >= ?1 ORDER BY taken_at"
    ))?;
    let rows = statement.query_map([since_ms], from_row)?;
    rows.collect()
}

/// Snapshots taken in `[since_ms, until_ms)`, thinned to the newest one per
/// source and `step_ms`, oldest first: long history at a resolution that
/// keeps a hook's read short.
pub fn thinned(
    connection: &Connection,
    since_ms: i64,
    until_ms: i64,
    step_ms: i64,
) -> rusqlite::Result<Vec<UsageSnapshot>> {
    // The choice is made on the time index alone (it holds the source), so
    // a day of status-line rows costs a scan of small index entries, no
    // sort, and only the rows kept are read whole.
    let step_ms = step_ms.max(1);
    let mut index = connection.prepare_cached(
        "SELECT id, source, taken_at FROM usage_snapshots INDEXED BY usage_snapshots_taken_at
         WHERE taken_at >= ?1 AND taken_at < ?2 ORDER BY taken_at, id",
    )?;
    let mut kept: Vec<(i64, i64)> = Vec::new();
    let mut slot: std::collections::HashMap<(Option<SnapshotSource>, i64), usize> =
        std::collections::HashMap::new();
    let mut rows = index.query([since_ms, until_ms])?;
    while let Some(row) = rows.next()? {
        let (id, taken_at): (i64, i64) = (row.get(0)?, row.get(2)?);
        // The source read in place: no string allocated per row.
        let source = SnapshotSource::parse(row.get_ref(1)?.as_str().unwrap_or_default());
        match slot.entry((source, taken_at.div_euclid(step_ms))) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                kept[*entry.get()] = (taken_at, id);
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(kept.len());
                kept.push((taken_at, id));
            }
        }
    }
    kept.sort_unstable();
    let mut by_id = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM usage_snapshots WHERE id = ?1"
    ))?;
    kept.iter()
        .map(|&(_, id)| by_id.query_row([id], from_row))
        .collect()
}

/// When the newest official snapshot at or before `at_ms` was taken.
pub fn official_taken_at_or_before(
    connection: &Connection,
    at_ms: i64,
) -> rusqlite::Result<Option<i64>> {
    connection
        .query_row(
            "SELECT taken_at FROM usage_snapshots WHERE source IN ('statusline', 'api')
             AND taken_at <= ?1 ORDER BY taken_at DESC LIMIT 1",
            [at_ms],
            |row| row.get(0),
        )
        .optional()
}

/// When the newest snapshot from `source` was taken.
pub fn latest_taken_at(
    connection: &Connection,
    source: SnapshotSource,
) -> rusqlite::Result<Option<i64>> {
    connection.query_row(
        "SELECT max(taken_at) FROM usage_snapshots WHERE source = ?1",
        [source.as_str()],
        |row| row.get(0),
    )
}

/// One window's readings taken at or after `since_ms`, oldest first, from
/// the official sources or (`official` false) the estimate: when each was
/// taken, and the reading.
pub fn window_readings_since(
    connection: &Connection,
    kind: WindowKind,
    official: bool,
    since_ms: i64,
) -> rusqlite::Result<Vec<(i64, WindowReading)>> {
    let (percent_column, reset_column) = match kind {
        WindowKind::FiveHour => ("five_hour_percent", "five_hour_resets_at"),
        WindowKind::SevenDay => ("seven_day_percent", "seven_day_resets_at"),
        WindowKind::SevenDayOpus => ("seven_day_opus_percent", "seven_day_opus_resets_at"),
        WindowKind::SevenDaySonnet => ("seven_day_sonnet_percent", "seven_day_sonnet_resets_at"),
    };
    let sources = if official {
        "'statusline', 'api'"
    } else {
        "'estimate'"
    };
    let mut statement = connection.prepare_cached(&format!(
        "SELECT taken_at, {percent_column}, {reset_column} FROM usage_snapshots
         WHERE taken_at >= ?1 AND {percent_column} IS NOT NULL AND source IN ({sources})
         ORDER BY taken_at, id"
    ))?;
    let rows = statement.query_map([since_ms], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            WindowReading {
                percent: row.get(1)?,
                resets_at_s: row.get(2)?,
            },
        ))
    })?;
    rows.collect()
}

/// Deletes the snapshots taken before `cutoff_ms` (the retention sweep,
/// `retention::prune`); returns how many.
pub fn prune_before(transaction: &Transaction<'_>, cutoff_ms: i64) -> rusqlite::Result<usize> {
    transaction.execute(
        "DELETE FROM usage_snapshots WHERE taken_at < ?1",
        [cutoff_ms],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::time::Duration;

    fn snapshot(source: SnapshotSource, at: i64, five: f64) -> UsageSnapshot {
        UsageSnapshot {
            source,
            taken_at_ms: at,
            five_hour: Some(WindowReading {
                percent: five,
                resets_at_s: Some(10_000),
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: Some("{}".into()),
        }
    }

    #[test]
    fn the_latest_of_a_source_walks_the_time_index_instead_of_sorting_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let plan: Vec<String> = store
            .connection()
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT source {OF_SOURCE_NEWEST_FIRST} LIMIT 1"
            ))
            .unwrap()
            .query_map(["estimate"], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            vec!["SCAN usage_snapshots USING COVERING INDEX usage_snapshots_taken_at".to_string()]
        );
    }

    #[test]
    fn freshest_official_ignores_estimates_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let api = snapshot(SnapshotSource::Api, 1000, 10.0);
        let line = snapshot(SnapshotSource::Statusline, 2000, 12.0);
        let estimate = snapshot(SnapshotSource::Estimate, 3000, 15.0);
        for s in [&api, &line, &estimate] {
            store.write(|tx| insert(tx, s)).unwrap();
        }
        assert_eq!(
            freshest_official(store.connection()).unwrap(),
            Some(line.clone())
        );
        assert_eq!(
            latest(store.connection(), SnapshotSource::Api).unwrap(),
            Some(api)
        );
        assert_eq!(
            since(store.connection(), 1500).unwrap(),
            vec![line, estimate]
        );
    }

    #[test]
    fn the_current_official_reading_is_the_freshest_as_it_stands_now() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let mut old = snapshot(SnapshotSource::Api, 1_000, 90.0);
        old.seven_day = Some(WindowReading {
            percent: 50.0,
            resets_at_s: Some(50_000),
        });
        store.write(|tx| insert(tx, &old)).unwrap();
        // At 20 000 s the 5-hour window (reset at 10 000 s) has started over.
        let current = current_official(store.connection(), 20_000_000)
            .unwrap()
            .unwrap();
        assert_eq!(
            current.five_hour,
            Some(WindowReading {
                percent: 0.0,
                resets_at_s: Some(10_000 + WindowKind::FiveHour.length_s())
            })
        );
        assert_eq!(current.seven_day, old.seven_day);
        assert_eq!(current.taken_at_ms, 1_000);
    }

    #[test]
    fn thinned_keeps_the_newest_reading_per_source_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        for at in (0..20).map(|minute| minute * 60_000) {
            let reading = snapshot(SnapshotSource::Statusline, at, at as f64);
            store.write(|tx| insert(tx, &reading)).unwrap();
        }
        let api = snapshot(SnapshotSource::Api, 30_000, 1.0);
        store.write(|tx| insert(tx, &api)).unwrap();
        let kept: Vec<(SnapshotSource, i64)> = thinned(store.connection(), 0, 15 * 60_000, 600_000)
            .unwrap()
            .into_iter()
            .map(|snapshot| (snapshot.source, snapshot.taken_at_ms))
            .collect();
        assert_eq!(
            kept,
            vec![
                (SnapshotSource::Api, 30_000),
                (SnapshotSource::Statusline, 9 * 60_000),
                (SnapshotSource::Statusline, 14 * 60_000),
            ]
        );
    }

    #[test]
    fn a_model_id_or_alias_names_its_family() {
        let table: &[(&str, Option<ModelFamily>)] = &[
            ("claude-opus-4-1-20250805", Some(ModelFamily::Opus)),
            ("opus", Some(ModelFamily::Opus)),
            ("opus[1m]", Some(ModelFamily::Opus)),
            ("Claude-Sonnet-4-5", Some(ModelFamily::Sonnet)),
            ("claude-3-5-haiku", None),
            ("<synthetic>", None),
            ("", None),
        ];
        for (model, family) in table {
            assert_eq!(ModelFamily::of_model(model), *family, "{model}");
        }
        assert_eq!(ModelFamily::Opus.weekly(), WindowKind::SevenDayOpus);
        for kind in WindowKind::EVERY {
            assert_eq!(WindowKind::from_key(kind.key()), Some(kind));
        }
    }

    #[test]
    fn unknown_windows_and_extra_usage_are_read_from_the_raw_answer() {
        let raw = r#"{"five_hour":{"utilization":10,"resets_at":null},"seven_day_opus":{"utilization":90,"resets_at":null},"seven_day_sonnet":null,"seven_day_oauth_apps":{"utilization":4.5,"resets_at":"2026-12-05T10:00:00+00:00"},"seven_day_cowork":null,"extra_usage":{"is_enabled":true,"monthly_limit":50,"used_credits":12.5,"utilization":25}}"#;
        let mut reading = snapshot(SnapshotSource::Api, 0, 10.0);
        reading.raw_json = Some(raw.to_string());
        assert_eq!(
            reading.other_windows(),
            vec![(
                "seven_day_oauth_apps".to_string(),
                WindowReading {
                    percent: 4.5,
                    resets_at_s: Some(1_796_464_800)
                }
            )]
        );
        let extra = reading.extra_usage().unwrap();
        assert_eq!(
            extra,
            ExtraUsage {
                is_enabled: true,
                monthly_limit: Some(50.0),
                used_credits: Some(12.5),
                utilization: Some(25.0)
            }
        );
        assert_eq!(extra.describe(), "enabled, 12.50 used of 50.00");
        reading.raw_json = Some("not json".into());
        assert_eq!(reading.other_windows(), Vec::new());
        assert_eq!(reading.extra_usage(), None);
    }

    #[test]
    fn a_passed_reset_reads_as_a_fresh_window() {
        let reading = WindowReading {
            percent: 100.0,
            resets_at_s: Some(1000),
        };
        let five = WindowKind::FiveHour.length_s();
        assert_eq!(reading.at(WindowKind::FiveHour, 999), reading);
        assert_eq!(
            reading.at(WindowKind::FiveHour, 1000),
            WindowReading {
                percent: 0.0,
                resets_at_s: Some(1000 + five)
            }
        );
        assert_eq!(
            reading
                .at(WindowKind::FiveHour, 1000 + 2 * five + 5)
                .resets_at_s,
            Some(1000 + 3 * five)
        );
    }

    #[test]
    fn resets_before_the_epoch_or_past_the_year_3000_read_as_unknown() {
        let table: &[(&str, i64, Option<i64>)] = &[
            ("a real reset", 1_795_483_306, Some(1_795_483_306)),
            ("the epoch", 0, Some(0)),
            (
                "the last plausible second",
                LATEST_PLAUSIBLE_RESET_S,
                Some(LATEST_PLAUSIBLE_RESET_S),
            ),
            ("one second later", LATEST_PLAUSIBLE_RESET_S + 1, None),
            ("before the epoch", -1, None),
            ("the largest integer", i64::MAX, None),
            ("the smallest integer", i64::MIN, None),
        ];
        for (name, seconds, expected) in table {
            assert_eq!(plausible_reset_s(*seconds), *expected, "{name}");
        }
    }

    #[test]
    fn a_reading_with_any_stored_reset_can_be_carried_to_any_moment() {
        for resets_at in [i64::MIN, -1, 0, i64::MAX] {
            for now_s in [i64::MIN, 0, 1_795_483_306, i64::MAX] {
                for kind in WindowKind::ALL {
                    let reading = WindowReading {
                        percent: 50.0,
                        resets_at_s: Some(resets_at),
                    };
                    let _ = reading.at(kind, now_s);
                }
            }
        }
    }
}
