//! Epic specs: the acceptance criteria of a mission, read from Markdown.
//!
//! A criterion is a task-list item (`- [ ] text`, `* [x] text`, `1. [X] text`,
//! at any nesting depth). When the file has headings that contain
//! "acceptance criteria" (any case, ATX or setext), only the items inside
//! those sections count, a section ending at the next heading of the same or
//! a higher level; otherwise every task item in the file counts. Fenced code
//! blocks are skipped, so an example checklist inside ```` ``` ```` is never
//! mistaken for work. Parsing is a pure function of the text: the Stop hook
//! re-reads the file at every stop, so the person (or the model) ticking a
//! box in an editor is the whole interface.
//!
//! A criterion may name the command that proves it, in an HTML comment on
//! its line (or on a line that continues the item):
//! `- [ ] unknown ids get a 404 <!-- check: cargo test api_unknown_id -->`.
//! A comment is what Markdown renders as nothing and what editors and
//! formatters keep as it is, on the line they found it; `check:` inside a
//! code span (`` `<!-- check: x -->` ``) is text, not a check. The
//! comment is taken out of the criterion's text; its command is kept as
//! written (see [`super::checks`] for how it is run, and who may run it).

use std::path::Path;

use serde::Serialize;

/// The phrase a heading must contain to open an acceptance section.
const SECTION_MARKER: &str = "acceptance criteria";

/// One acceptance criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Criterion {
    /// The item's text after the checkbox, trimmed.
    pub text: String,
    /// Ticked (`[x]` or `[X]`).
    pub done: bool,
    /// 1-based line number in the file.
    pub line: usize,
    /// The commands of its `<!-- check: ... -->` comments, in file order.
    pub checks: Vec<String>,
}

/// Where the criteria came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriteriaSource {
    /// Under one or more "acceptance criteria" headings.
    Sections,
    /// No such heading: every task item in the file.
    WholeFile,
}

/// A parsed spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spec {
    pub source: CriteriaSource,
    pub criteria: Vec<Criterion>,
}

impl Spec {
    pub fn total(&self) -> usize {
        self.criteria.len()
    }

    pub fn open(&self) -> usize {
        self.criteria.iter().filter(|item| !item.done).count()
    }

    pub fn done(&self) -> usize {
        self.total() - self.open()
    }

    /// The criteria still to do, in file order.
    pub fn open_criteria(&self) -> impl Iterator<Item = &Criterion> {
        self.criteria.iter().filter(|item| !item.done)
    }

    /// Whether any criterion carries a check comment.
    pub fn has_checks(&self) -> bool {
        self.criteria.iter().any(|item| !item.checks.is_empty())
    }
}

/// Why a spec could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the spec {path} does not exist")]
    Missing { path: String },
    #[error("the spec {path} is larger than {cap} bytes: not read")]
    TooLarge { path: String, cap: u64 },
    #[error("cannot read the spec {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The largest spec read: a Markdown epic is kilobytes; anything near this
