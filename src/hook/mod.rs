//! `pace-maker hook <event>`: the entry point Claude Code runs.
//!
//! The order matters. The kill switch is checked before any file is opened
//! (in `lib.rs`). Then config, stdin (bounded), the store and the runtime
//! switch; then the event's bookkeeping in one write transaction; then the
//! event's own work (pacing sleeps, momentum verdicts). Every failure is
//! logged and ends in exit 0 with nothing on stdout: a hook never breaks a
//! Claude Code session. Only a deliberate Stop decision prints a reply.

use std::io::Read;

use anyhow::Context;
use serde_json::json;

use crate::config::Config;
use crate::controls::{self, Control};
use crate::event::{wire, Event, EventKind};
use crate::hook_context::HookContext;
use crate::momentum::StopReply;
use crate::paths::ToolHome;
use crate::sessions;
use crate::store::Store;

/// What the hook prints on stdout (nothing, or one JSON object).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Nothing,
    Json(serde_json::Value),
}

/// Runs one hook in a process that exits next (its store is left open for
/// the exit to release: [`Store::close_at_exit`]). Never fails: errors are
/// logged and become `Reply::Nothing`.
pub fn run(event_name: &str, home: &ToolHome, config: &Config, stdin: &mut dyn Read) -> Reply {
    let started = std::time::Instant::now();
    let Some(kind) = EventKind::parse(event_name) else {
        tracing::info!(
            event = event_name,
            "ignoring an event pace-maker does not handle"
        );
        return Reply::Nothing;
    };
    match run_kind(kind, home, config, stdin, started) {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(event = kind.cli_name(), "hook failed open: {error:#}");
            Reply::Nothing
        }
    }
}

fn run_kind(
    kind: EventKind,
    home: &ToolHome,
    config: &Config,
    stdin: &mut dyn Read,
    started: std::time::Instant,
) -> anyhow::Result<Reply> {
    let (wire, digest) = read_input(stdin, config.hooks.max_stdin_bytes, kind.cli_name())?;
    let seen = Seen {
        digest,
        program: program_identity(),
    };
    let project_env = crate::paths::env(crate::paths::ENV_CLAUDE_PROJECT_DIR).map(Into::into);
    let event = Event::from_wire(kind, wire, project_env)?;

    let now_ms = crate::clock::now_ms();
    if let Event::PostToolUse {
        session,
        tool_name,
        duration_ms,
    } = &event
    {
        if took_a_pass(
            home,
            config,
            session,
            tool_name,
            *duration_ms,
            &seen,
            now_ms,
        ) {
            return Ok(Reply::Nothing);
        }
    }
    let mut store = crate::pacing::spool::open_home(home, config)?;
    let control = match bookkeeping(&mut store, config, &event, &seen, now_ms) {
        Ok(Some(control)) => control,
        Ok(None) => return Ok(duplicate(kind)),
        // Damage inside the file (a page of a table, not the header) shows
        // only when that page is touched: move the store aside and start
        // a new one, or every later hook would fail the same way.
        Err(error) if crate::store::is_corruption(&error) => {
            tracing::warn!("the store is damaged inside: {error:#}");
            store = store.recover()?;
            match bookkeeping(&mut store, config, &event, &seen, now_ms)? {
                Some(control) => control,
                None => return Ok(duplicate(kind)),
            }
        }
        Err(error) => return Err(error),
    };
    if control == Control::Off {
        return Ok(Reply::Nothing);
    }
    crate::paths::test_panic("hook");
    let mut context = HookContext {
        home,
        config,
        store: &mut store,
        control,
        now_ms,
        started,
    };
    let reply = respond(&mut context, &event);
    store.close_at_exit();
    reply
}

/// The fast path of a PostToolUse: when the session holds a no-delay pass
/// (`pacing::pass`), the call goes to the spool and the store is not
/// opened. False means the full path: no pass, or the spool refused it.
fn took_a_pass(
    home: &ToolHome,
    config: &Config,
    session: &crate::event::SessionContext,
    tool_name: &str,
    duration_ms: Option<u64>,
    seen: &Seen,
    now_ms: i64,
) -> bool {
    use crate::pacing::{pass, spool};
    if !config.pacing.enabled {
        return false;
    }
    let fast_dir = home.fast_dir();
    let Some(pass) = pass::read(&fast_dir, &session.session_id) else {
        return false;
    };
    if !pass.holds(now_ms, pass::fingerprint(config)) {
        return false;
    }
    let call = spool::SpooledCall {
        at_ms: now_ms,
        digest: seen.digest,
        program: seen.program.clone(),
        session_id: session.session_id.clone(),
        transcript_path: session.transcript_path.clone(),
        cwd: session.cwd.clone(),
        project_dir: session.project_dir.clone(),
        tool_name: tool_name.to_string(),
        duration_ms,
        pass_granted_at_ms: pass.granted_at_ms,
        pass_until_ms: pass.until_ms,
        pass_window: pass.window,
    };
    match spool::write(&fast_dir, &call) {
        Ok(()) => true,
        Err(error) => {
            tracing::debug!("the spool refused the call ({error}): the full path takes it");
            false
        }
    }
}

