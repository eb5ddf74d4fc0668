//! When to ask the usage API, and who asks: cache, single flight, backoff.
//!
//! Every PostToolUse hook wants current figures, and many hooks run at
//! once (parallel sessions, subagents). If each asked the API, a busy
//! afternoon would be a storm of requests and a 429. So:
//!
//! - A snapshot of either official source younger than
//!   `usage.poll_interval_seconds` is used as is; the hook reads two rows
//!   and goes on, without taking the write lock.
//! - When it is stale, exactly one process polls: it takes a lease in the
//!   `api_state` row inside a `BEGIN IMMEDIATE` transaction that checks the
//!   conditions again under the lock. Everyone else finds the lease taken
//!   and goes on with the last snapshot at once; nobody waits for the poll.
//! - Failures back off. A 429 waits for its Retry-After (kept between the
//!   poll interval and `usage.max_backoff_seconds`) or exponentially from
//!   the poll interval; 5xx, timeouts, resets and bad bodies back off
//!   exponentially; a 401/403 marks the credentials unusable until the
//!   credentials change (a fingerprint of the file, not of the token).
//!   Without a fresh snapshot a hook still polls at most once per poll
//!   interval (the last attempt's time is written when the lease is
//!   taken), so no failure mode makes more than one request per interval.
//!
//! The decisions ([`gate`], [`after_attempt`]) are pure functions of the
//! stored state and `now`; [`refresh`] is the I/O around them.

use std::path::Path;
use std::time::Instant;

use rusqlite::{params, Connection, Transaction};
use serde::Serialize;

use super::api::{UsageApi, UsageApiError};
use super::credentials::{self, CredentialsError};
use super::snapshot::{self, UsageSnapshot};
use crate::config::{Config, UsageConfig};
use crate::store::Store;

/// A lease outlives the request's total deadline by this much, so a
/// process that died mid-poll does not block polling for long.
pub const LEASE_MARGIN_MS: i64 = 5_000;

/// The usage API's state, as `status` and `doctor` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiStatus {
    /// Never polled.
    Unknown,
    Ok,
    /// Rate limited (429): waiting for `backoff_until`.
    BackingOff,
    CredentialsExpired,
    CredentialsMissing,
    /// A 401/403: unusable until the credentials change.
    Unauthorized,
    /// Any other failure; `backoff_until` says when the next try is.
    Error,
}

impl ApiStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiStatus::Unknown => "unknown",
            ApiStatus::Ok => "ok",
            ApiStatus::BackingOff => "backing-off",
            ApiStatus::CredentialsExpired => "credentials-expired",
            ApiStatus::CredentialsMissing => "credentials-missing",
            ApiStatus::Unauthorized => "unauthorized",
            ApiStatus::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "ok" => ApiStatus::Ok,
            "backing-off" => ApiStatus::BackingOff,
            "credentials-expired" => ApiStatus::CredentialsExpired,
            "credentials-missing" => ApiStatus::CredentialsMissing,
            "unauthorized" => ApiStatus::Unauthorized,
            "error" => ApiStatus::Error,
            _ => ApiStatus::Unknown,
        }
    }
}

impl std::fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `api_state` row. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiState {
    #[serde(rename = "state")]
    pub status: ApiStatus,
    pub lease_owner: Option<i64>,
    pub lease_until_ms: Option<i64>,
    pub last_attempt_at_ms: Option<i64>,
    pub last_success_at_ms: Option<i64>,
    pub backoff_until_ms: Option<i64>,
    pub failures: u32,
    /// A message without any secret.
    pub last_error: Option<String>,
    /// Of the credentials at the last success or 401/403 (see `credentials`).
    #[serde(skip)]
    pub credentials_fingerprint: Option<String>,
}

impl Default for ApiState {
    fn default() -> Self {
        Self {
            status: ApiStatus::Unknown,
            lease_owner: None,
            lease_until_ms: None,
            last_attempt_at_ms: None,
            last_success_at_ms: None,
            backoff_until_ms: None,
            failures: 0,
            last_error: None,
            credentials_fingerprint: None,
        }
    }
}

