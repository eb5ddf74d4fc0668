//! PostToolUse: read the policy's inputs from the store, decide, record the
//! decision, sleep, and tell the user when the pause is long.
//!
//! The decision is recorded *before* the sleep: if Claude Code kills the
//! hook mid-sleep (timeout, the session ends), the store still says what
//! was decided and why, and the next call's policy sees the delay that was
//! in force. Only a delay at least `pacing.message_threshold_seconds` long
//! prints a reply; everything else leaves stdout empty.

use std::time::Duration;

use anyhow::Context;
use rusqlite::Connection;

use super::policy::{self, Decision, PacingSettings, PolicyInput, Skip, ToolCall, Verdict};
use crate::config::Config;
use crate::event::SessionContext;
use crate::hook_context::HookContext;
use crate::store::Store;
use crate::usage::snapshot::{self, ModelFamily, UsageSnapshot, META_PROMPT_CACHE_TTL_SECONDS};

/// The longest stretch of history the policy reads.
const HISTORY_MS: i64 = policy::SEVEN_DAY_LOOKBACK_SECONDS * 1000;
/// About the most calls of other sessions one hook reads ...
const OTHER_SESSIONS_MAX_CALLS: i64 = 2000;
/// ... from at most this many other sessions ...
const OTHER_SESSIONS_MAX: i64 = 64;
/// ... and never fewer than this many calls of each.
const OTHER_SESSION_MIN_CALLS: i64 = 30;
/// History this recent is read in full.
const FULL_HISTORY_MS: i64 = 2 * 3_600_000;
/// The session's own calls this recent are read one by one.
const CALLS_IN_FULL_MS: i64 = policy::CYCLE_WORK_LOOKBACK_MS;
/// Older history keeps one snapshot per source, and one row of the
/// session's calls, per this many milliseconds.
const THINNED_STEP_MS: i64 = 600_000;

/// Runs pacing for one PostToolUse. Inactive (paused, or `pacing.enabled`
/// off) means no delay and nothing recorded. Returns the message for the
/// person when the delay was long enough to explain; the hook shows it.
/// `poll_due_ms`, when the usage API's next poll is due: a no-delay pass
/// granted here ends then.
pub fn post_tool_use(
    context: &mut HookContext<'_>,
    session: &SessionContext,
    tool_duration_ms: Option<u64>,
    poll_due_ms: Option<i64>,
) -> anyhow::Result<Option<String>> {
    if !context.control.is_active() || !context.config.pacing.enabled {
        return Ok(None);
    }
    let now_ms = context.now_ms;
    let config = context.config;
    if config.pacing.allow_extra_usage {
        if let Some(reason) = extra_usage_allows(context.store.connection(), config)? {
            record_without_window(context.store, &session.session_id, now_ms, &reason)?;
            tracing::debug!(session = session.session_id, "pacing: {reason}");
            return Ok(None);
        }
    }
    let decision = decide(
        context.store,
        config,
        &session.session_id,
        now_ms,
        tool_duration_ms,
        &mut |store| crate::local_usage::estimate::current(store, config, now_ms),
    )?;
    record(context.store, &session.session_id, now_ms, &decision)?;
    super::pass::keep(
        &context.home.fast_dir(),
        &session.session_id,
        super::pass::grant(
            &decision,
            now_ms,
            super::pass::fingerprint(config),
            poll_due_ms,
        ),
    );
    log(&session.session_id, &decision);
    if decision.delay_ms <= 0 {
        return Ok(None);
    }
    // On a test build's virtual clock the sleep is recorded, not taken.
    if crate::clock::virtual_now_ms().is_none() {
        std::thread::sleep(Duration::from_millis(decision.delay_ms as u64));
    }
    let threshold_ms = context.config.pacing.message_threshold_seconds as i64 * 1000;
    Ok((decision.delay_ms >= threshold_ms).then(|| decision.user_message()))
}

/// The local estimate, asked for only when no fresh official figure is in
/// the store: the hook scans the transcripts, the simulator models them.
pub type Estimator<'a> = dyn FnMut(&mut Store) -> anyhow::Result<Option<UsageSnapshot>> + 'a;

