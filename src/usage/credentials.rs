//! Claude Code's OAuth login, read (never written) to ask the usage API.
//!
//! The token is Claude Code's, not ours: we read it from
//! `<claude dir>/.credentials.json` (or, on macOS, the login keychain) each
//! time we poll, use it for one request, and drop it. It lives in
//! [`AccessToken`], whose `Debug` and `Display` print `****`, so no log
//! line, error message or `{:?}` can show it; the only way to the text is
//! [`AccessToken::bearer_header`], used by the HTTP client alone.
//!
//! Whether the credentials changed since a 401 is told by a fingerprint of
//! where they came from (the file's device, inode, size and modification
//! time; for the keychain, the expiry time), never by anything derived
//! from the token itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The credentials file inside Claude's folder.
pub const CREDENTIALS_FILE: &str = ".credentials.json";
/// The macOS keychain service under which Claude Code keeps the same JSON.
pub const KEYCHAIN_SERVICE: &str = "Claude Code-credentials";
/// A token that expires within this margin counts as expired already.
pub const EXPIRY_MARGIN_MS: i64 = 5 * 60 * 1000;
/// Longest wait for the keychain (it can wait for a person to click "Allow").
const KEYCHAIN_DEADLINE: Duration = Duration::from_secs(2);
/// A credentials file larger than this is not Claude Code's.
const MAX_CREDENTIALS_BYTES: u64 = 64 * 1024;

/// The OAuth access token. Prints as `****` however it is formatted.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The `Authorization` header value. The one way to the token's text.
    pub fn bearer_header(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

impl std::fmt::Display for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

/// Where credentials were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsOrigin {
    File(PathBuf),
    Keychain,
}

/// A usable login.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: AccessToken,
    /// Epoch milliseconds, when Claude Code wrote one.
    pub expires_at_ms: Option<i64>,
    /// `pro`, `max`, `team`, `enterprise`.
    pub subscription_type: Option<String>,
    pub origin: CredentialsOrigin,
    /// Tells whether the credentials changed (see the module doc).
    pub fingerprint: String,
}

/// Why there are no usable credentials. Messages never contain the token
/// or any other part of the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("no Claude Code login found (looked in {looked_in})")]
    Missing { looked_in: String },
    #[error("unavailable: expired, run claude to refresh")]
    Expired { expired_at_ms: i64 },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{origin} does not hold an OAuth access token (`claudeAiOauth.accessToken`)")]
    Malformed { origin: String },
}

impl CredentialsError {
    /// What a person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            CredentialsError::Missing { .. } => {
                "log in with `claude` (a subscription login); API-key logins have no usage windows"
            }
            CredentialsError::Expired { .. } => {
                "run `claude` once: it refreshes its token, and pace-maker reads the new one"
            }
            CredentialsError::Unreadable { .. } | CredentialsError::Malformed { .. } => {
                "run `claude` and log in again (`/login`)"
            }
        }
    }
}

#[derive(Deserialize)]
struct WireCredentialsFile {
    #[serde(rename = "claudeAiOauth")]
    claude_ai_oauth: Option<WireOauth>,
}

#[derive(Deserialize)]
struct WireOauth {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
    #[serde(rename = "expiresAt")]
    expires_at: Option<serde_json::Value>,
    #[serde(rename = "subscriptionType")]
    subscription_type: Option<String>,
}

/// What the credentials say besides the token: for `doctor` and for the
/// plan the local estimate is calibrated under. The parser skips the
/// token; no field ever holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFacts {
    /// Epoch milliseconds, when Claude Code wrote one.
    pub expires_at_ms: Option<i64>,
    /// `pro`, `max`, `team`, `enterprise`.
    pub subscription_type: Option<String>,
    /// For example `default_claude_max_20x`.
    pub rate_limit_tier: Option<String>,
}

#[derive(Deserialize)]
struct WireFactsFile {
    #[serde(rename = "claudeAiOauth")]
    claude_ai_oauth: Option<WireFacts>,
}

#[derive(Deserialize)]
struct WireFacts {
    #[serde(rename = "expiresAt")]
    expires_at: Option<serde_json::Value>,
    #[serde(rename = "subscriptionType")]
    subscription_type: Option<String>,
    #[serde(rename = "rateLimitTier")]
    rate_limit_tier: Option<String>,
}

/// The login facts of a credentials JSON; `Ok(None)` when it has no
/// OAuth login (an API-key setup). A parse error's position is safe to
/// show, its message is not (it may quote the file).
pub fn login_facts(bytes: &[u8]) -> Result<Option<LoginFacts>, serde_json::Error> {
    let wire: WireFactsFile = serde_json::from_slice(bytes)?;
    Ok(wire.claude_ai_oauth.map(|oauth| LoginFacts {
        expires_at_ms: oauth.expires_at.as_ref().and_then(expiry_ms),
        subscription_type: oauth.subscription_type,
        rate_limit_tier: oauth.rate_limit_tier,
    }))
}