impl ApiState {
    /// Reads the row (migration 1 creates it).
    pub fn read(connection: &Connection) -> rusqlite::Result<Self> {
        connection.query_row(
            "SELECT state, lease_owner, lease_until, last_attempt_at, last_success_at,
                    backoff_until, failures, last_error, credentials_fingerprint
             FROM api_state WHERE id = 1",
            [],
            |row| {
                let status: String = row.get(0)?;
                let failures: i64 = row.get(6)?;
                Ok(ApiState {
                    status: ApiStatus::parse(&status),
                    lease_owner: row.get(1)?,
                    lease_until_ms: row.get(2)?,
                    last_attempt_at_ms: row.get(3)?,
                    last_success_at_ms: row.get(4)?,
                    backoff_until_ms: row.get(5)?,
                    failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
                    last_error: row.get(7)?,
                    credentials_fingerprint: row.get(8)?,
                })
            },
        )
    }

    /// The row as it can stand at `now_ms`: a time further ahead than any
    /// outcome could have set it (a backoff past the longest backoff, a
    /// lease past a request's deadline, an attempt in the future) was
    /// written before the clock jumped back, and is dropped so that it
    /// does not stop polling until the clock catches up. Pure.
    pub fn as_of(mut self, now_ms: i64, usage: &UsageConfig) -> Self {
        let tolerance = crate::clock::FUTURE_TOLERANCE_MS;
        let longest_backoff_ms =
            usage.max_backoff_seconds.max(usage.poll_interval_seconds) as i64 * 1000;
        let longest_lease_ms = usage.total_timeout_ms as i64 + LEASE_MARGIN_MS;
        let beyond = |time: Option<i64>, span_ms: i64| {
            time.filter(|time| time.saturating_sub(now_ms) <= span_ms + tolerance)
        };
        self.backoff_until_ms = beyond(self.backoff_until_ms, longest_backoff_ms);
        self.lease_until_ms = beyond(self.lease_until_ms, longest_lease_ms);
        self.last_attempt_at_ms = beyond(self.last_attempt_at_ms, 0);
        self
    }

    /// Writes the whole row.
    fn write(&self, transaction: &Transaction<'_>) -> rusqlite::Result<()> {
        transaction.execute(
            "UPDATE api_state SET state = ?1, lease_owner = ?2, lease_until = ?3,
                    last_attempt_at = ?4, last_success_at = ?5, backoff_until = ?6,
                    failures = ?7, last_error = ?8, credentials_fingerprint = ?9
             WHERE id = 1",
            params![
                self.status.as_str(),
                self.lease_owner,
                self.lease_until_ms,
                self.last_attempt_at_ms,
                self.last_success_at_ms,
                self.backoff_until_ms,
                self.failures,
                self.last_error,
                self.credentials_fingerprint
            ],
        )?;
        Ok(())
    }
}

/// Whether a hook's own stale check or an explicit `usage refresh` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll only when no official snapshot is fresh (the hooks).
    IfStale,
    /// Poll now, still respecting backoff and another process's lease.
    Now,
}

/// Whether to poll now, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// An official snapshot is younger than the poll interval.
    Fresh {
        age_ms: i64,
    },
    /// A failed request asked us to wait.
    BackingOff {
        until_ms: i64,
    },
    /// Another process is polling right now.
    Leased {
        until_ms: i64,
    },
    /// The last attempt is younger than the poll interval.
    TooSoon {
        next_ms: i64,
    },
    Poll,
}

/// Decides whether to poll. Pure.
pub fn gate(
    state: &ApiState,
    freshest_taken_at_ms: Option<i64>,
    mode: Mode,
    now_ms: i64,
    poll_interval_ms: i64,
) -> Gate {
    if mode == Mode::IfStale {
        if let Some(taken_at) = freshest_taken_at_ms {
            let age_ms = now_ms - taken_at;
            if age_ms < poll_interval_ms {
                return Gate::Fresh { age_ms };
            }
        }
    }
    if let Some(until_ms) = state.backoff_until_ms.filter(|until| *until > now_ms) {
        return Gate::BackingOff { until_ms };
    }
    if let Some(until_ms) = state.lease_until_ms.filter(|until| *until > now_ms) {
        return Gate::Leased { until_ms };
    }
    if mode == Mode::IfStale {
        if let Some(last) = state.last_attempt_at_ms {
            let next_ms = last + poll_interval_ms;
            if next_ms > now_ms {
                return Gate::TooSoon { next_ms };
            }
        }
    }
    Gate::Poll
}