/// The decision for a PostToolUse of `session_id` at `now_ms`, from what the
/// store holds: the one path both the hook and the simulator take (inputs
/// from the store, thinned; the estimate only without a fresh official
/// figure; the cache TTL the status line reported; the policy).
pub fn decide(
    store: &mut Store,
    config: &Config,
    session_id: &str,
    now_ms: i64,
    tool_duration_ms: Option<u64>,
    estimate: &mut Estimator<'_>,
) -> anyhow::Result<Decision> {
    let mut settings = PacingSettings::from_config(config);
    if settings.per_model {
        settings.model = session_model(store, session_id)?;
    }
    let stale_ms = settings.stale_after_seconds as i64 * 1000;
    let mut inputs = load_inputs(store.connection(), session_id, now_ms, stale_ms)?;
    if settings.use_estimate && !has_fresh_official(&inputs.snapshots, now_ms, stale_ms) {
        // Only now, with no fresh official figure, is the local estimate
        // worth its scan of the transcripts' appended bytes.
        match estimate(store) {
            Ok(Some(estimate)) => inputs.snapshots.push(estimate),
            Ok(None) => {}
            Err(error) => tracing::warn!("no local estimate this time: {error:#}"),
        }
    }
    let cache_ttl_seconds = cache_ttl_seconds(
        store.meta(META_PROMPT_CACHE_TTL_SECONDS)?,
        config.pacing.default_cache_ttl_seconds,
    );
    let others: Vec<&[ToolCall]> = inputs.others.iter().map(Vec::as_slice).collect();
    Ok(policy::decide(&PolicyInput {
        now_ms,
        snapshots: &inputs.snapshots,
        calls: &inputs.calls,
        other_sessions: &others,
        tool_duration_ms: tool_duration_ms.map(|ms| ms.min(i64::MAX as u64) as i64),
        cache_ttl_seconds,
        settings: &settings,
    }))
}

/// The policy's inputs as the store holds them.
#[derive(Debug, Default)]
pub struct Inputs {
    pub snapshots: Vec<UsageSnapshot>,
    pub calls: Vec<ToolCall>,
    /// The other sessions' tool calls of the last `OTHER_SESSIONS_HISTORY_MS`, one
    /// list per session, each in time order.
    pub others: Vec<Vec<ToolCall>>,
}

/// Reads a day of snapshots (plus the staleness allowance), the session's
/// tool calls of the same day, each with the delay decided then, and the
/// other sessions' recent calls.
/// Snapshots older than two hours are thinned to one per source and ten
/// minutes: only the weekly burn rate looks that far back, and a status
/// line can write one every few seconds.
pub fn load_inputs(
    connection: &Connection,
    session_id: &str,
    now_ms: i64,
    stale_ms: i64,
) -> anyhow::Result<Inputs> {
    let since = now_ms - HISTORY_MS - stale_ms.max(0);
    let recent = now_ms - FULL_HISTORY_MS;
    let mut snapshots = snapshot::thinned(connection, since, recent, THINNED_STEP_MS)
        .context("cannot read usage snapshots")?;
    snapshots.extend(snapshot::since(connection, recent).context("cannot read usage snapshots")?);
    // A reading dated in the future came from before a clock jump: pacing
    // on it would be pacing on figures nobody can place in time.
    snapshots.retain(|snapshot| snapshot.taken_at_ms <= now_ms + crate::clock::FUTURE_TOLERANCE_MS);
    // The session's last half hour call by call (its cycles, its last sleep);
    // before that, one row per ten minutes with the sleep decided in them,
    // so a session's history costs the hook at most a day's 144 rows more
    // however fast its cycles come. Whole ten minutes come from the
    // store's running sums (`tool_call_buckets`), the part-filled ten
    // minutes at either end from the calls themselves: the rows are the
    // same as folding every call, without reading every call.
    let detailed_from = now_ms - CALLS_IN_FULL_MS;
    let mut calls = older_calls(connection, session_id, now_ms - HISTORY_MS, detailed_from)?;
    calls.extend(
        crate::sessions::calls_through(connection, session_id, detailed_from, now_ms)
            .context("cannot read the session's tool calls")?
            .into_iter()
            .map(|(at_ms, delay_ms)| ToolCall { at_ms, delay_ms }),
    );
    // The session's first cycle began at its prompt (or its start): that
    // moment, as a call without delay, lets the policy measure the first
    // cycle's work instead of assuming a default one.
    if calls.iter().all(|call| call.at_ms >= now_ms) {
        if let Some(began) = turn_began_ms(connection, session_id, now_ms)? {
            calls.insert(
                0,
                ToolCall {
                    at_ms: began,
                    delay_ms: 0,
                },
            );
        }
    }
    let others = other_sessions_calls(connection, session_id, now_ms)?;
    Ok(Inputs {
        snapshots,
        calls,
        others,
    })
}

