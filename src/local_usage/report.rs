//! Daily, weekly, monthly and per-session reports: tokens by kind and
//! cost, in the JSON shape ccusage's Claude reports use (camelCase fields,
//! `totals`), so scripts written for one read the other.
//!
//! Dates are calendar days in an explicit time zone (`--timezone`, the
//! system's by default, as ccusage does); weeks start on Sunday (or the
//! `--start-of-week` day) and are named by that day, months are `YYYY-MM`, all in that zone. `--since`
//! and `--until` are inclusive days in that zone. Everything here is pure:
//! it takes loaded entries and returns rows.
//!
//! A model the price table does not know adds 0 to `totalCost` and `cost`
//! (the ccusage fields stay numbers) and is named in the row's and the
//! totals' `unpricedModels` and flagged `missingPricing` in its breakdown.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::entry::TokenCounts;
use super::ledger::StoredEntry;
use super::load::Loaded;
use super::pricing;

/// Token and cost sums.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sums {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    pub total_tokens: u64,
    pub total_cost: f64,
}

impl Sums {
    fn add(&mut self, tokens: &TokenCounts, cost: f64) {
        self.input_tokens += tokens.input;
        self.output_tokens += tokens.output;
        self.cache_creation_tokens += tokens.cache_creation();
        self.cache_read_tokens += tokens.cache_read;
        self.total_tokens += tokens.total();
        self.total_cost += cost;
    }

    fn add_sums(&mut self, other: &Sums) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.total_tokens += other.total_tokens;
        self.total_cost += other.total_cost;
    }
}

/// One model's share of a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelBreakdown {
    pub model_name: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    pub cost: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing_pricing: bool,
}

/// Sums of a group of entries, with the per-model breakdown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    pub sums: Sums,
    models: BTreeMap<String, (Sums, bool)>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

impl Group {
    fn add(&mut self, model: Option<&str>, tokens: &TokenCounts, timestamp_ms: i64) {
        let priced = model.and_then(|m| pricing::cost(m, tokens));
        let cost = priced.unwrap_or(0.0);
        self.sums.add(tokens, cost);
        if let Some(model) = model {
            let (sums, missing) = self.models.entry(model.to_string()).or_default();
            sums.add(tokens, cost);
            *missing |= priced.is_none();
        }
        self.first_ms = Some(self.first_ms.map_or(timestamp_ms, |t| t.min(timestamp_ms)));
        self.last_ms = Some(self.last_ms.map_or(timestamp_ms, |t| t.max(timestamp_ms)));
    }

    pub fn models_used(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }

    pub fn breakdowns(&self) -> Vec<ModelBreakdown> {
        let mut rows: Vec<ModelBreakdown> = self
            .models
            .iter()
            .map(|(model, (sums, missing))| ModelBreakdown {
                model_name: model.clone(),
                input_tokens: sums.input_tokens,
                output_tokens: sums.output_tokens,
                cache_creation_tokens: sums.cache_creation_tokens,
                cache_read_tokens: sums.cache_read_tokens,
                cost: sums.total_cost,
                missing_pricing: *missing,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.cost
                .total_cmp(&a.cost)
                .then_with(|| a.model_name.cmp(&b.model_name))
        });
        rows
    }

    pub fn unpriced_models(&self) -> Vec<String> {
        self.models
            .iter()
            .filter(|(_, (_, missing))| *missing)
            .map(|(model, _)| model.clone())
            .collect()
    }
}

/// Time zone and date range of a report.
#[derive(Debug, Clone)]
pub struct Period {
    pub time_zone: jiff::tz::TimeZone,
    /// Inclusive first day, `YYYY-MM-DD`.
    pub since: Option<String>,
    /// Inclusive last day, `YYYY-MM-DD`.
    pub until: Option<String>,
}

impl Period {
    /// All days in a time zone.
    pub fn all(time_zone: jiff::tz::TimeZone) -> Self {
        Self {
            time_zone,
            since: None,
            until: None,
        }
    }

