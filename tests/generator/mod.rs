//! A generator of realistic transcript trees, for tests and benchmarks
//! (`tests/local_usage.rs`, `examples/gen_transcripts.rs`): test data,
//! kept out of the crate so the release binary does not carry it.
//!
//! It writes `<root>/projects/<project>/<session>.jsonl` files in the shape
//! Claude Code 2.1 writes them (the fields of the captured fixtures), with
//! what makes accounting hard: replies with several content blocks written
//! as several lines whose earlier copies hold placeholder output counts,
//! resumed sessions that start by copying an earlier session's lines,
//! subagent files in `<session>/subagents/` marked as sidechains (some
//! repeating a main-chain reply with a larger count, which must not win),
//! large user lines with tool results, attachments and other non-usage
//! lines, API error replies (`<synthetic>` model, zero usage, sometimes a
//! usage-limit message), older lines without the cache-creation
//! breakdown, and idle gaps of many hours. The same seed gives the same
//! bytes. The manifest it returns holds the true totals (each reply
//! counted once, with its final figures), computed from what was
//! generated, not from parsing, so tests can check the scanner against it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use pace_maker::local_usage::entry::TokenCounts;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    /// Stop after about this many bytes.
    pub target_bytes: u64,
    pub seed: u64,
    /// Time of the first session, epoch ms.
    pub start_ms: i64,
    /// Sessions spread over this many days.
    pub days: u32,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            target_bytes: 1 << 20,
            seed: 1,
            // 2026-09-01T00:00:00Z
            start_ms: 1_788_220_800_000,
            days: 30,
        }
    }
}

/// The truth about what was generated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub files: usize,
    pub bytes: u64,
    pub lines: u64,
    /// Distinct replies with usage (API errors included).
    pub replies: u64,
    /// Lines with usage, copies included.
    pub usage_lines: u64,
    /// True token totals per UTC day.
    pub daily: BTreeMap<String, TokenCounts>,
    pub total: TokenCounts,
}

const PRICED_MODELS: &[(&str, u32)] = &[
    ("claude-opus-4-5-20251101", 45),
    ("claude-sonnet-4-5-20250929", 30),
    ("claude-haiku-4-5-20251001", 10),
    ("claude-opus-4-1-20250805", 5),
    // Not in either price table: counted, never priced.
    ("claude-opus-5-5", 10),
];

const WORDS: &[&str] = &[
    "the", "function", "returns", "a", "value", "when", "config", "is", "loaded", "from", "disk",
    "and", "test", "passes", "error", "handling", "module", "struct", "field", "parser", "store",
    "window", "usage", "token", "cache", "reads", "writes", "session", "hook", "delay", "let",
    "mut", "fn", "impl", "match", "Some", "None", "Ok", "Err", "vec", "String", "u64", "path",
];

struct Writer<'a> {
    root: &'a Path,
    rng: ChaCha8Rng,
    manifest: Manifest,
    message_counter: u64,
    /// Lines of finished main sessions, for resumed sessions to copy.
    finished: Vec<(String, Vec<String>)>,
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn day(ms: i64) -> String {
    iso(ms)[..10].to_string()
}

impl<'a> Writer<'a> {
    fn words(&mut self, count: usize) -> String {
        let mut text = String::with_capacity(count * 6);
        for index in 0..count {
            if index > 0 {
                text.push(if self.rng.gen_ratio(1, 12) { '\n' } else { ' ' });
            }
            text.push_str(WORDS.choose(&mut self.rng).copied().unwrap_or("x"));
        }
        text
    }

    fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.gen();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn model(&mut self) -> &'static str {
        let total: u32 = PRICED_MODELS.iter().map(|(_, weight)| weight).sum();
        let mut pick = self.rng.gen_range(0..total);
        for (model, weight) in PRICED_MODELS {
            if pick < *weight {
                return model;
            }
            pick -= weight;
        }
        PRICED_MODELS[0].0
    }

    fn tokens(&mut self) -> TokenCounts {
        // Keep a request's whole input under 200k so no long-context tier applies.
        let cache_read = if self.rng.gen_ratio(1, 10) {
            0
        } else {
            self.rng.gen_range(5_000..150_000)
        };
        let cache_creation = if self.rng.gen_ratio(1, 3) {
            self.rng.gen_range(100..20_000)
        } else {
            0
        };
        let one_hour = if self.rng.gen_ratio(1, 5) {
            cache_creation
        } else {
            0
        };
        TokenCounts {
            input: if self.rng.gen_ratio(1, 8) {
                self.rng.gen_range(100..8_000)
            } else {
                self.rng.gen_range(1..60)
            },
            output: self.rng.gen_range(5..4_000),
            cache_creation_5m: cache_creation - one_hour,
            cache_creation_1h: one_hour,
            cache_read,
        }
    }

    fn record(&mut self, timestamp_ms: i64, tokens: &TokenCounts) {
        self.manifest.replies += 1;
        self.manifest.total.add(tokens);
        self.manifest
            .daily
            .entry(day(timestamp_ms))
            .or_default()
            .add(tokens);
    }

    fn usage_json(tokens: &TokenCounts, breakdown: bool) -> Value {
        let mut usage = json!({
            "input_tokens": tokens.input,
            "cache_creation_input_tokens": tokens.cache_creation(),
            "cache_read_input_tokens": tokens.cache_read,
            "output_tokens": tokens.output,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
        });
        if breakdown {
            usage["cache_creation"] = json!({
                "ephemeral_1h_input_tokens": tokens.cache_creation_1h,
                "ephemeral_5m_input_tokens": tokens.cache_creation_5m,
            });
            usage["inference_geo"] = json!("");
            usage["iterations"] = json!([]);
            usage["speed"] = json!("standard");
        }
        usage
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one line's fields, named at the call site"
    )]
    fn assistant_line(
        &mut self,
        session: &Context,
        message_id: &str,
        request_id: &str,
        model: &str,
        block: Value,
        tokens: &TokenCounts,
        breakdown: bool,
        timestamp_ms: i64,
        sidechain: bool,
    ) -> String {
        let stop = if block["type"] == "tool_use" {
            "tool_use"
        } else {
            "end_turn"
        };
        let line = json!({
            "parentUuid": self.uuid(),
            "isSidechain": sidechain,
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": stop,
                "stop_sequence": null,
                "usage": Self::usage_json(tokens, breakdown),
            },
            "requestId": request_id,
            "type": "assistant",
            "uuid": self.uuid(),
            "timestamp": iso(timestamp_ms),
            "userType": "external",
            "entrypoint": "cli",
            "cwd": session.cwd,
            "sessionId": session.session_id,
            "version": "2.1.330",
            "gitBranch": "main",
        });
        line.to_string()
    }

    fn content_block(&mut self, kind: usize) -> Value {
        match kind {
            0 => {
                let words = self.rng.gen_range(20..200);
                json!({"type": "thinking", "thinking": self.words(words), "signature": self.uuid()})
            }
            1 => {
                let words = self.rng.gen_range(10..300);
                json!({"type": "text", "text": self.words(words)})
            }
            _ => {
                let name = ["Bash", "Read", "Edit", "Grep"]
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("Bash");
                json!({
                    "type": "tool_use",
                    "id": format!("toolu_{}", self.uuid().replace('-', "")),
                    "name": name,
                    "input": {"command": self.words(8), "description": self.words(4)},
                })
            }
        }
    }

    fn user_line(&mut self, session: &Context, timestamp_ms: i64, sidechain: bool) -> String {
        let size = if self.rng.gen_ratio(1, 6) {
            self.rng.gen_range(2_000..6_000)
        } else {
            self.rng.gen_range(50..900)
        };
        let content = self.words(size);
        json!({
            "parentUuid": self.uuid(),
            "isSidechain": sidechain,
            "type": "user",
            "message": {"role": "user", "content": [{"tool_use_id": format!("toolu_{}", self.uuid()), "type": "tool_result", "content": content, "is_error": false}]},
            "uuid": self.uuid(),
            "timestamp": iso(timestamp_ms),
            "toolUseResult": {"stdout": self.words(20), "stderr": "", "interrupted": false, "isImage": false},
            "userType": "external",
            "entrypoint": "cli",
            "cwd": session.cwd,
            "sessionId": session.session_id,
            "version": "2.1.330",
            "gitBranch": "main",
        })
        .to_string()
    }

    fn other_line(&mut self, session: &Context, timestamp_ms: i64) -> String {
        match self.rng.gen_range(0..5) {
            0 => json!({"type": "last-prompt", "lastPrompt": self.words(6), "leafUuid": self.uuid(), "sessionId": session.session_id}).to_string(),
            1 => json!({"type": "queue-operation", "operation": "enqueue", "timestamp": iso(timestamp_ms), "sessionId": session.session_id, "content": self.words(5)}).to_string(),
            2 => json!({"parentUuid": self.uuid(), "isSidechain": false, "type": "system", "subtype": "stop_hook_summary", "hookCount": 1, "hookInfos": [{"command": "pace-maker hook stop", "durationMs": 12}], "hookErrors": [], "preventedContinuation": false, "stopReason": "", "hasOutput": false, "level": "suggestion", "timestamp": iso(timestamp_ms), "uuid": self.uuid(), "sessionId": session.session_id}).to_string(),
            3 => json!({"parentUuid": self.uuid(), "isSidechain": false, "attachment": {"type": "date", "date": day(timestamp_ms)}, "type": "attachment", "uuid": self.uuid(), "timestamp": iso(timestamp_ms), "sessionId": session.session_id}).to_string(),
            _ => json!({"type": "file-history-snapshot", "messageId": self.uuid(), "snapshot": {"trackedFileBackups": {}, "timestamp": iso(timestamp_ms)}, "isSnapshotUpdate": false}).to_string(),
        }
    }

    /// One reply: its lines (copies with placeholder outputs first), counted once.
    fn reply(
        &mut self,
        session: &Context,
        timestamp_ms: &mut i64,
        sidechain: bool,
        model: &str,
    ) -> (Vec<String>, String, String, TokenCounts) {
        self.message_counter += 1;
        let message_id = format!(
            "msg_{:016x}{:08x}",
            self.rng.gen::<u64>(),
            self.message_counter
        );
        let request_id = format!(
            "req_{:016x}{:08x}",
            self.rng.gen::<u64>(),
            self.message_counter
        );
        let mut tokens = self.tokens();
        let breakdown = !self.rng.gen_ratio(1, 10);
        if !breakdown {
            // Older lines have only the flat count, which is priced as 5-minute writes.
            tokens.cache_creation_5m += tokens.cache_creation_1h;
            tokens.cache_creation_1h = 0;
        }
        let blocks = self.rng.gen_range(1..=3);
        let mut lines = Vec::with_capacity(blocks);
        let mut final_time = *timestamp_ms;
        for index in 0..blocks {
            let last = index + 1 == blocks;
            let mut copy = tokens;
            if !last {
                // Streaming placeholders, always below the real output count
                // that comes with the last block.
                copy.output = self.rng.gen_range(1..=(copy.output - 1).min(8));
            }
            final_time = *timestamp_ms;
            let kind = if last {
                self.rng.gen_range(1..3)
            } else {
                index % 2
            };
            let block = self.content_block(kind);
            lines.push(self.assistant_line(
                session,
                &message_id,
                &request_id,
                model,
                block,
                &copy,
                breakdown,
                *timestamp_ms,
                sidechain,
            ));
            *timestamp_ms += self.rng.gen_range(5..400);
        }
        self.manifest.usage_lines += blocks as u64;
        // The last copy wins, so its time is the reply's time.
        self.record(final_time, &tokens);
        (lines, message_id, request_id, tokens)
    }

    fn api_error_line(&mut self, session: &Context, timestamp_ms: i64) -> String {
        self.message_counter += 1;
        let text = if self.rng.gen_ratio(1, 2) {
            format!(
                "Claude AI usage limit reached|{}",
                timestamp_ms / 1000 + self.rng.gen_range(600..18_000)
            )
        } else {
            "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}".to_string()
        };
        self.manifest.usage_lines += 1;
        self.record(timestamp_ms, &TokenCounts::default());
        json!({
            "parentUuid": self.uuid(),
            "isSidechain": false,
            "type": "assistant",
            "uuid": self.uuid(),
            "timestamp": iso(timestamp_ms),
            "message": {
                "id": self.uuid(),
                "model": "<synthetic>",
                "role": "assistant",
                "stop_reason": "stop_sequence",
                "stop_sequence": "",
                "type": "message",
                "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "server_tool_use": {"web_search_requests": 0}, "service_tier": null},
                "content": [{"type": "text", "text": text}],
            },
            "isApiErrorMessage": true,
            "userType": "external",
            "cwd": session.cwd,
            "sessionId": session.session_id,
            "version": "2.1.330",
            "gitBranch": "main",
        })
        .to_string()
    }
}