/// The credentials file of a Claude folder.
pub fn credentials_file(claude_dir: &Path) -> PathBuf {
    claude_dir.join(CREDENTIALS_FILE)
}

/// The file's fingerprint, from its metadata alone; `None` when it is missing.
pub fn file_fingerprint(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(format!(
        "file:{}:{}:{}:{}.{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec()
    ))
}

/// Loads the login and checks its expiry against `now_ms`.
pub fn load(claude_dir: &Path, now_ms: i64) -> Result<Credentials, CredentialsError> {
    let path = credentials_file(claude_dir);
    let credentials = match read_file(&path)? {
        Some(bytes) => {
            let fingerprint = file_fingerprint(&path).unwrap_or_else(|| "file:unknown".into());
            parse(
                &bytes,
                CredentialsOrigin::File(path.clone()),
                Some(fingerprint),
            )?
        }
        None => match read_keychain() {
            Some(bytes) => parse(&bytes, CredentialsOrigin::Keychain, None)?,
            None => {
                return Err(CredentialsError::Missing {
                    looked_in: looked_in(&path),
                })
            }
        },
    };
    check_expiry(credentials, now_ms)
}

fn looked_in(path: &Path) -> String {
    if cfg!(target_os = "macos") {
        format!(
            "{} and the login keychain ({KEYCHAIN_SERVICE})",
            path.display()
        )
    } else {
        path.display().to_string()
    }
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>, CredentialsError> {
    use std::io::Read;
    let unreadable = |reason: String| CredentialsError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(unreadable(error.kind().to_string())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CREDENTIALS_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|error| unreadable(error.kind().to_string()))?;
    Ok(Some(bytes))
}

/// Parses Claude Code's credentials JSON. Parse errors are reduced to a
/// fixed message: serde's own would quote the offending text.
pub fn parse(
    bytes: &[u8],
    origin: CredentialsOrigin,
    fingerprint: Option<String>,
) -> Result<Credentials, CredentialsError> {
    let origin_name = match &origin {
        CredentialsOrigin::File(path) => path.display().to_string(),
        CredentialsOrigin::Keychain => format!("the keychain item {KEYCHAIN_SERVICE}"),
    };
    let malformed = || CredentialsError::Malformed {
        origin: origin_name.clone(),
    };
    let wire: WireCredentialsFile = serde_json::from_slice(bytes).map_err(|_| malformed())?;
    let oauth = wire.claude_ai_oauth.ok_or_else(malformed)?;
    let token = oauth
        .access_token
        .filter(|token| !token.trim().is_empty())
        .ok_or_else(malformed)?;
    let expires_at_ms = oauth.expires_at.as_ref().and_then(expiry_ms);
    let fingerprint = fingerprint.unwrap_or_else(|| match expires_at_ms {
        Some(expires) => format!("keychain:{expires}"),
        None => "keychain".into(),
    });
    Ok(Credentials {
        token: AccessToken::new(token),
        expires_at_ms,
        subscription_type: oauth.subscription_type,
        origin,
        fingerprint,
    })
}

/// `expiresAt` is epoch milliseconds, as a number (or, leniently, a numeric string).
fn expiry_ms(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64)),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// An expiry in the past, or within the margin, makes the login unavailable.
pub fn check_expiry(
    credentials: Credentials,
    now_ms: i64,
) -> Result<Credentials, CredentialsError> {
    match credentials.expires_at_ms {
        Some(expires) if expires - EXPIRY_MARGIN_MS <= now_ms => Err(CredentialsError::Expired {
            expired_at_ms: expires,
        }),
        _ => Ok(credentials),
    }
}

/// The current fingerprint of the credentials, without keeping the token.
pub fn fingerprint(claude_dir: &Path) -> Option<String> {
    let path = credentials_file(claude_dir);
    if let Some(fingerprint) = file_fingerprint(&path) {
        return Some(fingerprint);
    }
    let bytes = read_keychain()?;
    parse(&bytes, CredentialsOrigin::Keychain, None)
        .ok()
        .map(|credentials| credentials.fingerprint)
}

/// The keychain's copy of the credentials JSON (macOS only).
#[cfg(target_os = "macos")]
fn read_keychain() -> Option<Vec<u8>> {
    let mut command = std::process::Command::new("security");
    command.args(["find-generic-password", "-s", KEYCHAIN_SERVICE, "-w"]);
    match crate::subprocess::run_with_deadline(command, b"", KEYCHAIN_DEADLINE) {
        Ok(finished) if finished.success && !finished.stdout.is_empty() => Some(finished.stdout),
        Ok(finished) => {
            tracing::debug!(
                timed_out = finished.timed_out,
                "no Claude Code login in the keychain"
            );
            None
        }
        Err(error) => {
            tracing::debug!("cannot run `security`: {error}");
            None
        }
    }
}

