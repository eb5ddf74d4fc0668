//! What the Stop hook learns from the end of a session's transcript.
//!
//! Transcripts reach hundreds of megabytes, and the Stop hook runs at every
//! turn, so the file is read backwards from its end in chunks, never more
//! than a budget (config `momentum.transcript_tail_bytes`), and the scan
//! ends as soon as the facts are known: usually within the last few lines.
//! Claude Code appends to the file while the hook runs, so a last line
//! without its newline is half-written and skipped, as is any line that is
//! not JSON or that starts before the budget's edge. A line is only parsed
//! when a cheap substring test says it may matter; the big ones (tool
//! results holding whole files) are skipped unread.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

use memchr::memmem::Finder;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// How much is read per step backwards.
const CHUNK_BYTES: u64 = 64 * 1024;

/// What Claude Code writes as the user message after a Stop hook blocked.
pub const STOP_FEEDBACK_PREFIX: &str = "Stop hook feedback:";

/// Facts from the end of a transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranscriptFacts {
    /// Whether the assistant used a tool after the last Stop hook feedback;
    /// `None` when no feedback was found within the budget (tool use alone
    /// proves nothing: it may predate the block whose feedback is unseen).
    pub tool_use_since_feedback: Option<bool>,
    /// The text of the newest assistant entry with text.
    pub last_assistant_text: Option<String>,
    /// The newest assistant entry is an API error, and which kind.
    pub api_error: Option<ApiError>,
}

/// An API error the session ended on (assistant entry with `isApiErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The subscription's usage limit; `resets_at` in epoch seconds when given.
    UsageLimit { resets_at: Option<i64> },
    /// The conversation no longer fits the model's context window.
    ContextExhausted,
    /// Any other error Claude Code gave up on.
    Other { text: String },
}

/// Reads the facts from the last `budget` bytes of `path`.
pub fn read_facts(path: &Path, budget: u64) -> std::io::Result<TranscriptFacts> {
    let mut scan = Scan::new();
    for_each_line_backwards(path, budget, |line| scan.visit(line))?;
    Ok(scan.facts)
}

/// Calls `visit` with each complete line of the last `budget` bytes of the
/// file, newest first, until it returns `Break`. Line endings (`\n`, `\r\n`)
/// are stripped; empty lines are skipped.
pub fn for_each_line_backwards(
    path: &Path,
    budget: u64,
    mut visit: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> std::io::Result<()> {
    // Only a regular file, opened without blocking: a FIFO named as the
    // transcript must not hang the Stop hook. Only the tail is read, so
    // the file's size does not matter.
    let mut file: File = crate::fsutil::open_regular(path)?;
    let length = file.metadata()?.len();
    // One byte more than the budget: whether the byte before the budget's
    // edge is a newline tells if the line starting at the edge is whole.
    let floor = length.saturating_sub(budget.saturating_add(1));
    let mut position = length;
    // Bytes from `position` up to the end of the next line to hand out.
    let mut pending: Vec<u8> = Vec::new();
    let mut seen_last_newline = false;
    loop {
        if position > floor {
            // Steps grow with the line being assembled, so a long line costs
            // a linear number of copies, not a quadratic one.
            let step = CHUNK_BYTES.max(pending.len() as u64);
            let start = position.saturating_sub(step).max(floor);
            let mut chunk = vec![0u8; (position - start) as usize];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut chunk)?;
            chunk.extend_from_slice(&pending);
            pending = chunk;
            position = start;
        }
        if !seen_last_newline {
            // Whatever follows the file's last newline is still being written.
            match memchr::memrchr(b'\n', &pending) {
                Some(index) => {
                    pending.truncate(index);
                    seen_last_newline = true;
                }
                None if position > floor => continue,
                None => return Ok(()),
            }
        }
        while let Some(index) = memchr::memrchr(b'\n', &pending) {
            let flow = visit_line(&pending[index + 1..], &mut visit);
            pending.truncate(index);
            if flow.is_break() {
                return Ok(());
            }
        }
        if position == 0 {
            // The file's first line is complete.
            let _ = visit_line(&pending, &mut visit);
            return Ok(());
        }
        if position == floor {
            // The rest started before the budget's edge: a partial line.
            return Ok(());
        }
    }
}

