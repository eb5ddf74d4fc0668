//! The Stop verdict: let the session stop, or send it back to work.
//!
//! A pure function of everything the hook gathered (the spec as it is now,
//! the last assistant message, facts from the transcript's end, the
//! session's counters, the limits and `now`), returning the decision and
//! the counters to store. Keeping it pure is what lets the table below
//! prove that it never loops: every path that blocks moves a counter
//! towards a breaker, and every breaker allows.
//!
//! The order of the rules matters and is the policy:
//! 1. no mission, a missing or unreadable spec, or a spec without criteria:
//!    nothing to enforce, allow;
//! 2. every criterion ticked, and every check of a ticked criterion
//!    passed: allow (the criteria rule; the complete phrase alone never
//!    ends a mission with open criteria). A ticked criterion whose check
//!    did not pass counts as open: its tick is taken back in the verdict,
//!    never in the file;
//! 3. the session ended on an API error (usage limit, context exhausted,
//!    anything else Claude Code gave up on): blocking would only retry it;
//! 4. the escape hatch: the blocked phrase followed by a reason;
//! 5. the breakers: N blocks in a row without tool use between them, M
//!    blocks in the session, T minutes of blocking with no criterion ticked;
//! 6. otherwise block, listing the open criteria.

use super::check_store::Outcome;
use super::checks::{Unmet, Why};
use super::spec::Spec;
use super::transcript_tail::{self, ApiError, TranscriptFacts};

/// How many open criteria a block reason lists by name.
pub const LISTED_CRITERIA: usize = 10;
/// Longest criterion text quoted in a reason, in characters.
const QUOTED_CRITERION_CHARS: usize = 200;

pub use crate::sessions::Counters;

/// The breakers' limits (from config `momentum.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    pub max_consecutive_blocks: u32,
    pub max_blocks_per_session: u32,
    pub max_blocking_ms: i64,
}

/// The phrases the assistant uses to declare the mission's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phrases<'a> {
    pub complete: &'a str,
    pub blocked: &'a str,
}

/// The spec as the hook found it at this Stop.
#[derive(Debug, Clone, Copy)]
pub enum SpecState<'a> {
    Missing,
    Unreadable,
    Parsed(&'a Spec),
}

/// The project's attached epic.
#[derive(Debug, Clone, Copy)]
pub struct Mission<'a> {
    pub spec_path: &'a str,
    pub spec: SpecState<'a>,
}

/// Everything the verdict depends on.
#[derive(Debug, Clone, Copy)]
pub struct StopInput<'a> {
    /// `None`: no epic attached, momentum disabled or paused.
    pub mission: Option<Mission<'a>>,
    /// The hook input's `last_assistant_message`; the transcript's when absent.
    pub last_assistant_message: Option<&'a str>,
    pub transcript: &'a TranscriptFacts,
    pub counters: Counters,
    pub limits: BlockLimits,
    pub phrases: Phrases<'a>,
    pub now_ms: i64,
    /// The checks of ticked criteria that did not pass at this stop (empty
    /// without checks).
    pub checks: &'a [Unmet],
}

/// Why a stop is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    NoMission,
    SpecMissing,
    SpecUnreadable,
    NoCriteria,
    AllCriteriaMet,
    UsageLimit { resets_at: Option<i64> },
    ContextExhausted,
    ApiError { text: String },
    DeclaredBlocked { reason: String },
    ConsecutiveBlocks { blocks: i64 },
    SessionBlocks { blocks: i64 },
    BlockingTime { minutes: i64 },
}

impl Allow {
    /// A breaker let the stop through while criteria are open: the person
    /// should hear about it.
    pub fn is_breaker(&self) -> bool {
        matches!(
            self,
            Allow::ConsecutiveBlocks { .. }
                | Allow::SessionBlocks { .. }
                | Allow::BlockingTime { .. }
        )
    }

    /// One line for the log and for the person.
    pub fn describe(&self) -> String {
        match self {
            Allow::NoMission => "no mission".into(),
            Allow::SpecMissing => "the spec file is missing".into(),
            Allow::SpecUnreadable => "the spec file cannot be read".into(),
            Allow::NoCriteria => "the spec has no acceptance criteria".into(),
            Allow::AllCriteriaMet => "every acceptance criterion is ticked".into(),
            Allow::UsageLimit { resets_at: Some(at) } => format!(
                "the usage limit was reached (resets {})",
                crate::clock::iso(at.saturating_mul(1000))
            ),
            Allow::UsageLimit { resets_at: None } => "the usage limit was reached".into(),
            Allow::ContextExhausted => "the context window is exhausted".into(),
            Allow::ApiError { text } => format!("the session ended on an API error: {text}"),
            Allow::DeclaredBlocked { reason } => format!("the assistant declared itself blocked: {reason}"),
            Allow::ConsecutiveBlocks { blocks } => {
                format!("{blocks} stops in a row were blocked without any tool use between them (momentum.max_consecutive_blocks)")
            }
            Allow::SessionBlocks { blocks } => {
                format!("{blocks} stops were blocked in this session (momentum.max_blocks_per_session)")
            }
            Allow::BlockingTime { minutes } => format!(
                "stops have been blocked for {minutes} min without a criterion being ticked (momentum.max_blocking_minutes)"
            ),
        }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopDecision {
    Allow(Allow),
    Block { reason: String },
}

/// The decision and the counters to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopVerdict {
    pub decision: StopDecision,
    pub counters: Counters,
}

/// What the last message says about the mission's end.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Declaration {
    None,
    Complete,
    Blocked { reason: String },
    BlockedWithoutReason,
}

