//! What each fuzz target feeds its bytes through, shared by the libFuzzer
//! targets in `fuzz_targets/` and by the normal test suite
//! (`tests/it/fuzz_seeds.rs`), which replays the committed seeds and every
//! crash found so far through the same functions on every `cargo test`.
//!
//! A parser is not fuzzed alone: what it yields goes on through the pure
//! code a hook runs next (the event, the pacing policy, the status line's
//! rendering), because an absurd but well-formed value (a reset time in
//! the year 300 000, a percentage of 1e308) breaks the arithmetic after
//! the parse, not the parse. Each function panics only where a hook would.

#![allow(
    dead_code,
    reason = "each fuzz target uses one of these functions; the seed test uses all"
)]

use std::ops::ControlFlow;

use pace_maker::event::wire;
use pace_maker::event::{Event, EventKind};
use pace_maker::pacing::policy::{self, PacingSettings, PolicyInput, ToolCall};
use pace_maker::usage::snapshot::UsageSnapshot;
use pace_maker::usage::statusline::{self, LineFacts};

/// Moments the pure code is run at: a plausible now, and the two ends of
/// what `clock::now_ms` can return (the epoch for a clock before it, the
/// last second of the year 9999 for one set absurdly far ahead).
const NOWS_MS: [i64; 3] = [1_795_470_000_000, 0, 253_402_300_799_000];

/// A hook's stdin: the wire types, then every event built from them.
pub fn hook_input(data: &[u8]) {
    for kind in EventKind::ALL {
        let Ok(input) = wire::parse(data) else {
            return;
        };
        if let Ok(event) = Event::from_wire(kind, input, None) {
            assert!(!event.session().session_id.trim().is_empty());
            assert_eq!(event.kind(), kind);
            if let Event::PostToolUse { duration_ms, .. } = event {
                for now_ms in NOWS_MS {
                    pace(
                        &[],
                        now_ms,
                        duration_ms.map(|ms| ms.min(i64::MAX as u64) as i64),
                    );
                }
            }
        }
    }
}

/// The status line's stdin: the reading, the line shown, and the pacing
/// policy that a later PostToolUse runs on the recorded snapshot.
pub fn statusline_input(data: &[u8]) {
    for now_ms in NOWS_MS {
        let reading = statusline::parse_input(data, now_ms);
        follow_snapshot(reading.snapshot, now_ms);
    }
}

/// A body from the usage API.
pub fn usage_body(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for now_ms in NOWS_MS {
        if let Ok(snapshot) = pace_maker::usage::api::parse_usage(text, now_ms) {
            follow_snapshot(Some(snapshot), now_ms);
        }
    }
}

fn follow_snapshot(snapshot: Option<UsageSnapshot>, now_ms: i64) {
    let now_s = now_ms.div_euclid(1000);
    let shown = snapshot.as_ref().map(|snapshot| snapshot.at(now_s));
    if let Some(snapshot) = &snapshot {
        assert!(statusline::should_record(None, snapshot));
        let _ = snapshot.age_s(now_ms);
    }
    let line = statusline::render(
        &LineFacts {
            snapshot: shown,
            stale_after_ms: 600_000,
            target_percent: 95.0,
            delay_ms: Some(12_000),
            delay_window: Some(pace_maker::usage::snapshot::WindowKind::SevenDayOpus),
            extra_usage: None,
            control: pace_maker::controls::Control::On,
        },
        now_ms,
    );
    assert!(
        !line.contains('\n'),
        "the status line is one line: {line:?}"
    );
    let snapshots: Vec<UsageSnapshot> = snapshot.into_iter().collect();
    pace(&snapshots, now_ms, Some(1_000));
}

fn pace(snapshots: &[UsageSnapshot], now_ms: i64, tool_duration_ms: Option<i64>) {
    let settings = PacingSettings::default();
    let calls = [
        ToolCall {
            at_ms: now_ms.saturating_sub(40_000),
            delay_ms: 0,
        },
        ToolCall {
            at_ms: now_ms,
            delay_ms: 0,
        },
    ];
    let other: [&[ToolCall]; 1] = [&calls[..1]];
    let decision = policy::decide(&PolicyInput {
        now_ms,
        snapshots,
        calls: &calls,
        other_sessions: &other,
        tool_duration_ms,
        cache_ttl_seconds: 300,
        settings: &settings,
    });
    assert!(decision.delay_ms >= 0, "a negative delay: {decision:?}");
    assert!(
        decision.delay_ms <= settings.longest_delay_ms(),
        "a delay past the longest allowed: {decision:?}"
    );
    let _ = decision.user_message();
}

