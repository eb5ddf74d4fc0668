//! A scripted stand-in for the Anthropic Messages API, for the real CLI.
//!
//! Claude Code streams `POST /v1/messages?beta=true` as server-sent events
//! (`message_start`, `content_block_start`, `content_block_delta`,
//! `content_block_stop`, `message_delta`, `message_stop`), reads a
//! `request-id` header, and takes the subscription's rate-limit figures
//! from `anthropic-ratelimit-unified-*` headers. A scenario scripts the
//! assistant as a function of the conversation so far (the request body),
//! not of a request counter: that way a retry or an extra request cannot
//! shift the script, and a script can react to what a hook injected (the
//! Stop hook's feedback arrives as a user message). Every request is kept
//! for assertions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::http::{Body, Request, Response, Server};

/// One content block of a scripted assistant reply.
#[derive(Debug, Clone)]
pub enum Block {
    Text(String),
    ToolUse { name: String, input: Value },
}

/// One scripted assistant reply. With a tool call in it Claude Code runs
/// the tool and asks again; without one the turn ends (and Stop hooks run).
#[derive(Debug, Clone)]
pub struct Turn {
    pub blocks: Vec<Block>,
    /// Instead of a reply: the subscription's usage limit, reset at this
    /// epoch second (HTTP 429, `anthropic-ratelimit-unified-status:
    /// rejected`, as the real API answers a full 5-hour window).
    pub usage_limit_until: Option<i64>,
}

impl Turn {
    /// The usage-limit error until `resets_at` (epoch seconds).
    pub fn usage_limit(resets_at: i64) -> Self {
        Self {
            blocks: Vec::new(),
            usage_limit_until: Some(resets_at),
        }
    }

    /// A reply that is only text: the end of a turn.
    pub fn text(text: &str) -> Self {
        Self {
            blocks: vec![Block::Text(text.to_string())],
            usage_limit_until: None,
        }
    }

    /// A reply that calls one tool.
    pub fn tool(name: &str, input: Value) -> Self {
        Self {
            blocks: vec![Block::ToolUse {
                name: name.to_string(),
                input,
            }],
            usage_limit_until: None,
        }
    }

    /// A shell command through the Bash tool.
    pub fn bash(command: &str) -> Self {
        Self::tool(
            "Bash",
            json!({"command": command, "description": "Run a scripted command"}),
        )
    }

    fn stop_reason(&self) -> &'static str {
        if self
            .blocks
            .iter()
            .any(|block| matches!(block, Block::ToolUse { .. }))
        {
            "tool_use"
        } else {
            "end_turn"
        }
    }
}

/// The `anthropic-ratelimit-unified-*` figures sent with every reply.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// 0..1, as the real headers carry it.
    pub five_hour_utilization: f64,
    /// Epoch seconds.
    pub five_hour_reset: i64,
    pub seven_day_utilization: f64,
    pub seven_day_reset: i64,
}

impl RateLimits {
    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        for (window, utilization, reset) in [
            ("5h", self.five_hour_utilization, self.five_hour_reset),
            ("7d", self.seven_day_utilization, self.seven_day_reset),
        ] {
            let prefix = format!("anthropic-ratelimit-unified-{window}");
            headers.push((format!("{prefix}-utilization"), utilization.to_string()));
            headers.push((format!("{prefix}-reset"), reset.to_string()));
            headers.push((format!("{prefix}-status"), "allowed".to_string()));
        }
        headers.push((
            "anthropic-ratelimit-unified-status".to_string(),
            "allowed".to_string(),
        ));
        headers.push((
            "anthropic-ratelimit-unified-reset".to_string(),
            self.five_hour_reset.to_string(),
        ));
        headers.push((
            "anthropic-ratelimit-unified-representative-claim".to_string(),
            "five_hour".to_string(),
        ));
        headers
    }
}

/// The conversation a request carries, for scripts to look at.
pub struct Conversation<'a> {
    pub body: &'a Value,
}