/// The session's calls in `[from_ms, to_ms)`, one row per ten minutes
/// (`THINNED_STEP_MS`, the store's bucket): the first call's time and the
/// delays of all of them, oldest first.
fn older_calls(
    connection: &Connection,
    session_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> anyhow::Result<Vec<ToolCall>> {
    const _: () = assert!(THINNED_STEP_MS == crate::store::TOOL_CALL_BUCKET_MS);
    let step = THINNED_STEP_MS;
    // Whole buckets lie in [first_whole, end_whole); the rest of the span,
    // at most a bucket at each end, is read call by call.
    let first_whole = from_ms.div_euclid(step) + i64::from(from_ms.rem_euclid(step) != 0);
    let end_whole = to_ms.div_euclid(step).max(first_whole);
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut fold = |at_ms: i64, delay_ms: i64| match calls.last_mut() {
        Some(bucket) if bucket.at_ms.div_euclid(step) == at_ms.div_euclid(step) => {
            bucket.delay_ms += delay_ms;
        }
        _ => calls.push(ToolCall { at_ms, delay_ms }),
    };
    let read_calls = |from: i64, to: i64, fold: &mut dyn FnMut(i64, i64)| {
        if from >= to {
            return Ok(());
        }
        for (at_ms, delay_ms) in crate::sessions::calls(connection, session_id, from, to)? {
            fold(at_ms, delay_ms);
        }
        anyhow::Ok(())
    };
    read_calls(from_ms, (first_whole * step).min(to_ms), &mut fold)
        .context("cannot read the session's tool calls")?;
    let buckets = crate::sessions::call_buckets(connection, session_id, first_whole, end_whole)
        .context("cannot read the session's tool calls")?;
    for (first_at_ms, delay_ms) in buckets {
        fold(first_at_ms, delay_ms);
    }
    read_calls((end_whole * step).max(from_ms), to_ms, &mut fold)
        .context("cannot read the session's tool calls")?;
    Ok(calls)
}

/// When the session's current turn began (its last prompt, else its start),
/// if that was within an idle gap of now.
fn turn_began_ms(
    connection: &Connection,
    session_id: &str,
    now_ms: i64,
) -> anyhow::Result<Option<i64>> {
    let began = crate::sessions::turn_began_ms(connection, session_id)
        .context("cannot read the session")?;
    Ok(began.filter(|&began| began < now_ms && now_ms - began <= policy::IDLE_GAP_MS))
}

/// The other sessions' calls of the last `OTHER_SESSIONS_HISTORY_MS`, one
/// time-ordered list per session, the most recently active first. The
/// sessions come from their last activity, and each one's calls from its
/// own (session, time) index, newest first: this session's calls are never
/// scanned, and however many sessions run, a hook reads at most about
/// `OTHER_SESSIONS_MAX_CALLS` rows (each of the `OTHER_SESSIONS_MAX` most
/// recently active sessions gets an equal share, at least
/// `OTHER_SESSION_MIN_CALLS`).
fn other_sessions_calls(
    connection: &Connection,
    session_id: &str,
    now_ms: i64,
) -> anyhow::Result<Vec<Vec<ToolCall>>> {
    let since = now_ms - policy::OTHER_SESSIONS_HISTORY_MS;
    let ids =
        crate::sessions::others_active_since(connection, session_id, since, OTHER_SESSIONS_MAX)
            .context("cannot read the other sessions")?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let share = (OTHER_SESSIONS_MAX_CALLS / ids.len() as i64).max(OTHER_SESSION_MIN_CALLS);
    let mut others = Vec::with_capacity(ids.len());
    for id in &ids {
        let mut theirs: Vec<ToolCall> =
            crate::sessions::newest_calls(connection, id, since, now_ms, share)
                .context("cannot read the other sessions' tool calls")?
                .into_iter()
                .map(|(at_ms, delay_ms)| ToolCall { at_ms, delay_ms })
                .collect();
        if !theirs.is_empty() {
            theirs.reverse();
            others.push(theirs);
        }
    }
    Ok(others)
}

/// Whether some official reading is at most `stale_ms` old.
fn has_fresh_official(snapshots: &[UsageSnapshot], now_ms: i64, stale_ms: i64) -> bool {
    snapshots
        .iter()
        .rev()
        .any(|snapshot| snapshot.source.is_official() && now_ms - snapshot.taken_at_ms <= stale_ms)
}

/// The prompt-cache TTL in force: what the status line last reported, else
/// the configured default. A value outside one second to a day is ignored.
pub fn cache_ttl_seconds(reported: Option<String>, default_seconds: u64) -> u64 {
    reported
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|seconds| (1..=86_400).contains(seconds))
        .unwrap_or(default_seconds)
}