    /// The calendar day of an instant in this zone, `YYYY-MM-DD`.
    pub fn day(&self, timestamp_ms: i64) -> String {
        let timestamp =
            jiff::Timestamp::from_millisecond(timestamp_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let date = self.time_zone.to_datetime(timestamp).date();
        format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
    }

    /// The calendar month of an instant in this zone, `YYYY-MM`.
    pub fn month(&self, timestamp_ms: i64) -> String {
        self.day(timestamp_ms)[..7].to_string()
    }

    /// The day that starts the week of an instant in this zone, weeks
    /// starting on `start` (ccusage's default is Sunday), `YYYY-MM-DD`.
    pub fn week(&self, timestamp_ms: i64, start: jiff::civil::Weekday) -> String {
        let timestamp =
            jiff::Timestamp::from_millisecond(timestamp_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let date = self.time_zone.to_datetime(timestamp).date();
        let back = i64::from(date.weekday().since(start));
        let sunday = date
            .checked_sub(jiff::Span::new().days(back))
            .unwrap_or(date);
        format!(
            "{:04}-{:02}-{:02}",
            sunday.year(),
            sunday.month(),
            sunday.day()
        )
    }

    /// An instant as shown to people: `YYYY-MM-DD HH:MM` in this zone.
    pub fn minute(&self, timestamp_ms: i64) -> String {
        let timestamp =
            jiff::Timestamp::from_millisecond(timestamp_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        timestamp
            .to_zoned(self.time_zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// The zone's name for headers (`UTC`, `Europe/Paris`, ...).
    pub fn zone_name(&self) -> String {
        self.time_zone
            .iana_name()
            .map(str::to_string)
            .unwrap_or_else(|| "local time".to_string())
    }

    pub fn contains_day(&self, day: &str) -> bool {
        self.since.as_deref().is_none_or(|since| day >= since)
            && self.until.as_deref().is_none_or(|until| day <= until)
    }
}

/// Parses `YYYY-MM-DD` or `YYYYMMDD` into `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<String, String> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    let valid = digits.len() == 8
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (text.len() == 8 || text.len() == 10);
    let day = format!(
        "{}-{}-{}",
        &digits.get(0..4).unwrap_or(""),
        &digits.get(4..6).unwrap_or(""),
        &digits.get(6..8).unwrap_or("")
    );
    if valid && day.parse::<jiff::civil::Date>().is_ok() {
        Ok(day)
    } else {
        Err(format!(
            "`{text}` is not a date like 2026-01-31 or 20260131"
        ))
    }
}

/// A day's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyRow {
    pub date: String,
    #[serde(flatten)]
    pub sums: Sums,
    pub models_used: Vec<String>,
    pub model_breakdowns: Vec<ModelBreakdown>,
    /// Models whose cost is missing from `totalCost` (not in the price table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
}

/// A week's row (the week named by its first day).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyRow {
    pub week: String,
    #[serde(flatten)]
    pub sums: Sums,
    pub models_used: Vec<String>,
    pub model_breakdowns: Vec<ModelBreakdown>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
}

/// A month's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyRow {
    pub month: String,
    #[serde(flatten)]
    pub sums: Sums,
    pub models_used: Vec<String>,
    pub model_breakdowns: Vec<ModelBreakdown>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
}

/// Totals of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    #[serde(flatten)]
    pub sums: Sums,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    pub daily: Vec<DailyRow>,
    pub totals: Totals,
}

