//! One usage entry: what a transcript line says about one API reply, and
//! the parser that gets it out of a line without building a JSON tree.
//!
//! Transcripts are mostly bytes we do not need (tool results, file
//! contents, thinking text). A line is only parsed when it contains the
//! `"usage":{` marker, and then into borrowed structs that name only the
//! fields we read; everything else is skipped by serde without allocation.
//! The acceptance rules follow ccusage's so the totals agree with it:
//! `message.usage.input_tokens` and `output_tokens` must be present, the
//! timestamp must parse, and present-but-empty ids or a version that is not
//! a `N.N.N` prefix disqualify the line. Cache creation is the 5-minute plus
//! 1-hour breakdown when the breakdown is present, else the flat field.

use std::borrow::Cow;

use serde::Deserialize;

use crate::digest::Fnv1a;

/// The marker every line with token usage contains (Claude Code writes compact JSON).
pub const USAGE_MARKER: &[u8] = br#""usage":{"#;

/// The marker's searcher, built once (building one per line costs more than searching).
fn usage_finder() -> &'static memchr::memmem::Finder<'static> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(USAGE_MARKER));
    &FINDER
}

/// The text of a usage-limit error reply: `Claude AI usage limit reached|<epoch seconds>`.
const USAGE_LIMIT_MARKER: &[u8] = b"Claude AI usage limit reached";

/// Token counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub input: u64,
    pub output: u64,
    /// Cache writes with the 5-minute time-to-live (or of unknown time-to-live).
    pub cache_creation_5m: u64,
    /// Cache writes with the 1-hour time-to-live (priced higher).
    pub cache_creation_1h: u64,
    pub cache_read: u64,
}

impl TokenCounts {
    pub fn cache_creation(&self) -> u64 {
        self.cache_creation_5m + self.cache_creation_1h
    }

    /// Every kind added up: what de-duplication compares and reports call total tokens.
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_creation() + self.cache_read
    }

    pub fn add(&mut self, other: &TokenCounts) {
        self.input += other.input;
        self.output += other.output;
        self.cache_creation_5m += other.cache_creation_5m;
        self.cache_creation_1h += other.cache_creation_1h;
        self.cache_read += other.cache_read;
    }
}

/// The de-duplication key: a 128-bit hash of (message.id, requestId).
///
/// Keeping the hash instead of the two strings keeps a full report's
/// memory small (a few hundred thousand entries fit in a few MB); at 128
/// bits a collision is not a practical concern. The hash is our own
/// (FNV-1a, two bases) so it is stable across builds: it is stored.
pub type DedupKey = u128;

/// Hashes a (message.id, requestId) pair.
pub fn dedup_key(message_id: &str, request_id: Option<&str>) -> DedupKey {
    let mut low = Fnv1a::new();
    let mut high = Fnv1a::with_basis(0x6c62_272e_07bb_0142);
    for hasher in [&mut low, &mut high] {
        hasher.write(message_id.as_bytes());
        match request_id {
            // 0xFF never occurs in UTF-8, so the separator cannot be forged.
            Some(request) => {
                hasher.write(&[0xFF]).write(request.as_bytes());
            }
            None => {
                hasher.write(&[0xFE]);
            }
        }
    }
    (u128::from(high.finish()) << 64) | u128::from(low.finish())
}

/// A usage entry read from a line, borrowing its strings from the line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEntry<'a> {
    pub key: Option<DedupKey>,
    pub timestamp_ms: i64,
    pub tokens: TokenCounts,
    /// The model as reports name it (`-fast` appended for fast mode);
    /// `None` for Claude Code's `<synthetic>` replies (API errors).
    pub model: Option<Cow<'a, str>>,
    pub is_sidechain: bool,
    /// Whether `usage.speed` was present (a tie-breaker between equal copies).
    pub has_speed: bool,
    /// For a usage-limit error reply: when the limit resets, epoch seconds.
    pub limit_resets_at_s: Option<i64>,
}

#[derive(Deserialize)]
struct WireLine<'a> {
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: Option<bool>,
    #[serde(rename = "isApiErrorMessage", default)]
    is_api_error_message: Option<bool>,
    #[serde(borrow)]
    message: WireMessage<'a>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    usage: WireUsage<'a>,
}

#[derive(Deserialize)]
struct WireUsage<'a> {
    input_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation: Option<WireCacheCreation>,
    #[serde(borrow, default)]
    speed: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireCacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    ephemeral_1h_input_tokens: u64,
}

