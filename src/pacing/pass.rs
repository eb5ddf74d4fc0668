//! The no-delay pass: how most PostToolUse hooks finish without opening the
//! store.
//!
//! When a full decision finds every window well under its target (or no
//! figure to pace on), no delay can come of the next minute's calls unless
//! the figures jump, and a jump within a minute is something the policy
//! would only see at its next reading anyway. So the decision grants the
//! session a *pass*: until `until_ms`, a PostToolUse of that session takes
//! no delay and is written to the spool ([`super::spool`]) instead of the
//! store; the next process that opens the store files it there, with the
//! pass's decision. The pass ends at the first of:
//! - [`PASS_MS`] after the decision;
//! - the usage API's next poll (the call after it polls and decides on
//!   what the poll brings);
//! - a change of the pacing settings (the pass carries their fingerprint);
//! - a change of the switch (`on`, `off`, `pause`, `resume` revoke every
//!   pass);
//! - a decision that grants none (the file is removed).
//!
//! [`grant`] and [`Pass::holds`] are pure: the hook keeps passes in files
//! ([`read`], [`keep`]), the simulator in memory, and both ask the same
//! two functions, so the simulator's figures include what the pass costs.

use std::path::{Path, PathBuf};

use rusqlite::Transaction;

use super::policy::{Decision, Verdict};
use crate::config::Config;
use crate::digest::fnv1a;
use crate::usage::snapshot::WindowKind;

/// How long a pass lasts after the decision that granted it.
pub const PASS_MS: i64 = 60_000;
/// A pass needs the binding window's projection at least this far under
/// its target (percentage points).
pub const PASS_MARGIN_PERCENT: f64 = 5.0;

/// A session's leave to skip the decision until `until_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pass {
    pub granted_at_ms: i64,
    pub until_ms: i64,
    /// [`fingerprint`] of the settings the decision was made with.
    pub fingerprint: u64,
    /// The granting decision's binding window, recorded again with each
    /// call that takes the pass (`None`: no figure to pace on).
    pub window: Option<PassWindow>,
}

/// The figures of the window that granted a pass.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassWindow {
    pub kind: WindowKind,
    pub utilization: f64,
    pub projected: f64,
    pub target: f64,
}

impl Pass {
    /// Whether a PostToolUse at `now_ms`, under settings of `fingerprint`,
    /// may take the pass. A clock that went back past the grant ends it.
    pub fn holds(&self, now_ms: i64, fingerprint: u64) -> bool {
        self.fingerprint == fingerprint && self.granted_at_ms <= now_ms && now_ms < self.until_ms
    }

    /// The reason recorded with each call that took the pass.
    pub fn reason(&self, at_ms: i64) -> String {
        let age_s = (at_ms - self.granted_at_ms).max(0) / 1000;
        match self.window {
            Some(_) => format!(
                "on pace: no delay, under the pass of the decision {age_s} s before (every window at least {PASS_MARGIN_PERCENT} points under its target)"
            ),
            None => format!(
                "no figure to pace on: no delay, under the pass of the decision {age_s} s before"
            ),
        }
    }
}

/// Records the decision of a call that took `pass` at `at_ms`: no delay,
/// with the granting decision's window. The spool's drain and the
/// simulator both record it so.
pub fn record_call(
    transaction: &Transaction<'_>,
    session_id: &str,
    at_ms: i64,
    pass: &Pass,
) -> rusqlite::Result<()> {
    let reason = pass.reason(at_ms);
    let window = pass.window;
    super::decisions::insert(
        transaction,
        &super::decisions::NewDecision {
            session_id,
            decided_at_ms: at_ms,
            delay_ms: 0,
            window: window.map(|window| window.kind.key()),
            utilization: window.map(|window| window.utilization),
            projected_percent: window.map(|window| window.projected),
            target_percent: window.map(|window| window.target),
            reason: &reason,
        },
    )
}

/// The pass a decision at `now_ms` grants, if any: only a decision of no
/// delay, with no figure to pace on or with its binding window (the one
/// nearest its target) projected at least [`PASS_MARGIN_PERCENT`] under it
/// on official figures (an estimate moves with every call). It ends
/// [`PASS_MS`] later, or at `poll_due_ms`, the usage API's next poll, if
/// that comes first.
pub fn grant(
    decision: &Decision,
    now_ms: i64,
    fingerprint: u64,
    poll_due_ms: Option<i64>,
) -> Option<Pass> {
    if decision.delay_ms != 0 {
        return None;
    }
    let window = decision.reason.window;
    let clear = match decision.reason.verdict {
        Verdict::NoData => true,
        Verdict::OnPace => window.is_some_and(|window| {
            window.source.is_official()
                && window.projected_percent + PASS_MARGIN_PERCENT <= window.target_percent
        }),
        Verdict::Ahead => false,
    };
    let until_ms = poll_due_ms.map_or(now_ms + PASS_MS, |due| due.min(now_ms + PASS_MS));
    (clear && until_ms > now_ms).then_some(Pass {
        granted_at_ms: now_ms,
        until_ms,
        fingerprint,
        window: window.map(|window| PassWindow {
            kind: window.kind,
            utilization: window.utilization_percent,
            projected: window.projected_percent,
            target: window.target_percent,
        }),
    })
}

