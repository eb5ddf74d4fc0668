//! A unified-style line diff, for `install --dry-run` and `uninstall --dry-run`.
//!
//! Settings files are small, so a plain longest-common-subsequence table
//! is fast enough and keeps this free of a dependency. Past a size where
//! the table would be large, the diff degrades to "every line removed,
//! every line added", which is still correct, only less helpful.

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Past this many table cells, the diff replaces the whole file.
const MAX_TABLE_CELLS: usize = 16_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Same(usize, usize),
    Removed(usize),
    Added(usize),
}

/// The diff between `old` and `new` as unified-diff text, empty when they
/// are the same. `old_label`/`new_label` name the two sides.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let steps = steps(&old_lines, &new_lines);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    let changes: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, step)| !matches!(step, Step::Same(..)))
        .map(|(index, _)| index)
        .collect();
    let mut index = 0;
    while index < changes.len() {
        // A hunk runs from the first change to the last change that is
        // within 2 * CONTEXT unchanged lines of the one before it.
        let first = changes[index];
        let mut last = first;
        while index + 1 < changes.len() && changes[index + 1] - last <= 2 * CONTEXT + 1 {
            index += 1;
            last = changes[index];
        }
        index += 1;
        let start = first.saturating_sub(CONTEXT);
        let end = (last + CONTEXT + 1).min(steps.len());
        let hunk = &steps[start..end];
        let (old_start, new_start) = position_before(&steps, start);
        let old_count = hunk
            .iter()
            .filter(|step| !matches!(step, Step::Added(_)))
            .count();
        let new_count = hunk
            .iter()
            .filter(|step| !matches!(step, Step::Removed(_)))
            .count();
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(old_start, old_count),
            range(new_start, new_count)
        ));
        for step in hunk {
            match *step {
                Step::Same(old_index, _) => out.push_str(&format!(" {}\n", old_lines[old_index])),
                Step::Removed(old_index) => out.push_str(&format!("-{}\n", old_lines[old_index])),
                Step::Added(new_index) => out.push_str(&format!("+{}\n", new_lines[new_index])),
            }
        }
    }
    out
}

/// `start,count` in unified-diff form (1-based; an empty side names the line before).
fn range(start: usize, count: usize) -> String {
    if count == 0 {
        format!("{start},0")
    } else if count == 1 {
        format!("{}", start + 1)
    } else {
        format!("{},{count}", start + 1)
    }
}

/// How many old and new lines come before step `at`.
fn position_before(steps: &[Step], at: usize) -> (usize, usize) {
    steps[..at]
        .iter()
        .fold((0, 0), |(old, new), step| match step {
            Step::Same(..) => (old + 1, new + 1),
            Step::Removed(_) => (old + 1, new),
            Step::Added(_) => (old, new + 1),
        })
}

fn steps(old: &[&str], new: &[&str]) -> Vec<Step> {
    let (rows, columns) = (old.len(), new.len());
    if (rows + 1).saturating_mul(columns + 1) > MAX_TABLE_CELLS {
        return (0..rows)
            .map(Step::Removed)
            .chain((0..columns).map(Step::Added))
            .collect();
    }
    // common[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let width = columns + 1;
    let mut common = vec![0u32; (rows + 1) * width];
    for i in (0..rows).rev() {
        for j in (0..columns).rev() {
            common[i * width + j] = if old[i] == new[j] {
                common[(i + 1) * width + j + 1] + 1
            } else {
                common[(i + 1) * width + j].max(common[i * width + j + 1])
            };
        }
    }
    let mut steps = Vec::with_capacity(rows + columns);
    let (mut i, mut j) = (0, 0);
    while i < rows && j < columns {
        if old[i] == new[j] {
            steps.push(Step::Same(i, j));
            i += 1;
            j += 1;
        } else if common[(i + 1) * width + j] >= common[i * width + j + 1] {
            steps.push(Step::Removed(i));
            i += 1;
        } else {
            steps.push(Step::Added(j));
            j += 1;
        }
    }
    steps.extend((i..rows).map(Step::Removed));
    steps.extend((j..columns).map(Step::Added));
    steps
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
}