/// Reads the usage entry of one line (without its newline), if it has one.
///
/// Lines without the usage marker return at once; malformed lines, lines
/// that fail the acceptance rules, and lines of other shapes return `None`.
pub fn parse_line(line: &[u8]) -> Option<ParsedEntry<'_>> {
    usage_finder().find(line)?;
    let wire: WireLine<'_> = serde_json::from_slice(line).ok()?;
    let timestamp_ms = parse_timestamp_ms(&wire.timestamp)?;
    if wire.version.as_deref().is_some_and(|v| !is_version(v))
        || wire.session_id.as_deref() == Some("")
        || wire.request_id.as_deref() == Some("")
        || wire.message.id.as_deref() == Some("")
        || wire.message.model.as_deref() == Some("")
    {
        return None;
    }
    let usage = &wire.message.usage;
    let (cache_creation_5m, cache_creation_1h) = match &usage.cache_creation {
        Some(breakdown) => (
            breakdown.ephemeral_5m_input_tokens,
            breakdown.ephemeral_1h_input_tokens,
        ),
        None => (usage.cache_creation_input_tokens, 0),
    };
    let tokens = TokenCounts {
        input: usage.input_tokens,
        output: usage.output_tokens,
        cache_creation_5m,
        cache_creation_1h,
        cache_read: usage.cache_read_input_tokens,
    };
    let fast = usage.speed.as_deref() == Some("fast");
    let model = match wire.message.model {
        Some(model) if model == "<synthetic>" => None,
        Some(model) if fast => Some(Cow::Owned(format!("{model}-fast"))),
        other => other,
    };
    let key = wire
        .message
        .id
        .as_deref()
        .map(|id| dedup_key(id, wire.request_id.as_deref()));
    let limit_resets_at_s = if wire.is_api_error_message == Some(true) {
        usage_limit_reset(line)
    } else {
        None
    };
    Some(ParsedEntry {
        key,
        timestamp_ms,
        tokens,
        model,
        is_sidechain: wire.is_sidechain == Some(true),
        has_speed: usage.speed.is_some(),
        limit_resets_at_s,
    })
}

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|timestamp| timestamp.as_millisecond())
}

/// `N.N.N` at the start (Claude Code's version; anything after is allowed).
fn is_version(text: &str) -> bool {
    let mut parts = text.splitn(3, '.');
    let digits = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let major = parts.next();
    let minor = parts.next();
    let rest = parts.next();
    digits(major)
        && digits(minor)
        && rest.is_some_and(|r| r.bytes().next().is_some_and(|b| b.is_ascii_digit()))
}