/// The most a hook streams through past `hooks.max_stdin_bytes`.
const MAX_STREAMED_BYTES: u64 = 1 << 30;

/// Reads and parses the hook input. Up to `limit` bytes it is read whole;
/// past it (a Write of a large file) the rest is parsed as a stream that
/// keeps only the small fields, so the event still counts, and memory stays
/// at `limit`. Past [`MAX_STREAMED_BYTES`] it is refused.
fn read_input(
    stdin: &mut dyn Read,
    limit: u64,
    event: &str,
) -> anyhow::Result<(wire::WireHookInput, i64)> {
    let shape = "the hook input is not a JSON object of the expected shape";
    let bytes = read_bounded(stdin, limit)?;
    let digest = input_digest(event, &bytes);
    if bytes.len() as u64 <= limit {
        return Ok((wire::parse(&bytes).context(shape)?, digest));
    }
    tracing::debug!(
        "the hook input exceeds {limit} bytes (hooks.max_stdin_bytes): read as a stream, its large fields skipped"
    );
    let rest = stdin.take(MAX_STREAMED_BYTES);
    let wire = wire::parse_stream(std::io::Cursor::new(bytes).chain(rest)).context(shape)?;
    Ok((wire, digest))
}

/// One hook input as this process took it: its digest and who ran it
/// ([`program_identity`]).
struct Seen {
    digest: i64,
    program: String,
}

/// Who ran this hook, to tell two installations apart: the program Claude
/// Code ran (`argv[0]`, as a settings command or the plugin's launcher
/// wrote it), and for the plugin's hooks the plugin's folder. The plugin
/// runs the very binary a settings entry may call, and Claude Code sets
/// `CLAUDE_PLUGIN_ROOT` for a plugin's hooks only.
fn program_identity() -> String {
    let program = std::env::args_os()
        .next()
        .map(|program| program.to_string_lossy().into_owned())
        .unwrap_or_default();
    match crate::paths::env(crate::paths::ENV_CLAUDE_PLUGIN_ROOT) {
        Some(root) => format!("{program} (plugin {root})"),
        None => program,
    }
}

/// A digest of one hook input (FNV-1a, 64 bits, over the event's name and
/// the bytes held): the same for the same event, whichever binary reads it.
fn input_digest(event: &str, bytes: &[u8]) -> i64 {
    crate::digest::Fnv1a::new()
        .write(event.as_bytes())
        .write(&[0])
        .write(bytes)
        .finish() as i64
}

/// The reply of a second installation's run of an event: nothing, logged.
fn duplicate(kind: EventKind) -> Reply {
    tracing::info!(
        event = kind.cli_name(),
        "another pace-maker command already took this event (installed through two paths; see `pace-maker doctor`): counted once"
    );
    Reply::Nothing
}

/// Reads stdin up to `limit` bytes and one more, which tells the caller it
/// went on (the rest is left unread).
fn read_bounded(stdin: &mut dyn Read, limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(4096);
    stdin
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .context("cannot read the hook input")?;
    Ok(bytes)
}

/// The switch, and unless it is off, the event's bookkeeping. `None` when
/// another installation's run already took this very input.
fn bookkeeping(
    store: &mut Store,
    config: &Config,
    event: &Event,
    seen: &Seen,
    now_ms: i64,
) -> anyhow::Result<Option<Control>> {
    let control = controls::read(store.connection(), now_ms)?;
    if control != Control::Off && !record(store, config, event, seen, now_ms)? {
        return Ok(None);
    }
    Ok(Some(control))
}