/// With `pacing.allow_extra_usage`, why no window is held back: the usage
/// endpoint's latest reading says extra usage is on, and less than
/// `pacing.extra_usage_max_spend` of it is spent (and its monthly limit,
/// when it has one, is not reached). `None` means pace as usual.
pub fn extra_usage_allows(
    connection: &Connection,
    config: &Config,
) -> anyhow::Result<Option<String>> {
    let Some(extra) = snapshot::latest(connection, snapshot::SnapshotSource::Api)
        .context("cannot read the usage snapshot")?
        .and_then(|api| api.extra_usage())
    else {
        return Ok(None);
    };
    let spent = extra.used_credits.unwrap_or(0.0);
    let cap = config.pacing.extra_usage_max_spend;
    let limit_left = extra.utilization.is_none_or(|percent| percent < 100.0);
    Ok((extra.is_enabled && spent < cap && limit_left).then(|| {
        format!(
            "extra usage allowed: {spent:.2} of the {cap:.2} set spent (pacing.allow_extra_usage): no delay"
        )
    }))
}

/// A decision without a window (no delay), with its reason.
fn record_without_window(
    store: &mut Store,
    session_id: &str,
    now_ms: i64,
    reason: &str,
) -> anyhow::Result<()> {
    store
        .write(|transaction| {
            super::decisions::insert(
                transaction,
                &super::decisions::NewDecision {
                    session_id,
                    decided_at_ms: now_ms,
                    delay_ms: 0,
                    window: None,
                    utilization: None,
                    projected_percent: None,
                    target_percent: None,
                    reason,
                },
            )
        })
        .context("cannot record the pacing decision")
}

/// How much of a transcript's end is read for the session's model.
const MODEL_TAIL_BYTES: u64 = 64 * 1024;

/// The model family of a session: the model SessionStart or the status
/// line stored for it (one indexed lookup), else, once, the newest
/// assistant entry in the last 64 KiB of its transcript (`claude -p`
/// sends no model at SessionStart and runs no status line), stored for the
/// next calls. A tool call inside a subagent is paced as its session: the
/// hook input does not say the subagent's model.
fn session_model(store: &mut Store, session_id: &str) -> anyhow::Result<Option<ModelFamily>> {
    let row = crate::sessions::model_and_transcript(store.connection(), session_id)
        .context("cannot read the session's model")?;
    let Some((model, transcript)) = row else {
        return Ok(None);
    };
    if let Some(model) = model {
        return Ok(ModelFamily::of_model(&model));
    }
    if transcript.is_empty() {
        return Ok(None);
    }
    let Some(model) = transcript_model(std::path::Path::new(&transcript)) else {
        return Ok(None);
    };
    store
        .write(|transaction| crate::sessions::set_model_if_unknown(transaction, session_id, &model))
        .context("cannot store the session's model")?;
    Ok(ModelFamily::of_model(&model))
}