/// How an attempt ended, for [`after_attempt`].
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    Success,
    Api(&'a UsageApiError),
    Credentials(&'a CredentialsError),
    /// Refused with 401/403 before and not changed since: no request made.
    CredentialsUnchanged,
}

/// Exponential backoff after `failures` failures in a row: the poll
/// interval, doubled per further failure, capped at `max_backoff_s`.
pub fn exponential_backoff_s(failures: u32, poll_interval_s: u64, max_backoff_s: u64) -> u64 {
    let doublings = failures.saturating_sub(1).min(32);
    poll_interval_s
        .saturating_mul(1u64 << doublings)
        .min(max_backoff_s.max(poll_interval_s))
}

/// The state after an attempt that started at `started_ms` and ended at
/// `finished_ms`. Pure. `backoff_until` is set only by a failed request;
/// attempts that made no request are limited by the last attempt's time.
pub fn after_attempt(
    previous: &ApiState,
    attempt: Attempt<'_>,
    fingerprint: Option<&str>,
    started_ms: i64,
    finished_ms: i64,
    usage: &UsageConfig,
) -> ApiState {
    let interval_s = usage.poll_interval_seconds;
    let max_s = usage.max_backoff_seconds.max(interval_s);
    let mut next = ApiState {
        lease_owner: None,
        lease_until_ms: None,
        last_attempt_at_ms: Some(started_ms),
        backoff_until_ms: None,
        ..previous.clone()
    };
    let backoff_ms = |seconds: u64| Some(finished_ms + seconds as i64 * 1000);
    match attempt {
        Attempt::Success => {
            next.status = ApiStatus::Ok;
            next.failures = 0;
            next.last_success_at_ms = Some(finished_ms);
            next.last_error = None;
            next.credentials_fingerprint = fingerprint.map(str::to_string);
        }
        Attempt::Api(error) => {
            next.failures = previous.failures.saturating_add(1);
            next.last_error = Some(error.to_string());
            match error {
                UsageApiError::RateLimited { retry_after_s } => {
                    next.status = ApiStatus::BackingOff;
                    let wait = retry_after_s
                        .map(|seconds| seconds.clamp(interval_s, max_s))
                        .unwrap_or_else(|| exponential_backoff_s(next.failures, interval_s, max_s));
                    next.backoff_until_ms = backoff_ms(wait);
                }
                UsageApiError::Unauthorized { .. } => {
                    next.status = ApiStatus::Unauthorized;
                    // No backoff: the fingerprint keeps these credentials from being
                    // sent again, and new ones deserve a try at once.
                    next.credentials_fingerprint = fingerprint.map(str::to_string);
                }
                UsageApiError::RefusedBase { .. } => {
                    // No request was made: nothing to back off from.
                    next.status = ApiStatus::Error;
                }
                _ => {
                    next.status = ApiStatus::Error;
                    next.backoff_until_ms =
                        backoff_ms(exponential_backoff_s(next.failures, interval_s, max_s));
                }
            }
        }
        Attempt::Credentials(error) => {
            next.status = match error {
                CredentialsError::Missing { .. } => ApiStatus::CredentialsMissing,
                CredentialsError::Expired { .. } => ApiStatus::CredentialsExpired,
                _ => ApiStatus::Error,
            };
            next.last_error = Some(error.to_string());
        }
        Attempt::CredentialsUnchanged => {
            next.status = ApiStatus::Unauthorized;
        }
    }
    next
}

/// Why a poll brought no snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollFailure {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Api(#[from] UsageApiError),
    #[error("the usage API refused these credentials before and they have not changed since")]
    CredentialsUnchanged,
}