/// The event's bookkeeping, in one transaction; false (and nothing else
/// written) when another program already took this input.
fn record(
    store: &mut Store,
    config: &Config,
    event: &Event,
    seen: &Seen,
    now_ms: i64,
) -> anyhow::Result<bool> {
    let hour_ms = 3_600_000i64;
    let store_config = &config.store;
    store
        .write(|transaction| {
            if sessions::seen_from_another_program(transaction, seen.digest, &seen.program, now_ms)?
            {
                return Ok(false);
            }
            let session = event.session();
            sessions::record_hook_event(
                transaction,
                &session.session_id,
                event.kind().cli_name(),
                now_ms,
            )?;
            match event {
                Event::SessionStart { source, model, .. } => {
                    sessions::start(transaction, session, source, model.as_deref(), now_ms)?;
                }
                Event::UserPromptSubmit { .. } => {
                    sessions::record_prompt(transaction, session, now_ms)?
                }
                Event::PostToolUse {
                    tool_name,
                    duration_ms,
                    ..
                } => sessions::record_tool_call(
                    transaction,
                    session,
                    tool_name,
                    *duration_ms,
                    now_ms,
                )?,
                Event::Stop { .. } | Event::SubagentStop { .. } => {
                    sessions::touch(transaction, session, now_ms)?
                }
                Event::SessionEnd { reason, .. } => {
                    sessions::end(transaction, session, reason, now_ms)?
                }
            }
            if matches!(event, Event::SessionStart { .. } | Event::SessionEnd { .. }) {
                let pruned = crate::retention::prune_if_due(
                    transaction,
                    now_ms,
                    store_config.prune_interval_minutes as i64 * 60_000,
                    store_config.session_idle_hours as i64 * hour_ms,
                    store_config.history_days as i64 * 24 * hour_ms,
                )?;
                if let Some(pruned) = pruned {
                    tracing::debug!(
                        sessions = pruned.sessions,
                        rows = pruned.rows,
                        "pruned the store"
                    );
                }
            }
            Ok(true)
        })
        .map_err(Into::into)
}

/// The event's own work after bookkeeping.
fn respond(context: &mut HookContext<'_>, event: &Event) -> anyhow::Result<Reply> {
    match event {
        Event::PostToolUse {
            session,
            duration_ms,
            ..
        } => {
            let refresh =
                crate::usage::poll::refresh_if_stale(context.config, context.store, context.now_ms);
            let poll_due_ms = refresh.and_then(|refresh| {
                refresh.next_due_ms(
                    context.now_ms,
                    context.config.usage.poll_interval_seconds as i64 * 1000,
                )
            });
            let message =
                crate::pacing::apply::post_tool_use(context, session, *duration_ms, poll_due_ms)?;
            Ok(message.map_or(Reply::Nothing, |message| {
                Reply::Json(json!({ "systemMessage": message }))
            }))
        }
        Event::SessionStart { .. } => {
            let text = crate::momentum::on_session_start(context, event)?;
            Ok(text.map_or(Reply::Nothing, |text| {
                Reply::Json(json!({
                    "hookSpecificOutput": {
                        "hookEventName": "SessionStart",
                        "additionalContext": text,
                    }
                }))
            }))
        }
        Event::Stop { .. } => Ok(match crate::momentum::on_stop(context, event)? {
            StopReply::Allow => Reply::Nothing,
            StopReply::AllowSaying(message) => Reply::Json(json!({ "systemMessage": message })),
            StopReply::Block(reason) => {
                Reply::Json(json!({ "decision": "block", "reason": reason }))
            }
        }),
        Event::UserPromptSubmit { .. } | Event::SubagentStop { .. } | Event::SessionEnd { .. } => {
            Ok(Reply::Nothing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_past_the_limit_is_still_read_for_its_small_fields() {
        let big = "x".repeat(5000);
        let input = format!(
            r#"{{"session_id":"s","tool_name":"Write","tool_input":{{"content":"{big}"}},"hook_event_name":"PostToolUse","tool_response":"{big}","duration_ms":12}}"#
        );
        let (small, first) = read_input(&mut input.as_bytes(), 1 << 20, "post-tool-use").unwrap();
        let (streamed, _) = read_input(&mut input.as_bytes(), 100, "post-tool-use").unwrap();
        let (_, again) = read_input(&mut input.as_bytes(), 1 << 20, "post-tool-use").unwrap();
        let (_, as_stop) = read_input(&mut input.as_bytes(), 1 << 20, "stop").unwrap();
        assert_eq!(first, again, "one input, one digest");
        assert_ne!(first, as_stop, "the event is part of it");
        for wire in [small, streamed] {
            assert_eq!(wire.session_id.as_deref(), Some("s"));
            assert_eq!(wire.tool_name.as_deref(), Some("Write"));
            assert_eq!(wire.hook_event_name.as_deref(), Some("PostToolUse"));
            assert_eq!(wire.duration_ms, Some(12.0));
        }
        assert!(read_input(&mut &b"{\"session_id\": \"s\", oops"[..], 5, "stop").is_err());
    }
}