impl Conversation<'_> {
    /// The `messages` array.
    pub fn messages(&self) -> &[Value] {
        self.body["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// How many assistant replies the conversation already holds: the
    /// index of the reply being asked for.
    pub fn assistant_turns(&self) -> usize {
        self.messages()
            .iter()
            .filter(|message| message["role"] == "assistant")
            .count()
    }

    /// Whether any message (of any role) contains `needle` in its text.
    pub fn mentions(&self, needle: &str) -> bool {
        self.messages()
            .iter()
            .any(|message| message_text(message).contains(needle))
    }
}

/// All text of one message: plain string content, text blocks and tool results.
pub fn message_text(message: &Value) -> String {
    fn collect(value: &Value, out: &mut String) {
        match value {
            Value::String(text) => {
                out.push_str(text);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            Value::Object(object) => {
                for key in ["text", "content"] {
                    if let Some(inner) = object.get(key) {
                        collect(inner, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    collect(&message["content"], &mut out);
    out
}

/// A script: the next assistant reply for a conversation.
pub type Script = dyn Fn(&Conversation<'_>) -> Turn + Send + Sync;

/// A script that plays `turns` in order, one per assistant reply, and
/// repeats the last one if asked for more.
pub fn sequence(turns: Vec<Turn>) -> impl Fn(&Conversation<'_>) -> Turn + Send + Sync {
    assert!(!turns.is_empty(), "a script needs at least one turn");
    move |conversation| {
        let index = conversation.assistant_turns().min(turns.len() - 1);
        turns[index].clone()
    }
}

/// The running stand-in.
pub struct MessagesApi {
    server: Server,
    state: Arc<Mutex<State>>,
}

struct State {
    script: Arc<Script>,
    rate_limits: Option<RateLimits>,
}

impl MessagesApi {
    /// Starts the stand-in on 127.0.0.1 with a script and, optionally,
    /// rate-limit headers on every reply.
    pub fn start(
        script: impl Fn(&Conversation<'_>) -> Turn + Send + Sync + 'static,
        rate_limits: Option<RateLimits>,
    ) -> Self {
        let state = Arc::new(Mutex::new(State {
            script: Arc::new(script),
            rate_limits,
        }));
        let counter = Arc::new(AtomicU64::new(0));
        let shared = Arc::clone(&state);
        let server = Server::start(move |request| {
            let (script, rate_limits) = {
                let state = shared.lock().unwrap();
                (Arc::clone(&state.script), state.rate_limits)
            };
            respond(request, &*script, rate_limits.as_ref(), &counter)
        });
        Self { server, state }
    }

    /// Replaces the script for the requests that follow.
    pub fn set_script(&self, script: impl Fn(&Conversation<'_>) -> Turn + Send + Sync + 'static) {
        self.state.lock().unwrap().script = Arc::new(script);
    }

    /// Sends (or stops sending) rate-limit headers from now on.
    pub fn set_rate_limits(&self, rate_limits: Option<RateLimits>) {
        self.state.lock().unwrap().rate_limits = rate_limits;
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every request received, in order (any path).
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// The bodies of the conversation requests (`POST /v1/messages`), in order.
    pub fn conversation_bodies(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter(|request| request.method == "POST" && request.path() == "/v1/messages")
            .map(Request::json)
            .collect()
    }
}

fn respond(
    request: &Request,
    script: &Script,
    rate_limits: Option<&RateLimits>,
    counter: &AtomicU64,
) -> Response {
    let number = counter.fetch_add(1, Ordering::Relaxed) + 1;
    let request_id = format!("req_e2e_{number:04}");
    let response = match (request.method.as_str(), request.path()) {
        ("POST", "/v1/messages") => {
            let body = request.json();
            let turn = script(&Conversation { body: &body });
            let model = body["model"].as_str().unwrap_or("claude-e2e").to_string();
            if let Some(resets_at) = turn.usage_limit_until {
                return usage_limit_reply(resets_at).with_header("request-id", request_id);
            }
            if body["stream"] == Value::Bool(true) {
                stream_reply(&turn, &model, number)
            } else {
                Response::json(200, &whole_reply(&turn, &model, number))
            }
        }
        ("POST", "/v1/messages/count_tokens") => Response::json(200, &json!({"input_tokens": 100})),
        _ => Response::json(
            404,
            &json!({"type": "error", "error": {"type": "not_found_error", "message": "not scripted"}}),
        ),
    };
    let mut response = response.with_header("request-id", request_id);
    if let Some(limits) = rate_limits {
        response.headers.extend(limits.headers());
    }
    response
}

/// The 429 the API gives when the subscription's 5-hour window is full.
fn usage_limit_reply(resets_at: i64) -> Response {
    let mut response = Response::json(
        429,
        &json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "This request would exceed your account's rate limit. Please try again later."}}),
    );
    let reset = resets_at.to_string();
    for (name, value) in [
        ("anthropic-ratelimit-unified-status", "rejected"),
        ("anthropic-ratelimit-unified-reset", reset.as_str()),
        (
            "anthropic-ratelimit-unified-representative-claim",
            "five_hour",
        ),
        ("anthropic-ratelimit-unified-5h-status", "rejected"),
        ("anthropic-ratelimit-unified-5h-utilization", "1.0"),
        ("anthropic-ratelimit-unified-5h-reset", reset.as_str()),
        ("anthropic-ratelimit-unified-7d-status", "allowed"),
        ("anthropic-ratelimit-unified-7d-utilization", "0.3"),
    ] {
        response = response.with_header(name, value.to_string());
    }
    response
}

fn usage(number: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": 100 * number,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 1000,
        "output_tokens": output_tokens,
        "service_tier": "standard"
    })
}

fn block_json(block: &Block, number: u64, index: usize) -> Value {
    match block {
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::ToolUse { name, input } => json!({
            "type": "tool_use",
            "id": format!("toolu_e2e_{number:04}_{index}"),
            "name": name,
            "input": input
        }),
    }
}

fn whole_reply(turn: &Turn, model: &str, number: u64) -> Value {
    json!({
        "id": format!("msg_e2e_{number:04}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": turn.blocks.iter().enumerate().map(|(index, block)| block_json(block, number, index)).collect::<Vec<_>>(),
        "stop_reason": turn.stop_reason(),
        "stop_sequence": null,
        "usage": usage(number, 20)
    })
}

fn stream_reply(turn: &Turn, model: &str, number: u64) -> Response {
    let mut events = Vec::new();
    let mut event = |name: &str, data: Value| {
        events.push(format!("event: {name}\ndata: {data}\n\n").into_bytes());
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_e2e_{number:04}"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage(number, 1)
        }}),
    );
    for (index, block) in turn.blocks.iter().enumerate() {
        match block {
            Block::Text(text) => {
                event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
                );
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
                );
            }
            Block::ToolUse { name, input } => {
                event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": {
                        "type": "tool_use",
                        "id": format!("toolu_e2e_{number:04}_{index}"),
                        "name": name,
                        "input": {}
                    }}),
                );
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
                );
            }
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": turn.stop_reason(), "stop_sequence": null}, "usage": {"output_tokens": 20}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    Response {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/event-stream".into()),
            ("cache-control".into(), "no-cache".into()),
        ],
        body: Body::Stream(events),
    }
}