struct Context {
    session_id: String,
    cwd: String,
}

struct LineFile {
    out: BufWriter<File>,
    lines: Vec<String>,
    keep: bool,
}

impl LineFile {
    fn create(path: &Path, keep: bool) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(Self {
            out: BufWriter::with_capacity(1 << 16, File::create(path)?),
            lines: Vec::new(),
            keep,
        })
    }

    fn write(&mut self, manifest: &mut Manifest, line: String) -> std::io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        manifest.bytes += line.len() as u64 + 1;
        manifest.lines += 1;
        if self.keep {
            self.lines.push(line);
        }
        Ok(())
    }
}

/// Writes a transcript tree under `root` (a Claude folder) and returns its truth.
pub fn generate(root: &Path, options: &GeneratorOptions) -> std::io::Result<Manifest> {
    let mut writer = Writer {
        root,
        rng: ChaCha8Rng::seed_from_u64(options.seed),
        manifest: Manifest::default(),
        message_counter: 0,
        finished: Vec::new(),
    };
    let projects: Vec<String> = (0..6)
        .map(|index| format!("-home-dev-project-{index}"))
        .collect();
    let span_ms = i64::from(options.days.max(1)) * 86_400_000;
    let mut clock = options.start_ms;
    while writer.manifest.bytes < options.target_bytes {
        // Sessions follow each other with pauses, sometimes of many hours.
        clock += if writer.rng.gen_ratio(1, 4) {
            writer.rng.gen_range(6 * 3_600_000..30 * 3_600_000)
        } else {
            writer.rng.gen_range(60_000..3_600_000)
        };
        if clock > options.start_ms + span_ms {
            clock = options.start_ms + writer.rng.gen_range(0..span_ms);
        }
        let project = projects
            .choose(&mut writer.rng)
            .cloned()
            .unwrap_or_default();
        write_session(&mut writer, &project, clock, options.target_bytes)?;
    }
    let manifest = writer.manifest;
    let _ = writer.root;
    Ok(manifest)
}

