//! A unified line diff, for `install --dry-run` and `uninstall --dry-run`,
//! from `similar` (Myers' algorithm, GNU diff's hunk format).
//!
//! Lines are compared without their endings: a file that differs only in
//! `\r\n` against `\n`, or in a last newline, shows its header and no hunk.

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The diff between `old` and `new` as unified-diff text, empty when they
/// are the same. `old_label`/`new_label` name the two sides.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let (old, new) = (normalized(old), normalized(new));
    let text = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(false)
        .header(old_label, new_label)
        .to_string();
    if text.is_empty() {
        // The file is rewritten though no line changes: say so with the
        // header alone (similar prints nothing without a hunk).
        return format!("--- {old_label}\n+++ {new_label}\n");
    }
    text
}

/// Every line of `text` ended by one `\n`.
fn normalized(text: &str) -> String {
    text.lines().flat_map(|line| [line, "\n"]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_an_empty_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "a", "b"), "");
    }

    #[test]
    fn a_change_shows_with_three_lines_of_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified(old, new, "old", "new"),
            "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn a_new_file_is_all_additions() {
        assert_eq!(
            unified("", "{\n}\n", "/dev/null", "new"),
            "--- /dev/null\n+++ new\n@@ -0,0 +1,2 @@\n+{\n+}\n"
        );
    }

    #[test]
    fn distant_changes_make_separate_hunks() {
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let new: String = (1..=20)
            .map(|n| match n {
                2 => "two\n".to_string(),
                19 => "nineteen\n".to_string(),
                n => format!("{n}\n"),
            })
            .collect();
        let diff = unified(&old, &new, "a", "b");
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(diff.contains("-19\n+nineteen\n"));
    }

    #[test]
    fn line_endings_and_a_last_newline_are_no_change() {
        assert_eq!(unified("a\r\nb", "a\nb\n", "a", "b"), "--- a\n+++ b\n");
        assert_eq!(
            unified("a\nb", "a\nc", "a", "b"),
            "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
        );
    }
}