fn visit_line(line: &[u8], visit: &mut impl FnMut(&[u8]) -> ControlFlow<()>) -> ControlFlow<()> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        ControlFlow::Continue(())
    } else {
        visit(line)
    }
}

/// The backwards scan's state.
struct Scan {
    /// Finds `"assistant"`: the only lines parsed in full.
    assistant: Finder<'static>,
    /// Finds the feedback prefix in a user line.
    feedback: Finder<'static>,
    facts: TranscriptFacts,
    /// The newest assistant entry has been seen (its error state is settled).
    seen_assistant: bool,
    /// A tool use newer than every line visited so far.
    seen_tool_use: bool,
}

impl Scan {
    fn new() -> Self {
        Self {
            assistant: Finder::new(b"\"assistant\""),
            feedback: Finder::new(STOP_FEEDBACK_PREFIX.as_bytes()),
            facts: TranscriptFacts::default(),
            seen_assistant: false,
            seen_tool_use: false,
        }
    }

    fn visit(&mut self, line: &[u8]) -> ControlFlow<()> {
        if self.assistant.find(line).is_some() {
            if let Ok(entry) = serde_json::from_slice::<WireEntry>(line) {
                if entry.kind.as_deref() == Some("assistant") {
                    self.visit_assistant(entry);
                }
            }
        } else if self.feedback.find(line).is_some() {
            if let Ok(entry) = serde_json::from_slice::<WireEntry>(line) {
                if entry.kind.as_deref() == Some("user") && entry.is_stop_feedback() {
                    let seen_tool_use = self.seen_tool_use;
                    self.facts
                        .tool_use_since_feedback
                        .get_or_insert(seen_tool_use);
                }
            }
        }
        let done = self.seen_assistant
            && self.facts.last_assistant_text.is_some()
            && self.facts.tool_use_since_feedback.is_some();
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn visit_assistant(&mut self, entry: WireEntry) {
        let limit = usage_limit_of(&entry);
        let Some(message) = entry.message else { return };
        let text = message.text();
        if !self.seen_assistant {
            self.seen_assistant = true;
            self.facts.api_error = match limit {
                Some(limit) => Some(limit),
                None => classify_error(&entry.is_api_error_message, &message, &text),
            };
        }
        if self.facts.last_assistant_text.is_none() && !text.is_empty() {
            self.facts.last_assistant_text = Some(text);
        }
        if message.has_tool_use() {
            self.seen_tool_use = true;
        }
    }
}

/// An error in the text of a message, recognised only by its exact shape
/// (the start of the text), for when the transcript has not caught up: a
/// reply that merely talks about limits must not read as one.
pub fn error_in_message(text: &str) -> Option<ApiError> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("Claude AI usage limit reached") {
        let resets_at = rest
            .strip_prefix('|')
            .and_then(|epoch| epoch.trim().parse::<i64>().ok());
        return Some(ApiError::UsageLimit { resets_at });
    }
    if text.starts_with("Prompt is too long") {
        return Some(ApiError::ContextExhausted);
    }
    None
}

fn classify_error(
    is_api_error: &Option<bool>,
    message: &WireMessage,
    text: &str,
) -> Option<ApiError> {
    if message.stop_reason.as_deref() == Some("model_context_window_exceeded") {
        return Some(ApiError::ContextExhausted);
    }
    if *is_api_error != Some(true) {
        return None;
    }
    let lower = text.to_lowercase();
    if lower.contains("usage limit")
        || lower.contains("limit reached")
        || lower.contains("hit your limit")
        || (lower.contains("hit your") && lower.contains(" limit"))
    {
        // `Claude AI usage limit reached|1752800400`
        let resets_at = text
            .rsplit_once('|')
            .and_then(|(_, epoch)| epoch.trim().parse::<i64>().ok());
        return Some(ApiError::UsageLimit { resets_at });
    }
    if lower.contains("prompt is too long")
        || lower.contains("context window")
        || lower.contains("context length")
        || lower.contains("context limit")
    {
        return Some(ApiError::ContextExhausted);
    }
    Some(ApiError::Other {
        text: text.chars().take(200).collect(),
    })
}