fn totals<'a>(groups: impl Iterator<Item = &'a Group>) -> Totals {
    let mut sums = Sums::default();
    let mut unpriced = BTreeSet::new();
    for group in groups {
        sums.add_sums(&group.sums);
        unpriced.extend(group.unpriced_models());
    }
    Totals {
        sums,
        unpriced_models: unpriced.into_iter().collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyReport {
    pub weekly: Vec<WeeklyRow>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    pub monthly: Vec<MonthlyRow>,
    pub totals: Totals,
}

/// Entries within the period, grouped by a key of their time, keys in order.
fn grouped(
    loaded: &Loaded,
    period: &Period,
    key: impl Fn(&Period, i64) -> String,
) -> (BTreeMap<String, Group>, Totals) {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for entry in &loaded.entries {
        if !period.contains_day(&period.day(entry.timestamp_ms)) {
            continue;
        }
        groups
            .entry(key(period, entry.timestamp_ms))
            .or_default()
            .add(loaded.model_name(entry), &entry.tokens, entry.timestamp_ms);
    }
    let totals = totals(groups.values());
    (groups, totals)
}

/// Tokens and cost per calendar day, oldest first.
pub fn daily(loaded: &Loaded, period: &Period) -> DailyReport {
    let (days, totals) = grouped(loaded, period, Period::day);
    DailyReport {
        daily: days
            .into_iter()
            .map(|(date, group)| DailyRow {
                date,
                sums: group.sums.clone(),
                models_used: group.models_used(),
                model_breakdowns: group.breakdowns(),
                unpriced_models: group.unpriced_models(),
            })
            .collect(),
        totals,
    }
}

/// Tokens and cost per week (weeks starting on `start`), oldest first.
pub fn weekly(loaded: &Loaded, period: &Period, start: jiff::civil::Weekday) -> WeeklyReport {
    let (weeks, totals) = grouped(loaded, period, |period, ms| period.week(ms, start));
    WeeklyReport {
        weekly: weeks
            .into_iter()
            .map(|(week, group)| WeeklyRow {
                week,
                sums: group.sums.clone(),
                models_used: group.models_used(),
                model_breakdowns: group.breakdowns(),
                unpriced_models: group.unpriced_models(),
            })
            .collect(),
        totals,
    }
}

/// Tokens and cost per calendar month, oldest first.
pub fn monthly(loaded: &Loaded, period: &Period) -> MonthlyReport {
    let (months, totals) = grouped(loaded, period, Period::month);
    MonthlyReport {
        monthly: months
            .into_iter()
            .map(|(month, group)| MonthlyRow {
                month,
                sums: group.sums.clone(),
                models_used: group.models_used(),
                model_breakdowns: group.breakdowns(),
                unpriced_models: group.unpriced_models(),
            })
            .collect(),
        totals,
    }
}

/// A session's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    pub session_id: String,
    pub project_path: String,
    pub first_activity: String,
    pub last_activity: String,
    #[serde(flatten)]
    pub sums: Sums,
    pub models_used: Vec<String>,
    pub model_breakdowns: Vec<ModelBreakdown>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
    /// First and last reply, for the table (shown in the report's zone).
    #[serde(skip)]
    pub first_ms: i64,
    #[serde(skip)]
    pub last_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    pub sessions: Vec<SessionRow>,
    pub totals: Totals,
}

/// Tokens and cost per session (subagent files count for their session),
/// the most recently active first.
pub fn sessions(loaded: &Loaded, period: &Period) -> SessionReport {
    let mut groups: HashMap<(&str, &str), Group> = HashMap::new();
    for entry in &loaded.entries {
        if !period.contains_day(&period.day(entry.timestamp_ms)) {
            continue;
        }
        let file = loaded.file(entry);
        groups
            .entry((file.project.as_str(), file.session_id.as_str()))
            .or_default()
            .add(loaded.model_name(entry), &entry.tokens, entry.timestamp_ms);
    }
    let totals = totals(groups.values());
    let mut sessions: Vec<SessionRow> = groups
        .into_iter()
        .map(|((project, session), group)| SessionRow {
            session_id: session.to_string(),
            project_path: project.to_string(),
            first_activity: super::blocks::iso_ms(group.first_ms.unwrap_or(0)),
            last_activity: super::blocks::iso_ms(group.last_ms.unwrap_or(0)),
            sums: group.sums.clone(),
            models_used: group.models_used(),
            model_breakdowns: group.breakdowns(),
            unpriced_models: group.unpriced_models(),
            first_ms: group.first_ms.unwrap_or(0),
            last_ms: group.last_ms.unwrap_or(0),
        })
        .collect();
    sessions.sort_by(|a, b| {
        b.last_activity
            .cmp(&a.last_activity)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    SessionReport { sessions, totals }
}

/// Entries of a loaded set in time order (the order blocks need).
pub fn by_time(loaded: &Loaded) -> Vec<&StoredEntry> {
    let mut entries: Vec<&StoredEntry> = loaded.entries.iter().collect();
    entries.sort_by_key(|entry| entry.timestamp_ms);
    entries
}

/// `1234567` -> `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, character) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(character);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_usage::load::FileInfo;

    fn entry(timestamp: &str, model: Option<u16>, input: u64, file: u32) -> StoredEntry {
        StoredEntry {
            key: None,
            timestamp_ms: crate::local_usage::entry::parse_timestamp_ms(timestamp).unwrap(),
            tokens: TokenCounts {
                input,
                output: 10,
                cache_creation_5m: 100,
                cache_creation_1h: 0,
                cache_read: 1000,
            },
            model,
            is_sidechain: false,
            has_speed: false,
            limit_resets_at_s: None,
            file,
        }
    }

    fn loaded() -> Loaded {
        Loaded {
            entries: vec![
                entry("2026-03-01T10:00:00Z", Some(0), 1, 0),
                entry("2026-03-01T23:30:00Z", Some(1), 2, 0),
                entry("2026-03-02T01:00:00Z", Some(0), 4, 1),
                entry("2026-03-02T02:00:00Z", None, 8, 1),
            ],
            models: vec![
                "claude-sonnet-4-5-20250929".into(),
                "claude-opus-5-5".into(),
            ],
            files: vec![
                FileInfo {
                    path: "a".into(),
                    project: "-p1".into(),
                    session_id: "s1".into(),
                },
                FileInfo {
                    path: "b".into(),
                    project: "-p2".into(),
                    session_id: "s2".into(),
                },
            ],
            copies: 4,
        }
    }

    #[test]
    fn days_follow_the_time_zone() {
        let utc = daily(&loaded(), &Period::all(jiff::tz::TimeZone::UTC));
        let days: Vec<(String, u64)> = utc
            .daily
            .iter()
            .map(|r| (r.date.clone(), r.sums.input_tokens))
            .collect();
        assert_eq!(
            days,
            vec![("2026-03-01".into(), 3), ("2026-03-02".into(), 12)]
        );
        let tokyo = daily(
            &loaded(),
            &Period::all(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()),
        );
        let days: Vec<(String, u64)> = tokyo
            .daily
            .iter()
            .map(|r| (r.date.clone(), r.sums.input_tokens))
            .collect();
        assert_eq!(
            days,
            vec![("2026-03-01".into(), 1), ("2026-03-02".into(), 14)]
        );
        assert_eq!(utc.totals.sums.total_tokens, 15 + 4 * 1110);
        assert_eq!(
            utc.totals.unpriced_models,
            vec!["claude-opus-5-5".to_string()]
        );
    }

    #[test]
    fn since_and_until_are_inclusive_days() {
        let mut period = Period::all(jiff::tz::TimeZone::UTC);
        period.since = Some("2026-03-02".into());
        period.until = Some("2026-03-02".into());
        let report = daily(&loaded(), &period);
        assert_eq!(report.daily.len(), 1);
        assert_eq!(report.totals.sums.input_tokens, 12);
    }

    #[test]
    fn sessions_group_by_project_and_session() {
        let report = sessions(&loaded(), &Period::all(jiff::tz::TimeZone::UTC));
        let rows: Vec<(&str, u64)> = report
            .sessions
            .iter()
            .map(|r| (r.session_id.as_str(), r.sums.input_tokens))
            .collect();
        assert_eq!(rows, vec![("s2", 12), ("s1", 3)]);
        assert_eq!(report.sessions[0].last_activity, "2026-03-02T02:00:00.000Z");
        let breakdown = &report.sessions[1].model_breakdowns;
        assert!(breakdown
            .iter()
            .any(|b| b.model_name == "claude-opus-5-5" && b.missing_pricing));
    }

    #[test]
    fn days_parse_in_both_forms() {
        assert_eq!(parse_day("20260131"), Ok("2026-01-31".into()));
        assert_eq!(parse_day("2026-01-31"), Ok("2026-01-31".into()));
        assert!(parse_day("2026-02-31").is_err());
        assert!(parse_day("yesterday").is_err());
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