impl PollFailure {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PollFailure::Credentials(error) => Some(error.hint()),
            PollFailure::Api(error) => error.hint(),
            PollFailure::CredentialsUnchanged => {
                Some("run `claude` (and `/login` if asked); pace-maker retries once the credentials file changes")
            }
        }
    }
}

/// What [`refresh`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh {
    /// No request: see the gate.
    NotNeeded(Gate),
    /// A new snapshot, stored.
    Polled(UsageSnapshot),
    /// The attempt failed; the backoff state is stored.
    Failed(PollFailure),
}

impl Refresh {
    /// When the next poll can happen at the earliest, if known: a pass
    /// of no delay (`pacing::pass`) ends then, so the call after it polls
    /// and decides on what the poll brings.
    pub fn next_due_ms(&self, now_ms: i64, interval_ms: i64) -> Option<i64> {
        match self {
            Refresh::NotNeeded(Gate::Fresh { age_ms }) => Some(now_ms - age_ms + interval_ms),
            Refresh::NotNeeded(Gate::BackingOff { until_ms })
            | Refresh::NotNeeded(Gate::Leased { until_ms }) => Some(*until_ms),
            Refresh::NotNeeded(Gate::TooSoon { next_ms }) => Some(*next_ms),
            Refresh::NotNeeded(Gate::Poll) | Refresh::Failed(_) => None,
            Refresh::Polled(_) => Some(now_ms + interval_ms),
        }
    }
}

/// When the freshest official snapshot was taken, ignoring snapshots
/// dated after `now_ms` (see [`crate::clock::FUTURE_TOLERANCE_MS`]).
pub fn freshest_official_taken_at(
    connection: &Connection,
    now_ms: i64,
) -> rusqlite::Result<Option<i64>> {
    snapshot::official_taken_at_or_before(
        connection,
        now_ms.saturating_add(crate::clock::FUTURE_TOLERANCE_MS),
    )
}

/// An id for this poller, unique across processes and threads.
fn lease_owner_id() -> i64 {
    (i64::from(std::process::id()) << 32) | i64::from(rand::random::<u32>())
}

/// Polls when due. Store errors are returned; everything else is an outcome.
pub fn refresh(
    store: &mut Store,
    usage: &UsageConfig,
    claude_dir: &Path,
    mode: Mode,
    now_ms: i64,
) -> anyhow::Result<Refresh> {
    let interval_ms = usage.poll_interval_seconds as i64 * 1000;
    // A look without the write lock first: with a fresh cache, this is all a hook pays.
    let quick = gate(
        &ApiState::read(store.connection())?.as_of(now_ms, usage),
        freshest_official_taken_at(store.connection(), now_ms)?,
        mode,
        now_ms,
        interval_ms,
    );
    if quick != Gate::Poll {
        return Ok(Refresh::NotNeeded(quick));
    }
    let owner = lease_owner_id();
    let lease_until_ms = now_ms + usage.total_timeout_ms as i64 + LEASE_MARGIN_MS;
    let (locked, state) = store.write(|transaction| {
        // Another process may have polled or taken the lease since the quick look.
        let state = ApiState::read(transaction)?.as_of(now_ms, usage);
        let locked = gate(
            &state,
            freshest_official_taken_at(transaction, now_ms)?,
            mode,
            now_ms,
            interval_ms,
        );
        if locked == Gate::Poll {
            transaction.execute(
                "UPDATE api_state SET lease_owner = ?1, lease_until = ?2, last_attempt_at = ?3
                 WHERE id = 1",
                params![owner, lease_until_ms, now_ms],
            )?;
        }
        Ok((locked, state))
    })?;
    if locked != Gate::Poll {
        return Ok(Refresh::NotNeeded(locked));
    }
    tracing::debug!("polling the usage API");

    let started = Instant::now();
    let (outcome, fingerprint) = attempt(&state, usage, claude_dir, now_ms);
    let finished_ms = now_ms + started.elapsed().as_millis() as i64;
    let attempted = match &outcome {
        Ok(_) => Attempt::Success,
        Err(PollFailure::Api(error)) => Attempt::Api(error),
        Err(PollFailure::Credentials(error)) => Attempt::Credentials(error),
        Err(PollFailure::CredentialsUnchanged) => Attempt::CredentialsUnchanged,
    };
    let next = after_attempt(
        &state,
        attempted,
        fingerprint.as_deref(),
        now_ms,
        finished_ms,
        usage,
    );
    store.write(|transaction| {
        if let Ok(snapshot) = &outcome {
            snapshot::insert(transaction, snapshot)?;
        }
        let still_ours: Option<i64> =
            transaction.query_row("SELECT lease_owner FROM api_state WHERE id = 1", [], |row| {
                row.get(0)
            })?;
        if still_ours == Some(owner) {
            next.write(transaction)?;
        } else {
            tracing::warn!("the usage API lease expired during the poll; its state is left to the newer poller");
        }
        Ok(())
    })?;
    match outcome {
        Ok(snapshot) => {
            tracing::info!(
                five_hour = snapshot.five_hour.map(|w| w.percent),
                seven_day = snapshot.seven_day.map(|w| w.percent),
                "usage API polled"
            );
            Ok(Refresh::Polled(snapshot))
        }
        Err(failure) => {
            match &failure {
                // The usual state of an API-key login, or of a token Claude
                // Code will refresh itself: not worth a warning per interval.
                PollFailure::Credentials(
                    CredentialsError::Missing { .. } | CredentialsError::Expired { .. },
                )
                | PollFailure::CredentialsUnchanged => {
                    tracing::debug!(state = %next.status, "usage API not polled: {failure}")
                }
                PollFailure::Api(UsageApiError::RateLimited { .. }) => {
                    tracing::info!(state = %next.status, "usage API poll failed: {failure}")
                }
                _ => tracing::warn!(state = %next.status, "usage API poll failed: {failure}"),
            }
            Ok(Refresh::Failed(failure))
        }
    }
}

