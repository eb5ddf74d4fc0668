//! The events the tool acts on, built from the wire input.
//!
//! Where the wire format is loose (optional everything), these are strict:
//! a session id is required, paths are paths, and the event kind comes from
//! the hook command line that the installer wrote, which cannot drift.
//!
//! A leaf: the hook reads these, and so do the modules it calls
//! (sessions, pacing, momentum, install), none of which depends on the hook.

pub mod wire;

use std::path::PathBuf;

use wire::WireHookInput;

/// Which hook ran: the kebab-case names of `pace-maker hook <event>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SessionStart,
    UserPromptSubmit,
    PostToolUse,
    Stop,
    SubagentStop,
    SessionEnd,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::SessionStart,
        EventKind::UserPromptSubmit,
        EventKind::PostToolUse,
        EventKind::Stop,
        EventKind::SubagentStop,
        EventKind::SessionEnd,
    ];

    /// The command-line name, `post-tool-use`.
    pub fn cli_name(self) -> &'static str {
        match self {
            EventKind::SessionStart => "session-start",
            EventKind::UserPromptSubmit => "user-prompt-submit",
            EventKind::PostToolUse => "post-tool-use",
            EventKind::Stop => "stop",
            EventKind::SubagentStop => "subagent-stop",
            EventKind::SessionEnd => "session-end",
        }
    }

    /// Claude Code's name, `PostToolUse`.
    pub fn claude_name(self) -> &'static str {
        match self {
            EventKind::SessionStart => "SessionStart",
            EventKind::UserPromptSubmit => "UserPromptSubmit",
            EventKind::PostToolUse => "PostToolUse",
            EventKind::Stop => "Stop",
            EventKind::SubagentStop => "SubagentStop",
            EventKind::SessionEnd => "SessionEnd",
        }
    }

    /// Accepts the kebab-case name (and, leniently, Claude Code's own).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.cli_name() == name || kind.claude_name() == name)
    }
}

/// Who an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    pub session_id: String,
    pub transcript_path: PathBuf,
    pub cwd: PathBuf,
    /// `CLAUDE_PROJECT_DIR` when Claude Code set it, else the cwd.
    pub project_dir: PathBuf,
}

/// A hook event the tool acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    SessionStart {
        session: SessionContext,
        source: String,
        model: Option<String>,
    },
    UserPromptSubmit {
        session: SessionContext,
    },
    PostToolUse {
        session: SessionContext,
        tool_name: String,
        duration_ms: Option<u64>,
    },
    Stop {
        session: SessionContext,
        stop_hook_active: bool,
        last_assistant_message: Option<String>,
    },
    SubagentStop {
        session: SessionContext,
    },
    SessionEnd {
        session: SessionContext,
        reason: String,
    },
}

/// Why a payload could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the payload has no session_id")]
    MissingSessionId,
}

impl Event {
    /// Builds the event for `kind` from a parsed payload.
    pub fn from_wire(
        kind: EventKind,
        wire: WireHookInput,
        project_dir_env: Option<PathBuf>,
    ) -> Result<Self, EventError> {
        let session_id = wire
            .session_id
            .filter(|id| !id.trim().is_empty())
            .ok_or(EventError::MissingSessionId)?;
        let cwd = PathBuf::from(wire.cwd.unwrap_or_default());
        let session = SessionContext {
            session_id,
            transcript_path: PathBuf::from(wire.transcript_path.unwrap_or_default()),
            project_dir: project_dir_env.unwrap_or_else(|| cwd.clone()),
            cwd,
        };
        Ok(match kind {
            EventKind::SessionStart => Event::SessionStart {
                session,
                source: wire.source.unwrap_or_else(|| "startup".into()),
                model: wire.model.as_ref().and_then(|m| m.id()).map(str::to_string),
            },
            EventKind::UserPromptSubmit => Event::UserPromptSubmit { session },
            EventKind::PostToolUse => Event::PostToolUse {
                session,
                tool_name: wire.tool_name.unwrap_or_else(|| "unknown".into()),
                duration_ms: wire
                    .duration_ms
                    .filter(|ms| ms.is_finite() && *ms >= 0.0)
                    .map(|ms| ms.round() as u64),
            },
            EventKind::Stop => Event::Stop {
                session,
                stop_hook_active: wire.stop_hook_active.unwrap_or(false),
                last_assistant_message: wire.last_assistant_message,
            },
            EventKind::SubagentStop => Event::SubagentStop { session },
            EventKind::SessionEnd => Event::SessionEnd {
                session,
                reason: wire.reason.unwrap_or_else(|| "other".into()),
            },
        })
    }

    pub fn session(&self) -> &SessionContext {
        match self {
            Event::SessionStart { session, .. }
            | Event::UserPromptSubmit { session }
            | Event::PostToolUse { session, .. }
            | Event::Stop { session, .. }
            | Event::SubagentStop { session }
            | Event::SessionEnd { session, .. } => session,
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Event::SessionStart { .. } => EventKind::SessionStart,
            Event::UserPromptSubmit { .. } => EventKind::UserPromptSubmit,
            Event::PostToolUse { .. } => EventKind::PostToolUse,
            Event::Stop { .. } => EventKind::Stop,
            Event::SubagentStop { .. } => EventKind::SubagentStop,
            Event::SessionEnd { .. } => EventKind::SessionEnd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::wire;

    #[test]
    fn kinds_round_trip_through_both_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.cli_name()), Some(kind));
            assert_eq!(EventKind::parse(kind.claude_name()), Some(kind));
        }
        assert_eq!(EventKind::parse("pre-compact"), None);
    }

    #[test]
    fn project_dir_prefers_the_environment() {
        let wire = wire::parse(br#"{"session_id":"s","cwd":"/a/b"}"#).unwrap();
        let event = Event::from_wire(EventKind::Stop, wire, Some("/a".into())).unwrap();
        assert_eq!(event.session().project_dir, PathBuf::from("/a"));
        assert_eq!(event.session().cwd, PathBuf::from("/a/b"));
    }

    #[test]
    fn a_missing_session_id_is_an_error() {
        let wire = wire::parse(br#"{"cwd":"/a"}"#).unwrap();
        assert_eq!(
            Event::from_wire(EventKind::Stop, wire, None),
            Err(EventError::MissingSessionId)
        );
    }
}