fn write_session(
    writer: &mut Writer<'_>,
    project: &str,
    start_ms: i64,
    target_bytes: u64,
) -> std::io::Result<()> {
    let session = Context {
        session_id: writer.uuid(),
        cwd: format!("/home/dev/{}", project.trim_start_matches("-home-dev-")),
    };
    let folder = writer.root.join("projects").join(project);
    let path = folder.join(format!("{}.jsonl", session.session_id));
    let mut file = LineFile::create(&path, true)?;
    writer.manifest.files += 1;
    // A resumed session starts with an earlier session's lines, copied as they were.
    if !writer.finished.is_empty() && writer.rng.gen_ratio(1, 5) {
        let index = writer.rng.gen_range(0..writer.finished.len());
        let copied = writer.finished[index].1.clone();
        for line in copied {
            file.write(&mut writer.manifest, line.clone())?;
            if line.contains("\"usage\":{") {
                writer.manifest.usage_lines += 1;
            }
        }
    }
    let mut clock = start_ms;
    let turns = writer.rng.gen_range(3..40);
    let mut main_replies: Vec<(Vec<String>, TokenCounts)> = Vec::new();
    for _ in 0..turns {
        if writer.manifest.bytes >= target_bytes {
            break;
        }
        let prompt = json!({"parentUuid": null, "isSidechain": false, "type": "user", "message": {"role": "user", "content": writer.words(12)}, "uuid": writer.uuid(), "timestamp": iso(clock), "userType": "external", "cwd": session.cwd, "sessionId": session.session_id, "version": "2.1.330", "gitBranch": "main"}).to_string();
        file.write(&mut writer.manifest, prompt)?;
        let other = writer.other_line(&session, clock);
        file.write(&mut writer.manifest, other)?;
        let model = writer.model();
        for _ in 0..writer.rng.gen_range(1..12) {
            clock += writer.rng.gen_range(2_000..90_000);
            if writer.rng.gen_ratio(1, 60) {
                let line = writer.api_error_line(&session, clock);
                file.write(&mut writer.manifest, line)?;
                continue;
            }
            let (lines, _, _, tokens) = writer.reply(&session, &mut clock, false, model);
            for line in &lines {
                file.write(&mut writer.manifest, line.clone())?;
            }
            main_replies.push((lines, tokens));
            let user = writer.user_line(&session, clock, false);
            file.write(&mut writer.manifest, user)?;
            if writer.rng.gen_ratio(1, 25) {
                clock = write_subagent(writer, &folder, &session, clock, &main_replies)?;
            }
        }
        let other = writer.other_line(&session, clock);
        file.write(&mut writer.manifest, other)?;
        clock += writer.rng.gen_range(10_000..600_000);
    }
    file.out.flush()?;
    let lines = std::mem::take(&mut file.lines);
    // Keep a few sessions to resume from, not all (memory).
    if writer.finished.len() < 8 {
        writer.finished.push((session.session_id, lines));
    } else {
        let slot = writer.rng.gen_range(0..writer.finished.len());
        writer.finished[slot] = (session.session_id, lines);
    }
    Ok(())
}