/// The I/O of one attempt: base URL, credentials, request. Returns the
/// outcome and the credentials' fingerprint when they were read.
fn attempt(
    state: &ApiState,
    usage: &UsageConfig,
    claude_dir: &Path,
    now_ms: i64,
) -> (Result<UsageSnapshot, PollFailure>, Option<String>) {
    let api = match UsageApi::new(usage) {
        Ok(api) => api,
        Err(error) => return (Err(error.into()), None),
    };
    let credentials = match credentials::load(claude_dir, now_ms) {
        Ok(credentials) => credentials,
        Err(error) => return (Err(error.into()), None),
    };
    let fingerprint = Some(credentials.fingerprint.clone());
    if state.status == ApiStatus::Unauthorized
        && state.credentials_fingerprint.as_deref() == Some(credentials.fingerprint.as_str())
    {
        return (Err(PollFailure::CredentialsUnchanged), fingerprint);
    }
    tracing::trace!(url = api.url(), "usage API request");
    let result = api.fetch(&credentials.token, now_ms).map_err(Into::into);
    (result, fingerprint)
}

/// The PostToolUse step: polls when the cache is stale and this process
/// wins the lease, bounded by the request's total deadline. Never fails:
/// store errors are logged.
pub fn refresh_if_stale(config: &Config, store: &mut Store, now_ms: i64) -> Option<Refresh> {
    match refresh(
        store,
        &config.usage,
        &crate::paths::claude_dir(),
        Mode::IfStale,
        now_ms,
    ) {
        Ok(outcome) => Some(outcome),
        Err(error) => {
            tracing::warn!("usage refresh skipped: {error:#}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const INTERVAL: i64 = 5 * MINUTE;

    fn usage() -> UsageConfig {
        Config::default().usage
    }

    #[test]
    fn the_gate_decides_by_freshness_backoff_lease_and_last_attempt() {
        let now = 1_000 * MINUTE;
        let base = ApiState::default();
        let table: Vec<(&str, ApiState, Option<i64>, Mode, Gate)> = vec![
            (
                "a fresh snapshot is used as is",
                base.clone(),
                Some(now - INTERVAL + 1),
                Mode::IfStale,
                Gate::Fresh {
                    age_ms: INTERVAL - 1,
                },
            ),
            (
                "a snapshot exactly one interval old is stale",
                base.clone(),
                Some(now - INTERVAL),
                Mode::IfStale,
                Gate::Poll,
            ),
            (
                "no snapshot at all polls",
                base.clone(),
                None,
                Mode::IfStale,
                Gate::Poll,
            ),
            (
                "an explicit refresh ignores freshness",
                base.clone(),
                Some(now - 1),
                Mode::Now,
                Gate::Poll,
            ),
            (
                "backoff holds even an explicit refresh",
                ApiState {
                    backoff_until_ms: Some(now + 1),
                    ..base.clone()
                },
                None,
                Mode::Now,
                Gate::BackingOff { until_ms: now + 1 },
            ),
            (
                "a past backoff is over",
                ApiState {
                    backoff_until_ms: Some(now),
                    ..base.clone()
                },
                None,
                Mode::Now,
                Gate::Poll,
            ),
            (
                "another process's lease is respected",
                ApiState {
                    lease_until_ms: Some(now + 10),
                    lease_owner: Some(7),
                    ..base.clone()
                },
                None,
                Mode::Now,
                Gate::Leased { until_ms: now + 10 },
            ),
            (
                "an expired lease is free",
                ApiState {
                    lease_until_ms: Some(now - 1),
                    lease_owner: Some(7),
                    ..base.clone()
                },
                None,
                Mode::IfStale,
                Gate::Poll,
            ),
            (
                "a hook attempts at most once per interval",
                ApiState {
                    last_attempt_at_ms: Some(now - INTERVAL + 1),
                    ..base.clone()
                },
                None,
                Mode::IfStale,
                Gate::TooSoon { next_ms: now + 1 },
            ),
            (
                "an explicit refresh is not limited by the last attempt",
                ApiState {
                    last_attempt_at_ms: Some(now - 1),
                    ..base.clone()
                },
                None,
                Mode::Now,
                Gate::Poll,
            ),
        ];
        for (name, state, freshest, mode, expected) in table {
            assert_eq!(
                gate(&state, freshest, mode, now, INTERVAL),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn backoff_doubles_from_the_interval_up_to_the_cap() {
        let table = [
            (1, 300),
            (2, 600),
            (3, 1200),
            (4, 2400),
            (5, 3600),
            (40, 3600),
        ];
        for (failures, expected) in table {
            assert_eq!(
                exponential_backoff_s(failures, 300, 3600),
                expected,
                "{failures}"
            );
        }
        // A cap below the interval never makes polling faster than the interval.
        assert_eq!(exponential_backoff_s(1, 300, 60), 300);
    }

    /// Name, attempt, then the expected status, backoff end, failures, fingerprint.
    type OutcomeCase<'a> = (
        &'a str,
        Attempt<'a>,
        ApiStatus,
        Option<i64>,
        u32,
        Option<&'a str>,
    );

    #[test]
    fn each_outcome_leaves_the_right_state() {
        let start = 1_000 * MINUTE;
        let end = start + 800;
        let previous = ApiState {
            status: ApiStatus::Error,
            failures: 2,
            lease_owner: Some(1),
            lease_until_ms: Some(start + 8_000),
            credentials_fingerprint: Some("old".into()),
            ..ApiState::default()
        };
        let s = |seconds: i64| Some(end + seconds * 1000);
        let rate_limited_for = |retry_after_s| UsageApiError::RateLimited { retry_after_s };
        let server = UsageApiError::ServerError { status: 500 };
        let unauthorized = UsageApiError::Unauthorized { status: 401 };
        let refused = UsageApiError::RefusedBase {
            base: "http://x".into(),
            reason: "no".into(),
        };
        let expired = CredentialsError::Expired { expired_at_ms: 5 };
        let missing = CredentialsError::Missing {
            looked_in: "here".into(),
        };
        let rate_120 = rate_limited_for(Some(120));
        let rate_2000 = rate_limited_for(Some(2_000));
        let rate_day = rate_limited_for(Some(86_400));
        let rate_none = rate_limited_for(None);
        let table: Vec<OutcomeCase<'_>> = vec![
            (
                "success resets everything",
                Attempt::Success,
                ApiStatus::Ok,
                None,
                0,
                Some("new"),
            ),
            (
                "a short Retry-After still waits one interval",
                Attempt::Api(&rate_120),
                ApiStatus::BackingOff,
                s(300),
                3,
                Some("old"),
            ),
            (
                "Retry-After is honoured",
                Attempt::Api(&rate_2000),
                ApiStatus::BackingOff,
                s(2_000),
                3,
                Some("old"),
            ),
            (
                "Retry-After is capped at the maximum",
                Attempt::Api(&rate_day),
                ApiStatus::BackingOff,
                s(3_600),
                3,
                Some("old"),
            ),
            (
                "429 without Retry-After backs off exponentially",
                Attempt::Api(&rate_none),
                ApiStatus::BackingOff,
                s(1_200),
                3,
                Some("old"),
            ),
            (
                "a server error backs off exponentially",
                Attempt::Api(&server),
                ApiStatus::Error,
                s(1_200),
                3,
                Some("old"),
            ),
            (
                "401 remembers which credentials were refused",
                Attempt::Api(&unauthorized),
                ApiStatus::Unauthorized,
                None,
                3,
                Some("new"),
            ),
            (
                "a refused base URL made no request",
                Attempt::Api(&refused),
                ApiStatus::Error,
                None,
                3,
                Some("old"),
            ),
            (
                "expired credentials made no request",
                Attempt::Credentials(&expired),
                ApiStatus::CredentialsExpired,
                None,
                2,
                Some("old"),
            ),
            (
                "missing credentials made no request",
                Attempt::Credentials(&missing),
                ApiStatus::CredentialsMissing,
                None,
                2,
                Some("old"),
            ),
            (
                "unchanged refused credentials stay unauthorized",
                Attempt::CredentialsUnchanged,
                ApiStatus::Unauthorized,
                None,
                2,
                Some("old"),
            ),
        ];
        for (name, attempt, status, backoff, failures, fingerprint) in table {
            let next = after_attempt(&previous, attempt, Some("new"), start, end, &usage());
            assert_eq!(next.status, status, "{name}");
            assert_eq!(next.backoff_until_ms, backoff, "{name}");
            assert_eq!(next.failures, failures, "{name}");
            assert_eq!(
                next.credentials_fingerprint.as_deref(),
                fingerprint,
                "{name}"
            );
            assert_eq!(next.lease_owner, None, "{name}: the lease is released");
            assert_eq!(next.lease_until_ms, None, "{name}: the lease is released");
            assert_eq!(next.last_attempt_at_ms, Some(start), "{name}");
        }
    }

    proptest::proptest! {
        /// Whatever failed, a hook's next request is at least one interval
        /// away (by backoff, or by the last attempt's time), and so is an
        /// explicit refresh's, except after a 401/403, where only changed
        /// credentials are sent again (see `attempt`).
        #[test]
        fn no_outcome_allows_a_second_request_within_an_interval(
            failures in 0u32..50,
            retry_after in proptest::option::of(0u64..100_000),
            kind in 0usize..5,
            elapsed_ms in 0i64..INTERVAL,
        ) {
            let start = 1_000 * MINUTE;
            let previous = ApiState { failures, ..ApiState::default() };
            let errors = [
                UsageApiError::RateLimited { retry_after_s: retry_after },
                UsageApiError::ServerError { status: 503 },
                UsageApiError::Unauthorized { status: 403 },
                UsageApiError::Timeout { timeout_ms: 3000, config_key: "usage.total_timeout_ms" },
                UsageApiError::InvalidBody { reason: "x".into() },
            ];
            let next = after_attempt(&previous, Attempt::Api(&errors[kind]), None, start, start + 10, &usage());
            let later = start + 10 + elapsed_ms;
            proptest::prop_assert_ne!(gate(&next, None, Mode::IfStale, later, INTERVAL), Gate::Poll);
            if kind != 2 {
                proptest::prop_assert_ne!(gate(&next, None, Mode::Now, later, INTERVAL), Gate::Poll);
            }
        }
    }
}