#[cfg(not(target_os = "macos"))]
fn read_keychain() -> Option<Vec<u8>> {
    let _ = KEYCHAIN_DEADLINE;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "sk-ant-oat01-unit-test-token";

    fn file_with(json: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CREDENTIALS_FILE), json).unwrap();
        let path = dir.path().to_path_buf();
        (dir, path)
    }

    #[test]
    fn the_token_prints_as_stars_in_debug_and_display() {
        let token = AccessToken::new(TOKEN.into());
        assert_eq!(format!("{token}"), "****");
        assert_eq!(format!("{token:?}"), "****");
        assert_eq!(format!("{token:#?}"), "****");
        let (_dir, claude) = file_with(&format!(
            r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}","expiresAt":99999999999999}}}}"#
        ));
        let credentials = load(&claude, 0).unwrap();
        let debug = format!("{credentials:?} {credentials:#?}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("****"));
        assert_eq!(credentials.token.bearer_header(), format!("Bearer {TOKEN}"));
    }

    #[test]
    fn login_facts_carry_the_plan_and_expiry_and_never_the_token() {
        let facts = login_facts(
            format!(
                r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}","expiresAt":"2000000000000","subscriptionType":"max","rateLimitTier":"default_claude_max_20x"}}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            facts,
            LoginFacts {
                expires_at_ms: Some(2_000_000_000_000),
                subscription_type: Some("max".into()),
                rate_limit_tier: Some("default_claude_max_20x".into()),
            }
        );
        assert!(!format!("{facts:?}").contains(TOKEN));
        assert_eq!(login_facts(br#"{"primaryApiKey":"x"}"#).unwrap(), None);
        assert!(login_facts(b"{not json").is_err());
    }

    #[test]
    fn a_valid_file_loads_with_expiry_and_subscription() {
        let (_dir, claude) = file_with(&format!(
            r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}","refreshToken":"r","expiresAt":2000000000000,"scopes":["user:inference"],"subscriptionType":"max","extra":1}}}}"#
        ));
        let credentials = load(&claude, 1_000_000_000_000).unwrap();
        assert_eq!(credentials.expires_at_ms, Some(2_000_000_000_000));
        assert_eq!(credentials.subscription_type.as_deref(), Some("max"));
        assert!(credentials.fingerprint.starts_with("file:"));
    }

    #[test]
    fn expiry_within_five_minutes_counts_as_expired() {
        let expires = 2_000_000_000_000i64;
        let (_dir, claude) = file_with(&format!(
            r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}","expiresAt":{expires}}}}}"#
        ));
        assert!(load(&claude, expires - EXPIRY_MARGIN_MS - 1).is_ok());
        let error = load(&claude, expires - EXPIRY_MARGIN_MS).unwrap_err();
        assert_eq!(
            error,
            CredentialsError::Expired {
                expired_at_ms: expires
            }
        );
        assert_eq!(
            error.to_string(),
            "unavailable: expired, run claude to refresh"
        );
    }

    #[test]
    fn a_missing_file_is_missing_and_a_broken_one_is_malformed_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(dir.path(), 0),
            Err(CredentialsError::Missing { .. })
        ));
        for broken in [
            format!(r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}""#),
            format!(r#"{{"claudeAiOauth":{{"accessToken":["{TOKEN}"]}}}}"#),
            format!(r#"{{"other":{{"accessToken":"{TOKEN}"}}}}"#),
            r#"{"claudeAiOauth":{"accessToken":"  "}}"#.to_string(),
        ] {
            let (_dir, claude) = file_with(&broken);
            let error = load(&claude, 0).unwrap_err();
            assert!(
                matches!(error, CredentialsError::Malformed { .. }),
                "{broken}"
            );
            assert!(!format!("{error} {error:?}").contains(TOKEN));
        }
    }

    #[test]
    fn the_fingerprint_changes_when_the_file_is_replaced_and_never_holds_the_token() {
        let (_dir, claude) = file_with(&format!(
            r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}"}}}}"#
        ));
        let before = fingerprint(&claude).unwrap();
        assert!(!before.contains(TOKEN));
        // Claude Code replaces the file (write to a temporary, rename over).
        let replacement = claude.join("new.json");
        std::fs::write(
            &replacement,
            r#"{"claudeAiOauth":{"accessToken":"another"}}"#,
        )
        .unwrap();
        std::fs::rename(&replacement, claude.join(CREDENTIALS_FILE)).unwrap();
        assert_ne!(fingerprint(&claude).unwrap(), before);
    }
}