/// A user's settings.json: install in every status-line mode, which must
/// leave an installation that `inspect` finds, that a second install does
/// not change, and that uninstall (with the receipt) can take out again.
pub fn settings_merge(data: &[u8]) {
    use pace_maker::install::layout;
    use pace_maker::install::merge::{self, InstallOptions, StatusLineMode};
    let Ok(settings) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    // The file's text, as install reads it (only UTF-8 gets that far).
    let text = std::str::from_utf8(data).ok();
    let _ = merge::inspect(&settings);
    for mode in [
        StatusLineMode::Auto,
        StatusLineMode::Chain,
        StatusLineMode::Force,
        StatusLineMode::Skip,
    ] {
        let options = InstallOptions {
            binary: "/opt/pace maker/bin/pace-maker".into(),
            post_tool_use_timeout_seconds: 300,
            stop_timeout_seconds: 300,
            other_timeout_seconds: 10,
            status_line: mode,
        };
        let Ok(installed) = merge::install(&settings, &options) else {
            continue;
        };
        assert!(
            merge::inspect(&installed.settings).is_installed(),
            "{mode:?}: installed but not found"
        );
        let again = merge::install(&installed.settings, &options).expect("installs twice");
        assert_eq!(
            again.settings, installed.settings,
            "{mode:?}: a second install changed the settings"
        );
        let removed = merge::uninstall(&installed.settings, Some(&installed.receipt), mode)
            .expect("uninstalls what it installed");
        assert!(
            !merge::inspect(&removed.settings).is_installed(),
            "{mode:?}: uninstalled but still found"
        );
        // As text: what install writes holds what it installed, and
        // uninstall gives back the very bytes when nothing else changed.
        if let Some(text) = text {
            let written = layout::rewrite(Some(text), &installed.settings);
            assert!(
                layout::value_of(&written)
                    .is_some_and(|value| layout::same_value(&value, &installed.settings)),
                "{mode:?}: the text written does not hold the installed settings"
            );
            if layout::same_value(&removed.settings, &settings) {
                let back = layout::uninstalled_text(Some(&written), &removed.settings, Some(text));
                assert_eq!(
                    back, text,
                    "{mode:?}: uninstall did not give the bytes back"
                );
            }
        }
    }
}

/// An epic spec: the criteria, and the context a SessionStart injects.
pub fn epic_spec(data: &[u8]) {
    use pace_maker::momentum::{self, spec};
    let text = String::from_utf8_lossy(data);
    let parsed = spec::parse(&text);
    assert!(parsed.open() <= parsed.total());
    let config = pace_maker::config::Config::default();
    let _ = momentum::session_start_context("/home/dev/project/EPIC.md", &parsed, &config.momentum);
    // Check comments: taken out of the text, their commands split into
    // words (or refused) without a shell.
    for criterion in &parsed.criteria {
        assert!(!criterion.text.is_empty());
        for command in &criterion.checks {
            assert!(!command.trim().is_empty());
            let _ = momentum::checks::split_command(command);
        }
    }
    let requested = momentum::checks::requested(&parsed);
    let plan = momentum::checks::plan(&parsed, &requested);
    assert!(
        plan.missing.is_empty(),
        "every requested check has its criterion"
    );
    assert!(plan.unapproved.is_empty(), "every check was requested");
    let _ = momentum::checks::tail_text(data, 15);
}

/// A transcript's end, read backwards with budgets from a few bytes to
/// more than the file: whole lines only, never a line ending inside one,
/// and with room for everything, every complete non-empty line once.
pub fn transcript_tail(data: &[u8]) {
    use pace_maker::momentum::transcript_tail;
    let path =
        std::env::temp_dir().join(format!("pace-maker-fuzz-tail-{}.jsonl", std::process::id()));
    std::fs::write(&path, data).expect("write the transcript");
    for budget in [0u64, 1, 7, 64, 4096, data.len() as u64 + 1] {
        let _ = transcript_tail::read_facts(&path, budget);
        let mut lines: Vec<Vec<u8>> = Vec::new();
        transcript_tail::for_each_line_backwards(&path, budget, |line| {
            assert!(!line.contains(&b'\n'), "a line with a newline inside");
            assert!(!line.is_empty(), "an empty line handed out");
            lines.push(line.to_vec());
            ControlFlow::Continue(())
        })
        .expect("read the transcript");
        let total: usize = lines.iter().map(Vec::len).sum();
        assert!(total <= data.len());
        if budget > data.len() as u64 {
            // Complete lines only: the text after the last newline may be a
            // line Claude Code is still writing.
            let complete = match data.iter().rposition(|byte| *byte == b'\n') {
                Some(end) => &data[..end],
                None => &[][..],
            };
            let expected: Vec<Vec<u8>> = complete
                .split(|byte| *byte == b'\n')
                .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
                .filter(|line| !line.is_empty())
                .rev()
                .collect();
            assert_eq!(lines, expected, "with room for all, every line once");
        }
    }
    let _ = transcript_tail::error_in_message(&String::from_utf8_lossy(data));
}