fn write_subagent(
    writer: &mut Writer<'_>,
    folder: &Path,
    session: &Context,
    start_ms: i64,
    main_replies: &[(Vec<String>, TokenCounts)],
) -> std::io::Result<i64> {
    let agent = format!("agent-{:016x}", writer.rng.gen::<u64>());
    let path = folder
        .join(&session.session_id)
        .join("subagents")
        .join(format!("{agent}.jsonl"));
    let mut file = LineFile::create(&path, false)?;
    writer.manifest.files += 1;
    let mut clock = start_ms;
    // Sometimes the subagent log repeats a main-chain reply as a sidechain
    // copy with a bigger count: the main-chain copy must still win.
    if let Some((lines, tokens)) = main_replies.last() {
        if writer.rng.gen_ratio(1, 3) {
            if let Some(last) = lines.last() {
                let inflated = last
                    .replacen("\"isSidechain\":false", "\"isSidechain\":true", 1)
                    .replacen(
                        &format!("\"output_tokens\":{}", tokens.output),
                        &format!("\"output_tokens\":{}", tokens.output + 1000),
                        1,
                    );
                file.write(&mut writer.manifest, inflated)?;
                writer.manifest.usage_lines += 1;
            }
        }
    }
    for _ in 0..writer.rng.gen_range(2..15) {
        clock += writer.rng.gen_range(1_000..30_000);
        let (lines, _, _, _) = writer.reply(session, &mut clock, true, "claude-haiku-4-5-20251001");
        for line in lines {
            file.write(&mut writer.manifest, line)?;
        }
        let user = writer.user_line(session, clock, true);
        file.write(&mut writer.manifest, user)?;
    }
    file.out.flush()?;
    Ok(clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let options = GeneratorOptions {
            target_bytes: 200_000,
            seed: 7,
            ..GeneratorOptions::default()
        };
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let manifest_a = generate(a.path(), &options).unwrap();
        let manifest_b = generate(b.path(), &options).unwrap();
        assert_eq!(manifest_a, manifest_b);
        assert!(manifest_a.bytes >= 200_000);
        let listing = |root: &Path| {
            let mut files = Vec::new();
            let mut stack = vec![root.to_path_buf()];
            while let Some(dir) = stack.pop() {
                for item in std::fs::read_dir(dir).unwrap().flatten() {
                    if item.path().is_dir() {
                        stack.push(item.path());
                    } else {
                        files.push((
                            item.path().strip_prefix(root).unwrap().to_path_buf(),
                            std::fs::read(item.path()).unwrap(),
                        ));
                    }
                }
            }
            files.sort();
            files
        };
        assert_eq!(listing(a.path()), listing(b.path()));
    }
}