/// Decides one Stop.
pub fn decide(input: &StopInput<'_>) -> StopVerdict {
    let unchanged = |allow: Allow| StopVerdict {
        decision: StopDecision::Allow(allow),
        counters: input.counters,
    };
    let Some(mission) = input.mission else {
        return unchanged(Allow::NoMission);
    };
    let spec = match mission.spec {
        SpecState::Missing => return unchanged(Allow::SpecMissing),
        SpecState::Unreadable => return unchanged(Allow::SpecUnreadable),
        SpecState::Parsed(spec) => spec,
    };

    let before = input.counters;
    let open = (spec.open() + unmet_criteria(input.checks)) as i64;
    let mut next = before;
    next.last_open_criteria = Some(open);
    let tool_use_since_last_block = match before.tool_calls_at_last_block {
        None => true,
        Some(at_block) => {
            before.tool_calls > at_block || input.transcript.tool_use_since_feedback == Some(true)
        }
    };
    if tool_use_since_last_block {
        next.consecutive_blocks = 0;
    }
    let criterion_ticked = before.last_open_criteria.is_some_and(|last| open < last);
    if criterion_ticked {
        next.blocking_since = None;
    }
    // Any allowed stop ends the current run of blocking.
    let allow = |mut counters: Counters, allow: Allow| {
        counters.blocking_since = None;
        StopVerdict {
            decision: StopDecision::Allow(allow),
            counters,
        }
    };

    if spec.total() == 0 {
        return allow(next, Allow::NoCriteria);
    }
    if open == 0 {
        next.consecutive_blocks = 0;
        return allow(next, Allow::AllCriteriaMet);
    }
    let message = input
        .last_assistant_message
        .or(input.transcript.last_assistant_text.as_deref())
        .unwrap_or("");
    // The transcript can lag behind the hook input: an error that is only
    // in `last_assistant_message` counts too, when it has the exact shape.
    let api_error = input
        .transcript
        .api_error
        .clone()
        .or_else(|| transcript_tail::error_in_message(message));
    match api_error {
        Some(ApiError::UsageLimit { resets_at }) => {
            return allow(next, Allow::UsageLimit { resets_at })
        }
        Some(ApiError::ContextExhausted) => return allow(next, Allow::ContextExhausted),
        Some(ApiError::Other { text }) => return allow(next, Allow::ApiError { text }),
        None => {}
    }
    let declaration = declaration(message, input.phrases);
    if let Declaration::Blocked { reason } = &declaration {
        return allow(
            next,
            Allow::DeclaredBlocked {
                reason: reason.clone(),
            },
        );
    }
    let limits = input.limits;
    if before.momentum_blocks >= i64::from(limits.max_blocks_per_session) {
        return allow(
            next,
            Allow::SessionBlocks {
                blocks: before.momentum_blocks,
            },
        );
    }
    if next.consecutive_blocks >= i64::from(limits.max_consecutive_blocks) {
        return allow(
            next,
            Allow::ConsecutiveBlocks {
                blocks: next.consecutive_blocks,
            },
        );
    }
    if let Some(since) = next.blocking_since {
        let blocking_ms = input.now_ms.saturating_sub(since);
        if blocking_ms >= limits.max_blocking_ms {
            return allow(
                next,
                Allow::BlockingTime {
                    minutes: blocking_ms / 60_000,
                },
            );
        }
    }

    next.momentum_blocks += 1;
    next.consecutive_blocks += 1;
    next.tool_calls_at_last_block = Some(before.tool_calls);
    next.blocking_since = Some(next.blocking_since.unwrap_or(input.now_ms));
    next.last_block_at = Some(input.now_ms);
    StopVerdict {
        decision: StopDecision::Block {
            reason: block_reason(
                mission.spec_path,
                spec,
                input.checks,
                &declaration,
                input.phrases,
            ),
        },
        counters: next,
    }
}