/// The model of the newest assistant entry in a transcript's tail (error
/// entries, which say `<synthetic>`, are passed over). Any model is kept,
/// one of no known family too, so the transcript is read once a session.
pub fn transcript_model(path: &std::path::Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        message: Option<Message>,
    }
    #[derive(serde::Deserialize)]
    struct Message {
        model: Option<String>,
    }
    let finder = memchr::memmem::Finder::new(b"\"model\"");
    let mut found = None;
    let _ =
        crate::momentum::transcript_tail::for_each_line_backwards(path, MODEL_TAIL_BYTES, |line| {
            if finder.find(line).is_some() {
                if let Some(model) = serde_json::from_slice::<Entry>(line)
                    .ok()
                    .and_then(|entry| entry.message?.model)
                    .filter(|model| !model.is_empty() && model != "<synthetic>")
                {
                    found = Some(model);
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        });
    found
}

/// One `pacing_decisions` row, and the session's delay total, in one transaction.
pub fn record(
    store: &mut Store,
    session_id: &str,
    now_ms: i64,
    decision: &Decision,
) -> anyhow::Result<()> {
    let window = decision.reason.window;
    let reason = decision.reason.to_string();
    store
        .write(|transaction| {
            super::decisions::insert(
                transaction,
                &super::decisions::NewDecision {
                    session_id,
                    decided_at_ms: now_ms,
                    delay_ms: decision.delay_ms,
                    window: window.map(|window| window.kind.key()),
                    utilization: window.map(|window| window.utilization_percent),
                    projected_percent: window.map(|window| window.projected_percent),
                    target_percent: window.map(|window| window.target_percent),
                    reason: &reason,
                },
            )?;
            if decision.delay_ms > 0 {
                // The call this hook runs for was recorded at the same `now`.
                crate::sessions::add_delay(transaction, session_id, now_ms, decision.delay_ms)?;
            }
            Ok(())
        })
        .context("cannot record the pacing decision")
}

/// Stale figures are worth a line at info (something stopped reporting);
/// figures that never existed (a fresh install, an API-key login) only at
/// debug, or every tool call would log the same line.
fn log(session_id: &str, decision: &Decision) {
    let stale = decision
        .reason
        .skipped
        .iter()
        .any(|(_, skip)| matches!(skip, Skip::Stale { .. }));
    match decision.reason.verdict {
        Verdict::NoData if stale => tracing::info!(
            session = session_id,
            "pacing fails open: {}",
            decision.reason
        ),
        Verdict::NoData => tracing::debug!(
            session = session_id,
            "pacing fails open: {}",
            decision.reason
        ),
        Verdict::Ahead => tracing::info!(
            session = session_id,
            delay_ms = decision.delay_ms,
            "pacing: {}",
            decision.reason
        ),
        Verdict::OnPace => tracing::debug!(session = session_id, "pacing: {}", decision.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::snapshot::{SnapshotSource, WindowReading};
    use rusqlite::params;

    #[test]
    fn inputs_keep_two_hours_in_full_thin_the_rest_and_read_the_sessions_calls_and_the_others_last_hour(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let now = 100 * 3_600_000;
        store
            .write(|transaction| {
                let mut at = now - 3 * 3_600_000;
                while at <= now {
                    let reading = UsageSnapshot {
                        source: SnapshotSource::Statusline,
                        taken_at_ms: at,
                        five_hour: Some(WindowReading {
                            percent: 1.0,
                            resets_at_s: Some(now / 1000 + 3600),
                        }),
                        seven_day: None,
                        seven_day_opus: None,
                        seven_day_sonnet: None,
                        raw_json: None,
                    };
                    snapshot::insert(transaction, &reading)?;
                    at += 30_000;
                }
                for (at, delay) in [(now - 60_000, 7000), (now - 30_000, 0)] {
                    transaction.execute(
                        "INSERT INTO tool_calls (session_id, at, tool_name, delay_ms)
                         VALUES ('s', ?1, 'Bash', ?2)",
                        [at, delay],
                    )?;
                }
                // The sessions table says who was active; "gone" was not
                // in the last hour.
                for (session, active) in [
                    ("s", now),
                    ("other", now - 10_000),
                    ("third", now - 20_000),
                    ("gone", now - 2 * 3_600_000),
                ] {
                    transaction.execute(
                        "INSERT INTO sessions (id, started_at, last_activity_at) VALUES (?1, ?2, ?2)",
                        params![session, active],
                    )?;
                }
                // Other sessions: only their last hour is read.
                for (session, at, delay) in [
                    ("other", now - 10_000, 0),
                    ("other", now - 50_000, 20_000),
                    ("other", now - 2 * 3_600_000, 9_000),
                    ("third", now - 20_000, 4_000),
                ] {
                    transaction.execute(
                        "INSERT INTO tool_calls (session_id, at, tool_name, delay_ms)
                         VALUES (?1, ?2, 'Bash', ?3)",
                        params![session, at, delay],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let inputs = load_inputs(store.connection(), "s", now, 900_000).unwrap();
        let call = |at_ms, delay_ms| ToolCall { at_ms, delay_ms };
        assert_eq!(
            inputs.others,
            vec![
                vec![call(now - 50_000, 20_000), call(now - 10_000, 0)],
                vec![call(now - 20_000, 4_000)],
            ]
        );
        let recent = inputs
            .snapshots
            .iter()
            .filter(|snapshot| snapshot.taken_at_ms >= now - FULL_HISTORY_MS)
            .count();
        assert_eq!(recent, 241, "every reading of the last two hours");
        assert_eq!(inputs.snapshots.len(), 241 + 6, "one per 10 min before");
        assert!(inputs
            .snapshots
            .windows(2)
            .all(|pair| pair[0].taken_at_ms < pair[1].taken_at_ms));
        assert_eq!(
            inputs.calls,
            vec![
                ToolCall {
                    at_ms: now - 60_000,
                    delay_ms: 7000
                },
                ToolCall {
                    at_ms: now - 30_000,
                    delay_ms: 0
                },
            ]
        );
    }

    /// The older calls from the buckets are the rows folding every call
    /// gives, for any span, after delays are set and after a prune.
    #[test]
    fn older_calls_from_the_buckets_equal_folding_every_call() {
        use rand::{Rng, SeedableRng};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let mut random = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let now: i64 = 1_000 * 3_600_000 + 123_456;
        let mut calls: Vec<(String, i64)> = Vec::new();
        for _ in 0..3_000 {
            let session = ["s", "t"][random.gen_range(0..2)].to_string();
            // Some on the same millisecond, some on a bucket's edge.
            let at = match random.gen_range(0..10) {
                0 => (now - random.gen_range(0..30 * 3_600_000)).div_euclid(600_000) * 600_000,
                1 => calls.last().map_or(now, |call| call.1),
                _ => now - random.gen_range(0..30 * 3_600_000),
            };
            calls.push((session, at));
        }
        store
            .write(|transaction| {
                for (session, at) in &calls {
                    transaction.execute(
                        "INSERT INTO tool_calls (session_id, at, tool_name) VALUES (?1, ?2, 'Bash')",
                        params![session, at],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        for _ in 0..300 {
            let (session, at) = &calls[random.gen_range(0..calls.len())];
            let decision = Decision {
                delay_ms: random.gen_range(0..90_000),
                ..policy::decide(&PolicyInput {
                    now_ms: *at,
                    snapshots: &[],
                    calls: &[],
                    other_sessions: &[],
                    tool_duration_ms: None,
                    cache_ttl_seconds: 300,
                    settings: &PacingSettings::from_config(&Config::default()),
                })
            };
            record(&mut store, session, *at, &decision).unwrap();
        }
        let folded = |store: &Store, session: &str, from: i64, to: i64| {
            let mut statement = store
                .connection()
                .prepare(
                    "SELECT at, delay_ms FROM tool_calls
                     WHERE session_id = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
                )
                .unwrap();
            let mut rows = statement.query(params![session, from, to]).unwrap();
            let mut calls: Vec<ToolCall> = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                let (at_ms, delay_ms): (i64, i64) = (row.get(0).unwrap(), row.get(1).unwrap());
                match calls.last_mut() {
                    Some(last) if last.at_ms.div_euclid(600_000) == at_ms.div_euclid(600_000) => {
                        last.delay_ms += delay_ms
                    }
                    _ => calls.push(ToolCall { at_ms, delay_ms }),
                }
            }
            calls
        };
        let check = |store: &Store, random: &mut rand_chacha::ChaCha8Rng| {
            for _ in 0..200 {
                let session = ["s", "t"][random.gen_range(0..2)];
                let from = now - random.gen_range(0..31 * 3_600_000);
                let to = match random.gen_range(0..4) {
                    0 => from + random.gen_range(0..600_000),
                    1 => from.div_euclid(600_000) * 600_000 + 600_000,
                    _ => from + random.gen_range(0..31 * 3_600_000),
                };
                let from = if random.gen_range(0..4) == 0 {
                    from.div_euclid(600_000) * 600_000
                } else {
                    from
                };
                assert_eq!(
                    older_calls(store.connection(), session, from, to).unwrap(),
                    folded(store, session, from, to),
                    "{session} [{from}, {to})"
                );
            }
        };
        check(&store, &mut random);
        store
            .write(|transaction| {
                crate::sessions::prune(transaction, now, 3_600_000, 20 * 3_600_000 + 1234)
            })
            .unwrap();
        check(&store, &mut random);
    }

    #[test]
    fn the_reported_cache_ttl_wins_and_nonsense_falls_back() {
        assert_eq!(cache_ttl_seconds(Some("3600".into()), 300), 3600);
        assert_eq!(cache_ttl_seconds(Some(" 300 ".into()), 60), 300);
        assert_eq!(cache_ttl_seconds(Some("0".into()), 300), 300);
        assert_eq!(cache_ttl_seconds(Some("soon".into()), 300), 300);
        assert_eq!(cache_ttl_seconds(None, 300), 300);
    }
}