/// A transcript line, only the parts read here.
#[derive(Deserialize)]
struct WireEntry {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<WireMessage>,
    #[serde(rename = "isApiErrorMessage")]
    is_api_error_message: Option<bool>,
    /// `usage_limit_reached` on a usage-limit entry (Claude Code 2.1.330).
    #[serde(rename = "apiError")]
    api_error: Option<String>,
    /// `{"rate_limit_info": {"resetsAt": <epoch s>, "rateLimitType": ...}}`.
    #[serde(rename = "apiErrorParams")]
    api_error_params: Option<WireErrorParams>,
}

#[derive(Deserialize)]
struct WireErrorParams {
    rate_limit_info: Option<WireRateLimitInfo>,
}

#[derive(Deserialize)]
struct WireRateLimitInfo {
    #[serde(rename = "resetsAt")]
    resets_at: Option<f64>,
}

/// A usage-limit entry as Claude Code 2.1.330 writes it: `apiError:
/// "usage_limit_reached"` and the reset, epoch seconds, in
/// `apiErrorParams.rate_limit_info.resetsAt` (its text, "You've hit your
/// 5-hour limit · resets 1:24pm (UTC)", gives only the minute).
fn usage_limit_of(entry: &WireEntry) -> Option<ApiError> {
    if entry.is_api_error_message != Some(true)
        || entry.api_error.as_deref() != Some("usage_limit_reached")
    {
        return None;
    }
    let resets_at = entry
        .api_error_params
        .as_ref()
        .and_then(|params| params.rate_limit_info.as_ref())
        .and_then(|info| info.resets_at)
        .filter(|seconds| seconds.is_finite())
        .map(|seconds| seconds as i64)
        .and_then(crate::usage::snapshot::plausible_reset_s);
    Some(ApiError::UsageLimit { resets_at })
}

impl WireEntry {
    fn is_stop_feedback(&self) -> bool {
        let Some(message) = &self.message else {
            return false;
        };
        match &message.content {
            Some(WireContent::Text(text)) => text.starts_with(STOP_FEEDBACK_PREFIX),
            Some(WireContent::Blocks(blocks)) => blocks.iter().any(|block| {
                block
                    .text
                    .as_deref()
                    .is_some_and(|text| text.starts_with(STOP_FEEDBACK_PREFIX))
            }),
            _ => false,
        }
    }
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<WireContent>,
    stop_reason: Option<String>,
}

impl WireMessage {
    fn text(&self) -> String {
        match &self.content {
            Some(WireContent::Text(text)) => text.clone(),
            Some(WireContent::Blocks(blocks)) => {
                let mut text = String::new();
                for block in blocks {
                    if block.kind.as_deref() == Some("text") {
                        if let Some(part) = &block.text {
                            if !text.is_empty() {
                                text.push('\n');
                            }
                            text.push_str(part);
                        }
                    }
                }
                text
            }
            _ => String::new(),
        }
    }