/// A fingerprint of the settings a decision depends on (`[pacing]`):
/// a pass made under other settings does not hold.
pub fn fingerprint(config: &Config) -> u64 {
    fnv1a(format!("{:?}", config.pacing).as_bytes())
}

/// The file prefix of a session's pass in the tool home's fast folder.
pub const PASS_PREFIX: &str = "pass-";

/// The file that holds `session_id`'s pass: named by a digest of the id
/// (ids come from Claude Code; a name must not), the id kept inside.
fn pass_file(fast_dir: &Path, session_id: &str) -> PathBuf {
    fast_dir.join(format!(
        "{PASS_PREFIX}{:016x}",
        fnv1a(session_id.as_bytes())
    ))
}

/// The pass of `session_id`, if its file holds one for that session.
pub fn read(fast_dir: &Path, session_id: &str) -> Option<Pass> {
    let text = std::fs::read_to_string(pass_file(fast_dir, session_id)).ok()?;
    decode(&text, session_id)
}

/// Keeps `pass` as the session's pass, or removes the session's pass when
/// there is none. Best effort: a pass not written only costs the next call
/// a full decision, and one not removed ends by itself within [`PASS_MS`].
pub fn keep(fast_dir: &Path, session_id: &str, pass: Option<Pass>) {
    let path = pass_file(fast_dir, session_id);
    let outcome = match pass {
        Some(pass) => crate::paths::ensure_private_dir(fast_dir).and_then(|()| {
            let prefix = format!(
                ".{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            written_temporary(fast_dir, &prefix, encode(&pass, session_id).as_bytes())?
                .persist(&path)
                .map(drop)
                .map_err(|error| error.error)
        }),
        None => match std::fs::remove_file(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    if let Err(error) = outcome {
        tracing::debug!("cannot keep the session's pass: {error}");
    }
}

/// `bytes` in a new temporary file of `folder` (`prefix` and a random
/// name, O_EXCL, 0600), for the caller to rename into place. No fsync: a
/// pass or a spooled call lost in a crash costs a full decision or one
/// call, and a hook should not wait for the disk.
pub(super) fn written_temporary(
    folder: &Path,
    prefix: &str,
    bytes: &[u8],
) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// Ends every session's pass: the switch changed.
pub fn revoke_all(fast_dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(fast_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(PASS_PREFIX) {
            match std::fs::remove_file(entry.path()) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
    }
    Ok(())
}

/// What a pass file holds: the pass and the session it is for.
#[derive(serde::Serialize, serde::Deserialize)]
struct PassFile<'a> {
    session_id: std::borrow::Cow<'a, str>,
    granted_at_ms: i64,
    until_ms: i64,
    fingerprint: u64,
    window: Option<PassWindow>,
}

fn encode(pass: &Pass, session_id: &str) -> String {
    serde_json::to_string(&PassFile {
        session_id: session_id.into(),
        granted_at_ms: pass.granted_at_ms,
        until_ms: pass.until_ms,
        fingerprint: pass.fingerprint,
        window: pass.window,
    })
    .expect("a pass serializes")
}

fn decode(text: &str, session_id: &str) -> Option<Pass> {
    let file: PassFile<'_> = serde_json::from_str(text).ok()?;
    (file.session_id == session_id).then_some(Pass {
        granted_at_ms: file.granted_at_ms,
        until_ms: file.until_ms,
        fingerprint: file.fingerprint,
        window: file.window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::policy::{Reason, WindowAssessment};
    use crate::usage::snapshot::{SnapshotSource, WindowKind};

    fn decision(verdict: Verdict, delay_ms: i64, projected: f64) -> Decision {
        let window = WindowAssessment {
            kind: WindowKind::FiveHour,
            source: SnapshotSource::Statusline,
            utilization_percent: 40.0,
            pace_percent: 40.0,
            projected_percent: projected,
            target_percent: 95.0,
            resets_at_s: 0,
            burn_percent_per_hour: 10.0,
            unpaced_percent_per_hour: 10.0,
            needed_delay_ms: 0,
        };
        Decision {
            delay_ms,
            reason: Reason {
                verdict,
                window: (verdict != Verdict::NoData).then_some(window),
                skipped: Vec::new(),
                needed_delay_ms: delay_ms,
                limit: None,
                holds_pace: true,
                cache_ttl_seconds: 300,
            },
        }
    }

    #[test]
    fn only_a_decision_of_no_delay_well_under_the_target_grants_a_pass() {
        let now = 1_000_000;
        let granted = grant(&decision(Verdict::OnPace, 0, 90.0), now, 7, None).expect("5 under");
        assert_eq!(
            granted,
            Pass {
                granted_at_ms: now,
                until_ms: now + PASS_MS,
                fingerprint: 7,
                window: Some(PassWindow {
                    kind: WindowKind::FiveHour,
                    utilization: 40.0,
                    projected: 90.0,
                    target: 95.0
                }),
            }
        );
        assert!(grant(&decision(Verdict::OnPace, 0, 90.01), now, 7, None).is_none());
        assert!(grant(&decision(Verdict::NoData, 0, 0.0), now, 7, None).is_some());
        assert!(grant(&decision(Verdict::Ahead, 0, 96.0), now, 7, None).is_none());
        assert!(grant(&decision(Verdict::Ahead, 3000, 99.0), now, 7, None).is_none());
        // The next poll ends it sooner; a poll due now grants none.
        let polled = grant(
            &decision(Verdict::OnPace, 0, 50.0),
            now,
            7,
            Some(now + 10_000),
        );
        assert_eq!(polled.map(|pass| pass.until_ms), Some(now + 10_000));
        let later = grant(
            &decision(Verdict::OnPace, 0, 50.0),
            now,
            7,
            Some(now + 600_000),
        );
        assert_eq!(later.map(|pass| pass.until_ms), Some(now + PASS_MS));
        assert!(grant(&decision(Verdict::OnPace, 0, 50.0), now, 7, Some(now)).is_none());
        // Not on an estimate.
        let mut estimated = decision(Verdict::OnPace, 0, 50.0);
        if let Some(window) = estimated.reason.window.as_mut() {
            window.source = SnapshotSource::Estimate;
        }
        assert!(grant(&estimated, now, 7, None).is_none());
    }

    #[test]
    fn a_pass_holds_for_its_minute_under_the_same_settings_only() {
        let pass = Pass {
            granted_at_ms: 1000,
            until_ms: 1000 + PASS_MS,
            fingerprint: 7,
            window: None,
        };
        assert!(pass.holds(1000, 7));
        assert!(pass.holds(1000 + PASS_MS - 1, 7));
        assert!(!pass.holds(1000 + PASS_MS, 7), "ended");
        assert!(!pass.holds(999, 7), "the clock went back");
        assert!(!pass.holds(2000, 8), "other settings");
    }

    #[test]
    fn other_pacing_settings_have_another_fingerprint() {
        let config = Config::default();
        let mut other = Config::default();
        other.pacing.target_percent -= 1.0;
        assert_eq!(fingerprint(&config), fingerprint(&Config::default()));
        assert_ne!(fingerprint(&config), fingerprint(&other));
    }

    #[test]
    fn a_pass_file_is_kept_read_back_for_its_session_only_and_revoked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fast = dir.path().join("fast");
        let pass = Pass {
            granted_at_ms: 5,
            until_ms: 5 + PASS_MS,
            fingerprint: u64::MAX,
            window: grant(&decision(Verdict::OnPace, 0, 50.0), 5, 0, None)
                .and_then(|pass| pass.window),
        };
        keep(&fast, "session one", Some(pass));
        assert_eq!(read(&fast, "session one"), Some(pass));
        assert_eq!(read(&fast, "session two"), None);
        let file = pass_file(&fast, "session one");
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&fast), 0o700);
        // A file of another session under this name (a digest collision) is not its pass.
        std::fs::write(&file, encode(&pass, "someone else")).unwrap();
        assert_eq!(read(&fast, "session one"), None);
        for broken in ["", "{}", "{\"session_id\":\"session one\"}"] {
            std::fs::write(&file, broken).unwrap();
            assert_eq!(read(&fast, "session one"), None, "{broken:?}");
        }
        keep(&fast, "session one", Some(pass));
        keep(&fast, "session two", Some(pass));
        std::fs::write(fast.join("call-keep.json"), "{}").unwrap();
        revoke_all(&fast).unwrap();
        assert_eq!(read(&fast, "session one"), None);
        assert_eq!(read(&fast, "session two"), None);
        assert!(fast.join("call-keep.json").exists(), "only passes go");
        keep(&fast, "session two", None);
        revoke_all(&dir.path().join("missing")).unwrap();
    }
}