/// is not a spec, and reading it would cost a Stop hook its deadline.
pub const MAX_SPEC_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and parses a spec file: only a regular file (never a FIFO or a
/// device, which could hang or flood the hook), of at most
/// [`MAX_SPEC_BYTES`]. Invalid UTF-8 is replaced, not refused.
pub fn read(path: &Path) -> Result<Spec, SpecError> {
    match crate::fsutil::read_regular_capped(path, MAX_SPEC_BYTES) {
        Ok(Some(bytes)) => Ok(parse(&String::from_utf8_lossy(&bytes))),
        Ok(None) => Err(SpecError::TooLarge {
            path: path.display().to_string(),
            cap: MAX_SPEC_BYTES,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(SpecError::Missing {
            path: path.display().to_string(),
        }),
        Err(source) => Err(SpecError::Unreadable {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Parses Markdown text into its acceptance criteria.
pub fn parse(text: &str) -> Spec {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Every task item, and whether it sits in an acceptance section.
    let mut items: Vec<(Criterion, bool)> = Vec::new();
    // The indentation of the last item while its following lines may still
    // continue it (and carry its check).
    let mut continued: Option<usize> = None;
    let mut any_section = false;
    // The level of the acceptance section we are in, if any.
    let mut section_level: Option<u8> = None;
    let mut fence: Option<Fence> = None;
    // The previous line, when it could be the text of a setext heading.
    let mut paragraph: Option<String> = None;

    for (index, raw_line) in text.split('\n').enumerate() {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if let Some(open) = &fence {
            if open.is_closed_by(line) {
                fence = None;
            }
            continue;
        }
        if let Some(opened) = Fence::opened_by(line) {
            fence = Some(opened);
            paragraph = None;
            continued = None;
            continue;
        }
        let heading = atx_heading(line).or_else(|| {
            let level = setext_underline(line)?;
            Some((level, paragraph.take()?))
        });
        if let Some((level, title)) = heading {
            if title.to_lowercase().contains(SECTION_MARKER) {
                any_section = true;
                section_level = Some(level);
            } else if section_level.is_some_and(|open_level| level <= open_level) {
                section_level = None;
            }
            paragraph = None;
            continued = None;
            continue;
        }
        if let Some((done, item_text)) = task_item(line) {
            let (text, checks) = split_checks(item_text);
            // An item that is only a check is named by its command; one
            // that is only an empty check comment keeps its text.
            let text = match (text.is_empty(), checks.first()) {
                (true, Some(command)) => command.clone(),
                (true, None) => item_text.to_string(),
                (false, _) => text,
            };
            let criterion = Criterion {
                text,
                done,
                line: index + 1,
                checks,
            };
            items.push((criterion, section_level.is_some()));
            continued = Some(indentation(line));
            paragraph = None;
            continue;
        }
        // A line that continues the last item (indented under it, not a
        // list item of its own) may carry the item's check: a formatter
        // that wraps long items moves the comment there.
        if let (Some(item_indent), Some((last, _))) = (continued, items.last_mut()) {
            let trimmed = line.trim();
            if trimmed.is_empty() || list_marker(line.trim_start()).is_some() {
                continued = None;
            } else if indentation(line) > item_indent {
                let (_, checks) = split_checks(trimmed);
                last.checks.extend(checks);
                paragraph = None;
                continue;
            } else {
                continued = None;
            }
        }
        paragraph = paragraph_text(line);
    }

    let source = if any_section {
        CriteriaSource::Sections
    } else {
        CriteriaSource::WholeFile
    };
    let criteria = items
        .into_iter()
        .filter(|(_, in_section)| !any_section || *in_section)
        .map(|(criterion, _)| criterion)
        .collect();
    Spec { source, criteria }
}

/// Columns of leading whitespace (a tab counts as four).
fn indentation(line: &str) -> usize {
    line.chars()
        .take_while(|character| matches!(character, ' ' | '\t'))
        .map(|character| if character == '\t' { 4 } else { 1 })
        .sum()
}

/// The opening and closing of an HTML comment, and the word that makes
/// one a check.
const COMMENT_OPEN: &str = "<!--";
const COMMENT_CLOSE: &str = "-->";
const CHECK_WORD: &str = "check:";

/// A criterion's text without its check comments, and their commands.
/// Comments inside code spans are text; other comments stay in the text.
pub fn split_checks(text: &str) -> (String, Vec<String>) {
    let mut kept = String::with_capacity(text.len());
    let mut checks = Vec::new();
    let mut rest = text;
    loop {
        let Some(open) = find_outside_code(rest, COMMENT_OPEN) else {
            kept.push_str(rest);
            break;
        };
        let inner_start = open + COMMENT_OPEN.len();
        let Some(close) = rest[inner_start..].find(COMMENT_CLOSE) else {
            kept.push_str(rest);
            break;
        };
        let inner = rest[inner_start..inner_start + close].trim();
        let after = &rest[inner_start + close + COMMENT_CLOSE.len()..];
        let is_check = inner
            .get(..CHECK_WORD.len())
            .is_some_and(|word| word.eq_ignore_ascii_case(CHECK_WORD));
        if is_check {
            let command = inner[CHECK_WORD.len()..].trim();
            if !command.is_empty() {
                checks.push(command.to_string());
            }
            let before = rest[..open].trim_end();
            kept.push_str(before);
            let next = after.trim_start();
            if !before.is_empty() && !next.is_empty() && !kept.is_empty() {
                kept.push(' ');
            }
            rest = next;
        } else {
            kept.push_str(&rest[..inner_start + close + COMMENT_CLOSE.len()]);
            rest = after;
        }
    }
    (kept.trim().to_string(), checks)
}

/// The byte offset of `needle` in `text` outside backtick code spans.
fn find_outside_code(text: &str, needle: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'`' {
            let run = bytes[at..].iter().take_while(|&&byte| byte == b'`').count();
            let fence = &text[at..at + run];
            // The span closes at the next run of exactly as many backticks;
            // an unclosed run is literal backticks.
            let mut search = at + run;
            let mut closed = None;
            while let Some(found) = text[search..].find(fence) {
                let start = search + found;
                let length = bytes[start..]
                    .iter()
                    .take_while(|&&byte| byte == b'`')
                    .count();
                if length == run {
                    closed = Some(start + run);
                    break;
                }
                search = start + length;
            }
            at = closed.unwrap_or(at + run);
            continue;
        }
        if bytes[at..].starts_with(needle.as_bytes()) {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// An open fenced code block: its character and length.
struct Fence {
    marker: u8,
    length: usize,
}

impl Fence {
    /// A line that opens a fence: three or more backticks or tildes.
    /// Indentation is not limited, so fences nested in list items count.
    fn opened_by(line: &str) -> Option<Self> {
        let trimmed = line.trim_start();
        let marker = *trimmed.as_bytes().first()?;
        if marker != b'`' && marker != b'~' {
            return None;
        }
        let length = trimmed.bytes().take_while(|&byte| byte == marker).count();
        if length < 3 {
            return None;
        }
        // A backtick fence's info string may not contain a backtick.
        if marker == b'`' && trimmed[length..].contains('`') {
            return None;
        }
        Some(Self { marker, length })
    }

    /// A closing fence: the same character, at least as long, nothing after.
    fn is_closed_by(&self, line: &str) -> bool {
        let trimmed = line.trim();
        let length = trimmed
            .bytes()
            .take_while(|&byte| byte == self.marker)
            .count();
        length >= self.length && length == trimmed.len()
    }
}

/// Up to three spaces of indentation, as headings allow.
fn strip_heading_indent(line: &str) -> Option<&str> {
    let indent = line.bytes().take_while(|&byte| byte == b' ').count();
    (indent <= 3).then(|| &line[indent..])
}

/// `## Title ##` -> `(2, "Title")`.
fn atx_heading(line: &str) -> Option<(u8, String)> {
    let rest = strip_heading_indent(line)?;
    let level = rest.bytes().take_while(|&byte| byte == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let after = &rest[level..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let title = after.trim();
    // An optional closing sequence of `#`s, preceded by a space.
    let without_closing = title.trim_end_matches('#');
    let title = if without_closing.is_empty() || without_closing.ends_with([' ', '\t']) {
        without_closing.trim_end()
    } else {
        title
    };
    Some((level as u8, title.to_string()))
}

/// `===` -> level 1, `---` -> level 2 (only meaningful under a paragraph line).
fn setext_underline(line: &str) -> Option<u8> {
    let trimmed = strip_heading_indent(line)?.trim_end();
    let first = *trimmed.as_bytes().first()?;
    if !trimmed.bytes().all(|byte| byte == first) {
        return None;
    }
    match first {
        b'=' => Some(1),
        b'-' => Some(2),
        _ => None,
    }
}

/// The text of a line that can sit above a setext underline: not blank, not
/// indented as code, not a list item, block quote or thematic break.
fn paragraph_text(line: &str) -> Option<String> {
    let rest = strip_heading_indent(line)?;
    let trimmed = rest.trim();
    if trimmed.is_empty()
        || trimmed.starts_with('>')
        || list_marker(rest.trim_start()).is_some()
        || setext_underline(line).is_some()
    {
        return None;
    }
    Some(trimmed.to_string())
}

/// The rest of a line after a list marker (`-`, `*`, `+`, `1.`, `1)`) and its
/// following whitespace; `None` when the line does not start with one.
fn list_marker(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let marker_length = match bytes.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let digits = bytes
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if digits > 9 || !matches!(bytes.get(digits), Some(b'.' | b')')) {
                return None;
            }
            digits + 1
        }
        _ => return None,
    };
    let rest = &line[marker_length..];
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(rest.trim_start_matches([' ', '\t']))
}

/// `  - [x] text` -> `(true, "text")`. An item with no text is not a criterion.
fn task_item(line: &str) -> Option<(bool, &str)> {
    let rest = list_marker(line.trim_start_matches([' ', '\t']))?;
    let done = match rest.get(..3)? {
        "[ ]" => false,
        "[x]" | "[X]" => true,
        _ => return None,
    };
    let after = &rest[3..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let text = after.trim();
    (!text.is_empty()).then_some((done, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(spec: &Spec) -> Vec<(usize, bool, &str)> {
        spec.criteria
            .iter()
            .map(|item| (item.line, item.done, item.text.as_str()))
            .collect()
    }

    #[test]
    fn items_under_an_acceptance_heading_are_the_criteria() {
        let spec = parse(
            "# Epic\n- [ ] not a criterion\n## Acceptance Criteria\n- [ ] one\n- [x] two\n## Notes\n- [ ] also not\n",
        );
        assert_eq!(spec.source, CriteriaSource::Sections);
        assert_eq!(summary(&spec), [(4, false, "one"), (5, true, "two")]);
        assert_eq!((spec.total(), spec.open(), spec.done()), (2, 1, 1));
    }

    #[test]
    fn nested_items_count_and_sub_headings_stay_in_the_section() {
        let spec = parse(
            "## acceptance criteria\n- [ ] parent\n  - [x] child\n    * [ ] grandchild\n### Details\n+ [X] deeper heading still inside\n## Next\n- [ ] outside\n",
        );
        assert_eq!(
            summary(&spec),
            [
                (2, false, "parent"),
                (3, true, "child"),
                (4, false, "grandchild"),
                (6, true, "deeper heading still inside"),
            ]
        );
    }

    #[test]
    fn numbered_items_with_dots_and_parentheses_count() {
        let spec =
            parse("1. [ ] first\n2) [x] second\n10. [ ] tenth\n3.[ ] no space is not an item\n");
        assert_eq!(
            summary(&spec),
            [
                (1, false, "first"),
                (2, true, "second"),
                (3, false, "tenth")
            ]
        );
    }

    #[test]
    fn task_items_inside_code_fences_are_ignored() {
        let spec = parse(
            "## Acceptance criteria\n```markdown\n- [ ] inside backticks\n```\n~~~~\n- [ ] inside tildes\n```\n- [ ] still inside: a shorter or other fence does not close it\n~~~~\n- [ ] real\n  ```\n  - [ ] indented fence inside a list\n  ```\n",
        );
        assert_eq!(summary(&spec), [(10, false, "real")]);
    }

    #[test]
    fn a_heading_inside_a_fence_opens_no_section() {
        let spec = parse("```\n# Acceptance criteria\n```\n- [ ] whole file then\n");
        assert_eq!(spec.source, CriteriaSource::WholeFile);
        assert_eq!(summary(&spec), [(4, false, "whole file then")]);
    }

    #[test]
    fn several_acceptance_headings_are_merged() {
        let spec = parse(
            "# Part one\n## Acceptance criteria\n- [ ] a\n# Part two\n- [ ] skipped\n## Acceptance Criteria (API)\n- [x] b\n",
        );
        assert_eq!(summary(&spec), [(3, false, "a"), (7, true, "b")]);
    }

    #[test]
    fn a_higher_heading_ends_the_section_and_a_lower_one_does_not() {
        let spec =
            parse("### Acceptance criteria\n- [ ] a\n#### Sub\n- [ ] b\n### Same level\n- [ ] c\n");
        assert_eq!(summary(&spec), [(2, false, "a"), (4, false, "b")]);
        let spec = parse("## Acceptance criteria\n- [ ] a\n# Higher\n- [ ] c\n");
        assert_eq!(summary(&spec), [(2, false, "a")]);
    }

    #[test]
    fn without_an_acceptance_heading_every_task_item_counts() {
        let spec = parse("# Plan\n- [ ] a\n## Later\n* [x] b\nplain text\n- not a task\n");
        assert_eq!(spec.source, CriteriaSource::WholeFile);
        assert_eq!(summary(&spec), [(2, false, "a"), (4, true, "b")]);
    }

    #[test]
    fn crlf_line_endings_are_handled() {
        let spec =
            parse("## Acceptance criteria\r\n- [ ] one\r\n- [x] two\r\n## Notes\r\n- [ ] no\r\n");
        assert_eq!(summary(&spec), [(2, false, "one"), (3, true, "two")]);
    }

    #[test]
    fn setext_headings_open_and_close_sections() {
        let spec = parse(
            "Acceptance criteria\n===================\n- [ ] a\nNotes\n-----\n- [ ] still inside: level 2 is lower\nOther\n=====\n- [ ] outside\n",
        );
        assert_eq!(
            summary(&spec),
            [
                (3, false, "a"),
                (6, false, "still inside: level 2 is lower")
            ]
        );
    }

    #[test]
    fn a_dash_line_under_a_list_item_is_not_a_setext_heading() {
        let spec = parse("- [ ] a\n---\n- [ ] b\n");
        assert_eq!(spec.source, CriteriaSource::WholeFile);
        assert_eq!(spec.total(), 2);
    }

    #[test]
    fn atx_heading_forms() {
        assert_eq!(atx_heading("## Title ##"), Some((2, "Title".into())));
        assert_eq!(atx_heading("   # Title"), Some((1, "Title".into())));
        assert_eq!(atx_heading("#Title"), None);
        assert_eq!(atx_heading("    # code"), None);
        assert_eq!(atx_heading("####### seven"), None);
        assert_eq!(atx_heading("# C#"), Some((1, "C#".into())));
    }

    #[test]
    fn odd_checkboxes_and_empty_items_are_not_criteria() {
        let spec = parse("- [-] dash\n- [] empty box\n- [ ]\n- [x]no space\n- [ ] ok\n");
        assert_eq!(summary(&spec), [(5, false, "ok")]);
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let spec = parse("\u{feff}# Acceptance criteria\n- [ ] a\n");
        assert_eq!(spec.source, CriteriaSource::Sections);
        assert_eq!(spec.total(), 1);
    }

    fn checks(spec: &Spec) -> Vec<(&str, Vec<&str>)> {
        spec.criteria
            .iter()
            .map(|item| {
                (
                    item.text.as_str(),
                    item.checks.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_check_comment_names_the_command_and_leaves_the_text() {
        let spec = parse(
            "## Acceptance criteria\n\
             - [ ] unknown ids get a 404 <!-- check: cargo test api_unknown_id -->\n\
             - [x] builds <!--check:cargo build--> on stable\n\
             - [ ] no check here\n\
             - [ ] <!-- CHECK: make lint -->\n\
             - [ ] an empty one <!-- check: -->\n\
             - [ ] <!-- check: -->\n",
        );
        assert_eq!(
            checks(&spec),
            [
                ("unknown ids get a 404", vec!["cargo test api_unknown_id"]),
                ("builds on stable", vec!["cargo build"]),
                ("no check here", vec![]),
                ("make lint", vec!["make lint"]),
                ("an empty one", vec![]),
                ("<!-- check: -->", vec![]),
            ]
        );
        assert!(spec.has_checks());
        assert!(!parse("- [ ] plain\n").has_checks());
    }

    #[test]
    fn other_comments_and_comments_in_code_spans_are_text() {
        let spec = parse(
            "- [ ] document `<!-- check: cmd -->` in the README\n\
             - [ ] keep <!-- a note --> this <!-- check: true -->\n\
             - [ ] ``two `<!-- check: no -->` ticks`` then <!-- check: yes -->\n\
             - [ ] unclosed <!-- check: nope\n\
             - [ ] caf\u{e9} <!-- check: echo \u{e9}t\u{e9} -->\n",
        );
        assert_eq!(
            checks(&spec),
            [
                ("document `<!-- check: cmd -->` in the README", vec![]),
                ("keep <!-- a note --> this", vec!["true"]),
                ("``two `<!-- check: no -->` ticks`` then", vec!["yes"]),
                ("unclosed <!-- check: nope", vec![]),
                ("caf\u{e9}", vec!["echo \u{e9}t\u{e9}"]),
            ]
        );
    }

    #[test]
    fn a_check_on_a_continuation_line_belongs_to_the_item_above() {
        let spec = parse(
            "- [ ] a long criterion that a formatter wrapped\n\
             \x20 onto a second line <!-- check: cargo test long -->\n\
             - [ ] two checks <!-- check: a -->\n\
             \x20   <!-- check: b -->\n\
             \n\
             \x20 <!-- check: after a blank line: not the item's -->\n\
             - [ ] next\n\
             <!-- check: not indented: not the item's -->\n",
        );
        assert_eq!(
            checks(&spec),
            [
                (
                    "a long criterion that a formatter wrapped",
                    vec!["cargo test long"]
                ),
                ("two checks", vec!["a", "b"]),
                ("next", vec![]),
            ]
        );
    }

    #[test]
    fn a_missing_file_is_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = read(&dir.path().join("nope.md")).unwrap_err();
        assert!(matches!(error, SpecError::Missing { .. }), "{error}");
        let path = dir.path().join("spec.md");
        std::fs::write(&path, "- [x] done\n").unwrap();
        assert_eq!(read(&path).unwrap().open(), 0);
    }
}