/// The reset time in `Claude AI usage limit reached|<epoch seconds>`.
fn usage_limit_reset(line: &[u8]) -> Option<i64> {
    let start = memchr::memmem::find(line, USAGE_LIMIT_MARKER)?;
    let after = &line[start + USAGE_LIMIT_MARKER.len()..];
    let bar = memchr::memchr(b'|', after)?;
    let digits: &[u8] = &after[bar + 1..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let seconds: i64 = std::str::from_utf8(&digits[..end]).ok()?.parse().ok()?;
    (seconds > 0).then_some(seconds)
}

/// Whether `candidate` should replace `existing` among copies of one reply:
/// a main-chain copy beats a sidechain copy, then the larger token total
/// wins (earlier copies can hold placeholder output counts), then a copy
/// that states its speed. Equal copies keep the one seen first.
pub fn replaces(
    candidate_sidechain: bool,
    candidate_total: u64,
    candidate_speed: bool,
    existing_sidechain: bool,
    existing_total: u64,
    existing_speed: bool,
) -> bool {
    if candidate_sidechain != existing_sidechain {
        return existing_sidechain;
    }
    if candidate_total != existing_total {
        return candidate_total > existing_total;
    }
    candidate_speed && !existing_speed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as Claude Code 2.1.330 wrote them (from the captured fixture).
    const FIXTURE: &str = r#####"{"type":"last-prompt","lastPrompt":"say hi","leafUuid":"b0172a1b-1443-4350-8675-88c6404c2a3e","sessionId":"d095304d-895a-4782-9633-22c1acc3ecef"}
{"parentUuid":"0f9b2b07-02b7-45d3-a032-d39fbb08e858","isSidechain":false,"message":{"id":"msg_mock_0001","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"tool_use","id":"toolu_mock_0001","name":"Bash","input":{"command":"echo hello","description":"Say hello"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":10,"cache_read_input_tokens":1000,"output_tokens":21,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"stop_details":null},"toolInputStreamMs":2,"apiBlockIndex":0,"requestId":"req_mock_0001","requestRef":"432f249a-b93f-4558-a8b8-3d4e17cf94b8","requestedModel":"claude-opus-5-5","promptCacheRequested":"5m","type":"assistant","uuid":"b0172a1b-1443-4350-8675-88c6404c2a3e","timestamp":"2026-11-24T00:26:49.487Z","effort":"medium","perTurnEffort":"medium","madeBy":"model","userType":"external","entrypoint":"sdk-cli","cwd":"/home/dev/project","sessionId":"d095304d-895a-4782-9633-22c1acc3ecef","version":"2.1.330","gitBranch":"HEAD"}
{"parentUuid":"9795cc6f-9774-4b2b-b191-9c4ae65edb9a","isSidechain":false,"message":{"id":"msg_mock_0002","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"done"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":200,"cache_creation_input_tokens":20,"cache_read_input_tokens":2000,"output_tokens":22,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null},"stop_details":null},"apiBlockIndex":0,"requestId":"req_mock_0002","requestRef":"fcabf31e-8d95-47b9-a716-282a4f923dfd","requestedModel":"claude-opus-5-5","promptCacheRequested":"5m","type":"assistant","uuid":"29a6b00d-4f02-42ae-b890-835743b9c649","timestamp":"2026-11-24T00:26:50.038Z","effort":"medium","perTurnEffort":"medium","madeBy":"model","userType":"external","entrypoint":"sdk-cli","cwd":"/home/dev/project","sessionId":"d095304d-895a-4782-9633-22c1acc3ecef","version":"2.1.330","gitBranch":"HEAD"}"#####;

    #[test]
    fn the_captured_transcript_yields_its_two_replies() {
        let entries: Vec<_> = FIXTURE
            .lines()
            .filter_map(|l| parse_line(l.as_bytes()))
            .collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].tokens.input, 100);
        assert_eq!(entries[0].tokens.output, 21);
        assert_eq!(entries[0].tokens.cache_read, 1000);
        // The breakdown is present (all zero), so it wins over the flat field.
        assert_eq!(entries[0].tokens.cache_creation(), 0);
        assert_eq!(entries[0].model.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(
            entries[1].timestamp_ms,
            parse_timestamp_ms("2026-11-24T00:26:50.038Z").unwrap()
        );
        assert_eq!(
            entries[0].key,
            Some(dedup_key("msg_mock_0001", Some("req_mock_0001")))
        );
    }

    #[test]
    fn lines_are_accepted_or_refused_by_the_rules() {
        let base = |extra: &str, usage: &str| {
            format!(
                r#"{{"type":"assistant","timestamp":"2026-01-01T00:00:00.000Z"{extra},"message":{{"id":"m","model":"claude-x","usage":{{{usage}}}}}}}"#
            )
        };
        let full = r#""input_tokens":1,"output_tokens":2"#;
        let cases: &[(&str, String, bool)] = &[
            ("plain", base("", full), true),
            ("no output count", base("", r#""input_tokens":1"#), false),
            ("bad version", base(r#","version":"x.1""#, full), false),
            ("good version", base(r#","version":"2.1.330""#, full), true),
            ("empty request id", base(r#","requestId":"""#, full), false),
            ("empty session id", base(r#","sessionId":"""#, full), false),
            (
                "null cache read",
                base(
                    "",
                    r#""input_tokens":1,"output_tokens":2,"cache_read_input_tokens":null"#,
                ),
                false,
            ),
            ("not json", "{\"usage\":{ oops".to_string(), false),
        ];
        for (name, line, accepted) in cases {
            assert_eq!(parse_line(line.as_bytes()).is_some(), *accepted, "{name}");
        }
    }

    #[test]
    fn flat_cache_creation_counts_when_no_breakdown_is_given() {
        let line = r#"{"timestamp":"2026-01-01T00:00:00Z","message":{"usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":30}}}"#;
        let entry = parse_line(line.as_bytes()).unwrap();
        assert_eq!(entry.tokens.cache_creation_5m, 30);
        assert_eq!(entry.key, None);
    }

    #[test]
    fn a_usage_limit_error_carries_its_reset_time_and_no_model() {
        let line = r#"{"timestamp":"2026-01-01T00:00:00Z","isApiErrorMessage":true,"message":{"id":"x","model":"<synthetic>","content":[{"type":"text","text":"Claude AI usage limit reached|1767243600"}],"usage":{"input_tokens":0,"output_tokens":0}}}"#;
        let entry = parse_line(line.as_bytes()).unwrap();
        assert_eq!(entry.limit_resets_at_s, Some(1_767_243_600));
        assert_eq!(entry.model, None);
    }

    #[test]
    fn fast_mode_is_a_model_of_its_own() {
        let line = r#"{"timestamp":"2026-01-01T00:00:00Z","message":{"model":"claude-opus-4-6","usage":{"input_tokens":1,"output_tokens":2,"speed":"fast"}}}"#;
        let entry = parse_line(line.as_bytes()).unwrap();
        assert_eq!(entry.model.as_deref(), Some("claude-opus-4-6-fast"));
        assert!(entry.has_speed);
    }

    #[test]
    fn a_main_chain_copy_beats_a_bigger_sidechain_copy() {
        assert!(replaces(false, 1, false, true, 100, false));
        assert!(!replaces(true, 100, false, false, 1, false));
        assert!(replaces(false, 10, false, false, 5, false));
        assert!(!replaces(false, 5, false, false, 5, false));
        assert!(replaces(false, 5, true, false, 5, false));
    }

    #[test]
    fn keys_differ_when_only_the_request_differs() {
        assert_ne!(dedup_key("m", Some("a")), dedup_key("m", Some("b")));
        assert_ne!(dedup_key("m", None), dedup_key("m", Some("")));
        assert_eq!(dedup_key("m", Some("a")), dedup_key("m", Some("a")));
    }
}
