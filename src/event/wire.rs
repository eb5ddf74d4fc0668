//! Claude Code's hook input, exactly as it arrives on stdin.
//!
//! One lenient struct covers every event: each field is optional, unknown
//! fields are skipped, and the tool-specific blobs (`tool_input`,
//! `tool_response`) are skipped without being built, since nothing here
//! needs them and they can be large. These types stay apart from the
//! tool's own [`super::Event`]s so a change in Claude Code's JSON
//! touches only this file.

use serde::de::IgnoredAny;
use serde::Deserialize;

/// The JSON object every hook receives. Field names are Claude Code's.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireHookInput {
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    pub cwd: Option<String>,
    pub hook_event_name: Option<String>,
    pub prompt_id: Option<String>,
    pub permission_mode: Option<String>,
    /// SessionStart: `startup`, `resume`, `clear`, `compact`, `fork`.
    pub source: Option<String>,
    /// SessionStart: a model id string or an object with `id`.
    pub model: Option<WireModel>,
    /// UserPromptSubmit. Not kept: only its arrival matters here.
    pub prompt: Option<IgnoredAny>,
    pub tool_name: Option<String>,
    pub tool_input: Option<IgnoredAny>,
    pub tool_response: Option<IgnoredAny>,
    pub tool_use_id: Option<String>,
    pub duration_ms: Option<f64>,
    pub stop_hook_active: Option<bool>,
    pub last_assistant_message: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub agent_transcript_path: Option<String>,
    /// SessionEnd: `clear`, `resume`, `logout`, `prompt_input_exit`, `other`.
    pub reason: Option<String>,
}

/// `model` is a plain id in some versions and `{"id": ..., "display_name": ...}` in others.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WireModel {
    Id(String),
    Object {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
    },
    Other(IgnoredAny),
}

impl WireModel {
    pub fn id(&self) -> Option<&str> {
        match self {
            WireModel::Id(id) => Some(id),
            WireModel::Object { id, display_name } => id.as_deref().or(display_name.as_deref()),
            WireModel::Other(_) => None,
        }
    }
}

/// Parses a hook payload.
pub fn parse(bytes: &[u8]) -> Result<WireHookInput, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Parses a payload too large to hold, as a stream: the large blobs are
/// skipped as they pass and only the small fields are kept, so memory stays
/// small whatever the size (a Write of a large file).
pub fn parse_stream(reader: impl std::io::Read) -> Result<WireHookInput, serde_json::Error> {
    serde_json::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_odd_shapes_are_tolerated() {
        let input = parse(
            br#"{"session_id":"s","brand_new":{"x":[1,2]},"tool_input":[1,{"a":null}],
                "model":{"id":"claude-x","extra":1},"duration_ms":12.5}"#,
        )
        .unwrap();
        assert_eq!(input.session_id.as_deref(), Some("s"));
        assert_eq!(input.model.unwrap().id(), Some("claude-x"));
        assert_eq!(input.duration_ms, Some(12.5));
    }

    #[test]
    fn a_plain_model_string_is_read() {
        let input = parse(br#"{"model":"opus"}"#).unwrap();
        assert_eq!(input.model.unwrap().id(), Some("opus"));
    }
}