/// Reads the phrases in the last message. The blocked phrase needs a
/// reason after it (on its line, or the next non-empty one) that has at
/// least one letter or digit.
fn declaration(message: &str, phrases: Phrases<'_>) -> Declaration {
    if let Some(index) = message.rfind(phrases.blocked) {
        let after = &message[index + phrases.blocked.len()..];
        let reason = after
            .lines()
            .map(|line| line.trim().trim_matches(['`', '*', '_']).trim())
            .find(|line| !line.is_empty())
            .unwrap_or("");
        // The placeholder from the instructions, echoed back, is no reason.
        let placeholder = reason.trim_end_matches(['`', '.']) == "<the reason>";
        return if reason.chars().any(char::is_alphanumeric) && !placeholder {
            Declaration::Blocked {
                reason: reason.chars().take(QUOTED_CRITERION_CHARS).collect(),
            }
        } else {
            Declaration::BlockedWithoutReason
        };
    }
    if message.contains(phrases.complete) {
        return Declaration::Complete;
    }
    Declaration::None
}

/// How many criteria the unmet checks take back (a criterion with two
/// failing checks counts once).
fn unmet_criteria(checks: &[Unmet]) -> usize {
    let mut seen: Vec<(&str, Option<usize>)> = Vec::new();
    for unmet in checks {
        let key = (unmet.criterion.as_str(), unmet.line);
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen.len()
}

/// A criterion's text as quoted in a reason.
fn quoted(text: &str) -> String {
    let mut quoted: String = text.chars().take(QUOTED_CRITERION_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push_str("...");
    }
    quoted
}

/// The output lines quoted under a failed check in a reason.
pub const QUOTED_OUTPUT_LINES: usize = 15;

/// The text Claude receives as `Stop hook feedback`.
fn block_reason(
    spec_path: &str,
    spec: &Spec,
    checks: &[Unmet],
    declaration: &Declaration,
    phrases: Phrases<'_>,
) -> String {
    let unticked = spec.open();
    let open = unticked + unmet_criteria(checks);
    let mut reason = format!(
        "pace-maker: the mission is not finished. {open} of {} acceptance criteria in {spec_path} are still open:\n",
        spec.total()
    );
    for criterion in spec.open_criteria().take(LISTED_CRITERIA) {
        let text = quoted(&criterion.text);
        reason.push_str(&format!("- [ ] {text} (line {})\n", criterion.line));
    }
    if unticked > LISTED_CRITERIA {
        reason.push_str(&format!(
            "- ... and {} more (see the file)\n",
            unticked - LISTED_CRITERIA
        ));
    }
    let mut listed: Vec<(&str, Option<usize>)> = Vec::new();
    for unmet in checks {
        let key = (unmet.criterion.as_str(), unmet.line);
        if listed.contains(&key) {
            continue;
        }
        listed.push(key);
        let text = quoted(&unmet.criterion);
        match (unmet.why.is_missing(), unmet.line) {
            (true, _) | (_, None) => {
                reason.push_str(&format!("- [?] {text} (no longer in the spec)\n"))
            }
            (false, Some(line)) => reason.push_str(&format!(
                "- [x] {text} (line {line}): ticked, but its check did not pass\n"
            )),
        }
    }
    for unmet in checks {
        reason.push('\n');
        reason.push_str(&describe_unmet(unmet));
    }
    reason.push('\n');
    match declaration {
        Declaration::Complete if !checks.is_empty() => reason.push_str(&format!(
            "You wrote \"{}\", but a mission is complete only when every criterion is ticked in the spec and every check of a ticked criterion passes: the phrase alone does not end it.\n",
            phrases.complete
        )),
        Declaration::Complete => reason.push_str(&format!(
            "You wrote \"{}\", but a mission is complete only when every criterion is ticked in the spec: the phrase alone does not end it while criteria are open. If they are done, tick them; if not, keep working.\n",
            phrases.complete
        )),
        Declaration::BlockedWithoutReason => reason.push_str(&format!(
            "You wrote \"{}\" without a reason: the reason must follow the phrase.\n",
            phrases.blocked
        )),
        Declaration::None | Declaration::Blocked { .. } => {}
    }
    if !checks.is_empty() {
        reason.push_str(
            "A ticked criterion counts only once its check passes. Make the check pass (run its command yourself to see all of its output), then stop again: the checks run again once the project has changed.\n",
        );
    }
    if unticked > 0 {
        reason.push_str(
            "Next: take the first open criterion, do the work and verify it (run the tests, check the result), then tick it in the spec by changing `- [ ]` to `- [x]`. Go on until every criterion is ticked; the stop is allowed then.\n",
        );
    }
    reason.push_str(&format!(
        "If you cannot go on without a person (missing access, a decision only they can make), end your reply with `{} <the reason>`.",
        phrases.blocked
    ));
    reason
}

/// One unmet check, for the model: which criterion, which command, what
/// happened and the end of its output.
fn describe_unmet(unmet: &Unmet) -> String {
    let text = quoted(&unmet.criterion);
    let line = unmet
        .line
        .map(|line| format!(" (line {line})"))
        .unwrap_or_default();
    let taken_back = "its tick is taken back in this verdict (the spec file is left as it is)";
    let command = &unmet.command;
    match &unmet.why {
        Why::Missing => format!(
            "The criterion \"{text}\" had the check `{command}` when the person attached the epic, and it is no longer in the spec. Put the criterion back as it was: only the person can change a criterion or its check (by attaching the spec again).\n"
        ),
        Why::NotRunYet => format!(
            "The check of \"{text}\"{line} has not run yet: the checks before it used this stop's time (hooks.stop_timeout_seconds). It runs at the next stop.\n  command: {command}\n"
        ),
        Why::Result { result, reused } => {
            let seconds = result.duration_ms as f64 / 1000.0;
            let what = match result.outcome {
                // Killed at the deadline, or a little after it: whole seconds down.
                Outcome::TimedOut => format!(
                    "did not finish within {} s (momentum.check_timeout_seconds): it was killed, with the processes it started, and counts as failed",
                    result.duration_ms / 1000
                ),
                Outcome::NotStarted => "could not be started".to_string(),
                Outcome::Failed | Outcome::Passed => match (result.exit_code, result.signal) {
                    (Some(code), _) => format!("failed with exit code {code} after {seconds:.1} s"),
                    (None, Some(signal)) => {
                        format!("was ended by signal {signal} after {seconds:.1} s")
                    }
                    (None, None) => format!("failed after {seconds:.1} s"),
                },
            };
            let mut out = format!("The check of \"{text}\"{line} {what}, so {taken_back}.\n");
            out.push_str(&format!("  command: {command}\n"));
            if *reused {
                out.push_str("  (the project has not changed since this result, so the check was not run again)\n");
            }
            let lines: Vec<&str> = result.output.lines().collect();
            let shown = &lines[lines.len().saturating_sub(QUOTED_OUTPUT_LINES)..];
            if shown.is_empty() {
                out.push_str("  It printed nothing.\n");
            } else {
                let label = if result.outcome == Outcome::NotStarted {
                    "  Why:\n"
                } else if shown.len() < lines.len() {
                    "  The last lines of its output:\n"
                } else {
                    "  Its output:\n"
                };
                out.push_str(label);
                for line in shown {
                    out.push_str(&format!("  | {line}\n"));
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::momentum::spec;

    const NOW: i64 = 1_800_000_000_000;
    const MINUTE: i64 = 60_000;
    const PHRASES: Phrases<'static> = Phrases {
        complete: "MISSION COMPLETE",
        blocked: "MISSION BLOCKED:",
    };
    const LIMITS: BlockLimits = BlockLimits {
        max_consecutive_blocks: 3,
        max_blocks_per_session: 25,
        max_blocking_ms: 60 * MINUTE,
    };

    /// The rule a case expects: allow for a reason, or block.
    #[derive(Debug, PartialEq)]
    enum Expect {
        Allow(Allow),
        Block,
    }

    /// One table row: a name and the inputs that differ from the default.
    struct Case {
        name: &'static str,
        mission: bool,
        spec: &'static str,
        spec_state: Option<fn(&Spec) -> SpecState<'_>>,
        message: Option<&'static str>,
        transcript: TranscriptFacts,
        counters: Counters,
        checks: Vec<Unmet>,
        expect: Expect,
    }

    const OPEN_SPEC: &str = "## Acceptance criteria\n- [x] parse the spec\n- [ ] write the verdict\n- [ ] benchmark it\n";
    const DONE_SPEC: &str =
        "## Acceptance criteria\n- [x] parse the spec\n- [x] write the verdict\n";

    fn case(name: &'static str, expect: Expect) -> Case {
        Case {
            name,
            mission: true,
            spec: OPEN_SPEC,
            spec_state: None,
            message: Some("I am done for now."),
            transcript: TranscriptFacts::default(),
            counters: Counters::default(),
            checks: Vec::new(),
            expect,
        }
    }

    fn after_block(consecutive: i64, blocks: i64) -> Counters {
        Counters {
            momentum_blocks: blocks,
            consecutive_blocks: consecutive,
            tool_calls: 7,
            tool_calls_at_last_block: Some(7),
            blocking_since: Some(NOW - 5 * MINUTE),
            last_block_at: Some(NOW - MINUTE),
            last_open_criteria: Some(2),
        }
    }

    fn run(case: &Case) -> StopVerdict {
        let spec = spec::parse(case.spec);
        let state = match case.spec_state {
            Some(make) => make(&spec),
            None => SpecState::Parsed(&spec),
        };
        let input = StopInput {
            mission: case.mission.then_some(Mission {
                spec_path: "/work/epic.md",
                spec: state,
            }),
            last_assistant_message: case.message,
            transcript: &case.transcript,
            counters: case.counters,
            limits: LIMITS,
            phrases: PHRASES,
            now_ms: NOW,
            checks: &case.checks,
        };
        decide(&input)
    }

    fn table() -> Vec<Case> {
        use Expect::{Allow as A, Block};
        vec![
            Case {
                mission: false,
                ..case("no mission allows", A(Allow::NoMission))
            },
            Case {
                spec_state: Some(|_| SpecState::Missing),
                ..case("a missing spec allows", A(Allow::SpecMissing))
            },
            Case {
                spec_state: Some(|_| SpecState::Unreadable),
                ..case("an unreadable spec allows", A(Allow::SpecUnreadable))
            },
            Case {
                spec: "# Plan\nno boxes\n",
                ..case("a spec without criteria allows", A(Allow::NoCriteria))
            },
            Case {
                spec: DONE_SPEC,
                ..case("every criterion ticked allows", A(Allow::AllCriteriaMet))
            },
            Case {
                spec: DONE_SPEC,
                counters: after_block(2, 24),
                ..case(
                    "every criterion ticked allows even mid-run",
                    A(Allow::AllCriteriaMet),
                )
            },
            case("open criteria on a first stop blocks", Block),
            Case {
                message: Some("All done. MISSION COMPLETE"),
                ..case("the complete phrase with open criteria blocks", Block)
            },
            Case {
                message: Some(
                    "MISSION BLOCKED: the staging database password is not in the environment",
                ),
                ..case(
                    "the blocked phrase with a reason allows (escape hatch)",
                    A(Allow::DeclaredBlocked {
                        reason: "the staging database password is not in the environment".into(),
                    }),
                )
            },
            Case {
                message: Some("MISSION BLOCKED:\n\nI need a decision on the schema"),
                ..case(
                    "the blocked phrase with the reason on the next line allows",
                    A(Allow::DeclaredBlocked {
                        reason: "I need a decision on the schema".into(),
                    }),
                )
            },
            Case {
                message: Some("MISSION BLOCKED:"),
                ..case("the blocked phrase without a reason blocks", Block)
            },
            Case {
                message: Some("I could write MISSION BLOCKED: <the reason>"),
                ..case("the echoed placeholder is no reason and blocks", Block)
            },
            Case {
                message: Some("mission blocked: lowercase"),
                ..case("a phrase in the wrong case is not the phrase", Block)
            },
            Case {
                message: None,
                transcript: TranscriptFacts {
                    last_assistant_text: Some("MISSION BLOCKED: no network".into()),
                    ..Default::default()
                },
                ..case(
                    "without last_assistant_message the transcript's text is read",
                    A(Allow::DeclaredBlocked {
                        reason: "no network".into(),
                    }),
                )
            },
            Case {
                transcript: TranscriptFacts {
                    api_error: Some(ApiError::UsageLimit {
                        resets_at: Some(1_800_003_600),
                    }),
                    ..Default::default()
                },
                ..case(
                    "a usage-limit error allows",
                    A(Allow::UsageLimit {
                        resets_at: Some(1_800_003_600),
                    }),
                )
            },
            Case {
                transcript: TranscriptFacts {
                    api_error: Some(ApiError::ContextExhausted),
                    ..Default::default()
                },
                ..case("an exhausted context allows", A(Allow::ContextExhausted))
            },
            Case {
                transcript: TranscriptFacts {
                    api_error: Some(ApiError::Other {
                        text: "overloaded".into(),
                    }),
                    ..Default::default()
                },
                ..case(
                    "any other final API error allows",
                    A(Allow::ApiError {
                        text: "overloaded".into(),
                    }),
                )
            },
            Case {
                message: Some("Claude AI usage limit reached|1800003600"),
                ..case(
                    "a usage-limit error only in the hook input allows",
                    A(Allow::UsageLimit {
                        resets_at: Some(1_800_003_600),
                    }),
                )
            },
            Case {
                message: Some("Prompt is too long"),
                ..case(
                    "a context error only in the hook input allows",
                    A(Allow::ContextExhausted),
                )
            },
            Case {
                message: Some("We discussed that the usage limit reached 80% today."),
                ..case("a message merely mentioning the usage limit blocks", Block)
            },
            Case {
                counters: after_block(1, 1),
                ..case("a second stop without tool use still blocks", Block)
            },
            Case {
                counters: after_block(2, 2),
                ..case("a third stop without tool use still blocks", Block)
            },
            Case {
                counters: after_block(3, 3),
                ..case(
                    "breaker: the stop after 3 blocks in a row without tool use allows",
                    A(Allow::ConsecutiveBlocks { blocks: 3 }),
                )
            },
            Case {
                counters: Counters {
                    tool_calls: 9,
                    ..after_block(3, 3)
                },
                ..case(
                    "tool use counted by PostToolUse resets the run and blocks",
                    Block,
                )
            },
            Case {
                counters: after_block(3, 3),
                transcript: TranscriptFacts {
                    tool_use_since_feedback: Some(true),
                    ..Default::default()
                },
                ..case(
                    "tool use seen in the transcript resets the run and blocks",
                    Block,
                )
            },
            Case {
                counters: Counters {
                    tool_calls: 30,
                    ..after_block(0, 25)
                },
                ..case(
                    "breaker: 25 blocks in a session allow even with tool use",
                    A(Allow::SessionBlocks { blocks: 25 }),
                )
            },
            Case {
                counters: Counters {
                    tool_calls: 30,
                    blocking_since: Some(NOW - 60 * MINUTE),
                    ..after_block(1, 5)
                },
                ..case(
                    "breaker: an hour of blocking without a ticked criterion allows",
                    A(Allow::BlockingTime { minutes: 60 }),
                )
            },
            Case {
                counters: Counters {
                    tool_calls: 30,
                    blocking_since: Some(NOW - 59 * MINUTE),
                    ..after_block(1, 5)
                },
                ..case("59 minutes of blocking still blocks", Block)
            },
            Case {
                spec: "## Acceptance criteria\n- [x] a\n- [x] b\n- [ ] c\n",
                counters: Counters {
                    tool_calls: 30,
                    blocking_since: Some(NOW - 90 * MINUTE),
                    ..after_block(1, 5)
                },
                ..case(
                    "a criterion ticked since the last stop restarts the blocking clock",
                    Block,
                )
            },
            Case {
                counters: Counters {
                    blocking_since: Some(NOW - 90 * MINUTE),
                    ..after_block(3, 3)
                },
                ..case(
                    "when two breakers trip the run of blocks is reported",
                    A(Allow::ConsecutiveBlocks { blocks: 3 }),
                )
            },
            Case {
                spec: DONE_SPEC,
                checks: vec![failed_check("write the verdict", 3)],
                ..case(
                    "every box ticked but a check failed: the tick is taken back and it blocks",
                    Block,
                )
            },
            Case {
                spec: DONE_SPEC,
                checks: vec![unmet_check("write the verdict", Some(3), Why::NotRunYet)],
                ..case("a check not run yet blocks", Block)
            },
            Case {
                spec: DONE_SPEC,
                checks: vec![unmet_check("a reworded criterion", None, Why::Missing)],
                ..case("an approved check whose criterion is gone blocks", Block)
            },
            Case {
                spec: DONE_SPEC,
                checks: vec![failed_check("write the verdict", 3)],
                counters: after_block(3, 3),
                ..case(
                    "breaker: a check that fails forever ends in the breaker's allow",
                    A(Allow::ConsecutiveBlocks { blocks: 3 }),
                )
            },
            Case {
                spec: DONE_SPEC,
                checks: vec![failed_check("write the verdict", 3)],
                message: Some("MISSION BLOCKED: the test server needs a person"),
                ..case(
                    "the escape hatch still allows with a failed check",
                    A(Allow::DeclaredBlocked {
                        reason: "the test server needs a person".into(),
                    }),
                )
            },
        ]
    }

    fn unmet_check(criterion: &str, line: Option<usize>, why: Why) -> Unmet {
        Unmet {
            criterion: criterion.into(),
            line,
            command: "cargo test verdict".into(),
            why,
        }
    }

    fn failed_check(criterion: &str, line: usize) -> Unmet {
        unmet_check(
            criterion,
            Some(line),
            Why::Result {
                result: crate::momentum::check_store::CheckResult {
                    criterion: criterion.into(),
                    command: "cargo test verdict".into(),
                    state: Some("git:1".into()),
                    state_after: None,
                    outcome: Outcome::Failed,
                    exit_code: Some(101),
                    signal: None,
                    duration_ms: 3200,
                    output: (1..=30).map(|n| format!("line {n}\n")).collect(),
                    ran_at_ms: NOW,
                },
                reused: false,
            },
        )
    }

    #[test]
    fn a_failed_check_is_named_with_its_command_exit_code_and_last_lines() {
        let spec = spec::parse(DONE_SPEC);
        let checks = [
            failed_check("write the verdict", 3),
            failed_check("write the verdict", 3),
        ];
        let reason = block_reason("/e.md", &spec, &checks, &Declaration::Complete, PHRASES);
        assert!(
            reason.contains("1 of 2 acceptance criteria in /e.md are still open"),
            "two checks of one criterion take back one tick: {reason}"
        );
        assert!(
            reason.contains("- [x] write the verdict (line 3): ticked, but its check did not pass"),
            "{reason}"
        );
        assert!(
            reason.contains("failed with exit code 101 after 3.2 s, so its tick is taken back in this verdict (the spec file is left as it is)"),
            "{reason}"
        );
        assert!(
            reason.contains("  command: cargo test verdict\n"),
            "{reason}"
        );
        assert!(reason.contains("  | line 30\n"), "{reason}");
        assert!(reason.contains("  | line 16\n"), "{reason}");
        assert!(!reason.contains("  | line 15\n"), "15 lines only: {reason}");
        assert!(
            reason.contains("every check of a ticked criterion passes"),
            "{reason}"
        );
        assert!(
            !reason.contains("Next: take the first open criterion"),
            "{reason}"
        );
    }

    #[test]
    fn a_timed_out_check_has_its_own_words() {
        let spec = spec::parse(DONE_SPEC);
        let mut check = failed_check("write the verdict", 3);
        if let Why::Result { result, reused } = &mut check.why {
            result.outcome = Outcome::TimedOut;
            result.exit_code = None;
            result.duration_ms = 120_000;
            result.output = String::new();
            *reused = true;
        }
        let reason = block_reason("/e.md", &spec, &[check], &Declaration::None, PHRASES);
        assert!(
            reason.contains("did not finish within 120 s (momentum.check_timeout_seconds): it was killed, with the processes it started, and counts as failed"),
            "{reason}"
        );
        assert!(reason.contains("It printed nothing."), "{reason}");
        assert!(reason.contains("the check was not run again"), "{reason}");
    }

    #[test]
    fn without_checks_the_reason_is_as_it_always_was() {
        let spec = spec::parse(OPEN_SPEC);
        let reason = block_reason("/e.md", &spec, &[], &Declaration::None, PHRASES);
        assert_eq!(
            reason,
            "pace-maker: the mission is not finished. 2 of 3 acceptance criteria in /e.md are still open:\n\
             - [ ] write the verdict (line 3)\n\
             - [ ] benchmark it (line 4)\n\
             \n\
             Next: take the first open criterion, do the work and verify it (run the tests, check the result), then tick it in the spec by changing `- [ ]` to `- [x]`. Go on until every criterion is ticked; the stop is allowed then.\n\
             If you cannot go on without a person (missing access, a decision only they can make), end your reply with `MISSION BLOCKED: <the reason>`."
        );
    }

    #[test]
    fn the_verdict_table_holds() {
        let cases = table();
        assert!(cases.len() >= 20);
        let mut failures = Vec::new();
        for case in &cases {
            let verdict = run(case);
            let got = match &verdict.decision {
                StopDecision::Allow(allow) => Expect::Allow(allow.clone()),
                StopDecision::Block { .. } => Expect::Block,
            };
            if got != case.expect {
                failures.push(format!(
                    "{}: expected {:?}, got {:?}",
                    case.name, case.expect, got
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "failing cases:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn a_block_moves_every_counter_towards_a_breaker() {
        for case in table() {
            let verdict = run(&case);
            let (before, after) = (case.counters, verdict.counters);
            match verdict.decision {
                StopDecision::Block { .. } => {
                    assert_eq!(
                        after.momentum_blocks,
                        before.momentum_blocks + 1,
                        "{}",
                        case.name
                    );
                    assert!(after.consecutive_blocks >= 1, "{}", case.name);
                    assert_eq!(
                        after.tool_calls_at_last_block,
                        Some(before.tool_calls),
                        "{}",
                        case.name
                    );
                    assert_eq!(after.last_block_at, Some(NOW), "{}", case.name);
                    assert!(
                        after.blocking_since.is_some_and(|since| since <= NOW),
                        "{}",
                        case.name
                    );
                }
                StopDecision::Allow(_) => {
                    assert_eq!(
                        after.momentum_blocks, before.momentum_blocks,
                        "{}",
                        case.name
                    );
                }
            }
        }
    }

    #[test]
    fn repeated_stops_without_tool_use_are_allowed_after_the_limit() {
        let spec = spec::parse(OPEN_SPEC);
        let transcript = TranscriptFacts::default();
        let mut counters = Counters::default();
        let mut decisions = Vec::new();
        for stop in 0..5 {
            let verdict = decide(&StopInput {
                mission: Some(Mission {
                    spec_path: "/e.md",
                    spec: SpecState::Parsed(&spec),
                }),
                last_assistant_message: Some("done"),
                transcript: &transcript,
                counters,
                limits: LIMITS,
                phrases: PHRASES,
                now_ms: NOW + stop * MINUTE,
                checks: &[],
            });
            decisions.push(matches!(verdict.decision, StopDecision::Block { .. }));
            counters = verdict.counters;
        }
        assert_eq!(decisions, [true, true, true, false, false]);
        assert_eq!(counters.momentum_blocks, 3);
    }

    #[test]
    fn the_block_reason_lists_ten_open_criteria_and_counts_the_rest() {
        let mut text = String::from("# Acceptance criteria\n");
        for index in 1..=13 {
            text.push_str(&format!("- [ ] criterion {index}\n"));
        }
        text.push_str("- [x] finished one\n");
        let spec = spec::parse(&text);
        let reason = block_reason("/e.md", &spec, &[], &Declaration::None, PHRASES);
        assert!(
            reason.contains("13 of 14 acceptance criteria in /e.md are still open"),
            "{reason}"
        );
        assert!(reason.contains("- [ ] criterion 10 (line 11)"), "{reason}");
        assert!(!reason.contains("criterion 11"), "{reason}");
        assert!(reason.contains("... and 3 more"), "{reason}");
        assert!(!reason.contains("finished one"), "{reason}");
        assert!(
            reason.contains("`MISSION BLOCKED: <the reason>`"),
            "{reason}"
        );
        assert!(reason.contains("`- [x]`"), "{reason}");
    }

    #[test]
    fn the_block_reason_explains_why_the_complete_phrase_was_not_enough() {
        let spec = spec::parse(OPEN_SPEC);
        let reason = block_reason("/e.md", &spec, &[], &Declaration::Complete, PHRASES);
        assert!(
            reason.contains("You wrote \"MISSION COMPLETE\""),
            "{reason}"
        );
        assert!(
            reason.contains("the phrase alone does not end it"),
            "{reason}"
        );
    }

    #[test]
    fn configured_phrases_are_the_ones_recognised() {
        let phrases = Phrases {
            complete: "DONE!",
            blocked: "STUCK:",
        };
        assert_eq!(
            declaration("STUCK: no disk", phrases),
            Declaration::Blocked {
                reason: "no disk".into()
            }
        );
        assert_eq!(
            declaration("MISSION BLOCKED: x", phrases),
            Declaration::None
        );
        assert_eq!(declaration("all DONE!", phrases), Declaration::Complete);
        assert_eq!(
            declaration("`STUCK:` ...", phrases),
            Declaration::BlockedWithoutReason
        );
    }

    /// One step of a random session: what happened before a Stop.
    #[derive(Debug, Clone)]
    struct Step {
        tool_calls: i64,
        transcript_tool_use: Option<bool>,
        minutes: i64,
        tick: bool,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        (
            0i64..3,
            proptest::option::of(any::<bool>()),
            0i64..30,
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(tool_calls, transcript_tool_use, minutes, tick)| Step {
                tool_calls,
                transcript_tool_use,
                minutes,
                tick,
            })
    }

    proptest::proptest! {
        #[test]
        fn no_session_is_blocked_forever(steps in proptest::collection::vec(step(), 1..120)) {
            let total = 40;
            let mut done = 0;
            let mut counters = Counters::default();
            let mut now = NOW;
            let mut blocks = 0;
            let mut run_without_tools = 0;
            for step in steps {
                if step.tick && done < total - 1 {
                    done += 1;
                }
                let text: String = (0..total)
                    .map(|index| format!("- [{}] c{index}\n", if index < done { 'x' } else { ' ' }))
                    .collect();
                let spec = spec::parse(&text);
                counters.tool_calls += step.tool_calls;
                now += step.minutes * MINUTE;
                let transcript = TranscriptFacts { tool_use_since_feedback: step.transcript_tool_use, ..Default::default() };
                let used_tools = step.tool_calls > 0 || step.transcript_tool_use == Some(true);
                let verdict = decide(&StopInput {
                    mission: Some(Mission { spec_path: "/e.md", spec: SpecState::Parsed(&spec) }),
                    last_assistant_message: Some("stopping"),
                    transcript: &transcript,
                    counters,
                    limits: LIMITS,
                    phrases: PHRASES,
                    now_ms: now,
                    checks: &[],
                });
                if matches!(verdict.decision, StopDecision::Block { .. }) {
                    blocks += 1;
                    run_without_tools = if used_tools { 1 } else { run_without_tools + 1 };
                } else if used_tools {
                    run_without_tools = 0;
                }
                proptest::prop_assert!(run_without_tools <= i64::from(LIMITS.max_consecutive_blocks));
                proptest::prop_assert!(blocks <= i64::from(LIMITS.max_blocks_per_session));
                counters = verdict.counters;
            }
        }
    }
}