    fn has_tool_use(&self) -> bool {
        matches!(&self.content, Some(WireContent::Blocks(blocks))
            if blocks.iter().any(|block| block.kind.as_deref() == Some("tool_use")))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireContent {
    Text(String),
    Blocks(Vec<WireBlock>),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct WireBlock {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(content: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content.as_bytes()).unwrap();
        file
    }

    fn lines_backwards(content: &str, budget: u64) -> Vec<String> {
        let file = file_with(content);
        let mut lines = Vec::new();
        for_each_line_backwards(file.path(), budget, |line| {
            lines.push(String::from_utf8(line.to_vec()).unwrap());
            ControlFlow::Continue(())
        })
        .unwrap();
        lines
    }

    #[test]
    fn lines_come_newest_first_and_a_half_written_last_line_is_skipped() {
        assert_eq!(lines_backwards("a\nb\r\n\nc\nhalf", 1000), ["c", "b", "a"]);
        assert_eq!(lines_backwards("a\nb\n", 1000), ["b", "a"]);
        assert_eq!(lines_backwards("only half", 1000), Vec::<String>::new());
        assert_eq!(lines_backwards("", 1000), Vec::<String>::new());
    }

    #[test]
    fn the_budget_bounds_the_read_and_a_cut_line_is_dropped() {
        // The last 7 bytes are "cc\ndd\n" plus one byte of "bbbb".
        assert_eq!(lines_backwards("aaaa\nbbbb\ncc\ndd\n", 7), ["dd", "cc"]);
        // Exactly at a line start: that line is complete.
        assert_eq!(lines_backwards("aaaa\nbbbb\ncc\n", 8), ["cc", "bbbb"]);
    }

    #[test]
    fn lines_longer_than_a_chunk_are_reassembled() {
        let long = "x".repeat(CHUNK_BYTES as usize * 2 + 17);
        let content = format!("first\n{long}\nlast\n");
        let lines = lines_backwards(&content, u64::MAX);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "last");
        assert_eq!(lines[1], long);
        assert_eq!(lines[2], "first");
    }

    fn assistant_text(text: &str) -> String {
        serde_json::json!({"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":text}]}}).to_string()
    }

    fn assistant_tool_use() -> String {
        r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"Bash","input":{}}]}}"#.to_string()
    }

    fn feedback() -> String {
        serde_json::json!({"type":"user","message":{"role":"user","content":"Stop hook feedback:\nkeep going"},"isMeta":true}).to_string()
    }

    fn facts_of(lines: &[String]) -> TranscriptFacts {
        let file = file_with(&(lines.join("\n") + "\n"));
        read_facts(file.path(), 1 << 20).unwrap()
    }

    #[test]
    fn tool_use_after_the_last_feedback_is_seen() {
        let facts = facts_of(&[feedback(), assistant_tool_use(), assistant_text("done")]);
        assert_eq!(facts.tool_use_since_feedback, Some(true));
        assert_eq!(facts.last_assistant_text.as_deref(), Some("done"));
        assert_eq!(facts.api_error, None);
    }

    #[test]
    fn no_tool_use_after_the_last_feedback_is_seen() {
        let facts = facts_of(&[
            assistant_tool_use(),
            feedback(),
            assistant_text("still done"),
        ]);
        assert_eq!(facts.tool_use_since_feedback, Some(false));
    }

    #[test]
    fn stream_json_style_feedback_blocks_count_too() {
        let block_feedback = serde_json::json!({"type":"user","message":{"role":"user","content":[{"type":"text","text":"Stop hook feedback:\n[x]: reason"}]}}).to_string();
        let facts = facts_of(&[assistant_tool_use(), block_feedback, assistant_text("ok")]);
        assert_eq!(facts.tool_use_since_feedback, Some(false));
    }

    #[test]
    fn a_tool_result_quoting_the_feedback_text_is_not_feedback() {
        let quoted = serde_json::json!({"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Stop hook feedback: in a file"}]}}).to_string();
        let facts = facts_of(&[quoted, assistant_text("ok")]);
        assert_eq!(facts.tool_use_since_feedback, None);
    }

    #[test]
    fn tool_use_without_any_feedback_in_the_tail_is_unknown() {
        let facts = facts_of(&[assistant_tool_use(), assistant_text("done")]);
        assert_eq!(facts.tool_use_since_feedback, None);
    }

    #[test]
    fn only_the_newest_feedback_counts() {
        let facts = facts_of(&[
            feedback(),
            assistant_tool_use(),
            feedback(),
            assistant_text("done"),
        ]);
        assert_eq!(facts.tool_use_since_feedback, Some(false));
    }

    #[test]
    fn without_feedback_or_tool_use_the_answer_is_unknown() {
        let facts = facts_of(&["not json".to_string(), assistant_text("hi")]);
        assert_eq!(facts.tool_use_since_feedback, None);
        assert_eq!(facts.last_assistant_text.as_deref(), Some("hi"));
    }

    #[test]
    fn api_errors_are_classified_from_the_newest_assistant_entry() {
        let error = |text: &str| {
            serde_json::json!({"type":"assistant","isApiErrorMessage":true,"message":{"role":"assistant","model":"<synthetic>","content":[{"type":"text","text":text}]}}).to_string()
        };
        let facts = facts_of(&[
            assistant_text("working"),
            error("Claude AI usage limit reached|1752800400"),
        ]);
        assert_eq!(
            facts.api_error,
            Some(ApiError::UsageLimit {
                resets_at: Some(1_752_800_400)
            })
        );
        let facts = facts_of(&[error("Prompt is too long")]);
        assert_eq!(facts.api_error, Some(ApiError::ContextExhausted));
        let facts = facts_of(&[error("API Error: 500 overloaded")]);
        assert!(matches!(facts.api_error, Some(ApiError::Other { .. })));
        // An old error followed by a normal answer is history, not the state.
        let facts = facts_of(&[
            error("Claude AI usage limit reached|1"),
            assistant_text("back"),
        ]);
        assert_eq!(facts.api_error, None);
    }

    #[test]
    fn the_usage_limit_entry_of_claude_code_2_1_330_gives_its_exact_reset() {
        // Written by the real CLI on a 429 with `anthropic-ratelimit-unified-status: rejected`.
        let line = r#"{"parentUuid": "be8a79c0-b91c-4264-a875-5a16562fc7f6", "isSidechain": false, "type": "assistant", "uuid": "87501b65-77cd-4eac-9b6c-b402625a1409", "timestamp": "2026-12-03T13:23:41.418Z", "message": {"diagnostics": null, "id": "c5b7a0e5-96a2-48e4-80e2-d73002dfeae2", "container": null, "model": "<synthetic>", "role": "assistant", "stop_details": null, "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message", "content": [{"type": "text", "text": "You've hit your 5-hour limit \u00b7 resets 1:24pm (UTC)"}], "context_management": null}, "requestId": "req_x", "apiError": "usage_limit_reached", "apiErrorParams": {"rate_limit_info": {"status": "rejected", "resetsAt": 1796304279, "rateLimitType": "five_hour", "isUsingOverage": false}}, "quotaLimits": {"status": "rejected", "resetsAt": 1796304279, "unifiedRateLimitFallbackAvailable": false, "rateLimitType": "five_hour", "isUsingOverage": false}, "error": "rate_limit", "isApiErrorMessage": true, "apiErrorStatus": 429, "apiErrorType": "rate_limit_error", "perTurnEffort": "medium", "failedResponseHadNoToolCall": true, "madeBy": "model", "userType": "external", "entrypoint": "sdk-cli", "sessionId": "0bc1f48a-6b68-43d2-8c46-08ecf52bbc9e", "version": "2.1.330", "gitBranch": "HEAD"}"#;
        let facts = facts_of(&[assistant_text("working"), line.to_string()]);
        assert_eq!(
            facts.api_error,
            Some(ApiError::UsageLimit {
                resets_at: Some(1_796_304_279)
            })
        );
        // The text alone (the transcript lagging) still reads as a limit.
        let text_only = serde_json::json!({"type":"assistant","isApiErrorMessage":true,"message":{"role":"assistant","content":[{"type":"text","text":"You've hit your 5-hour limit · resets 1:24pm (UTC)"}]}}).to_string();
        assert_eq!(
            facts_of(&[text_only]).api_error,
            Some(ApiError::UsageLimit { resets_at: None })
        );
    }

    #[test]
    fn a_context_window_stop_reason_means_exhausted() {
        let line = r#"{"type":"assistant","message":{"role":"assistant","stop_reason":"model_context_window_exceeded","content":[]}}"#;
        assert_eq!(
            facts_of(&[line.to_string()]).api_error,
            Some(ApiError::ContextExhausted)
        );
    }
}
