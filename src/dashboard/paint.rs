//! Colour for the text views, only where it helps: on a terminal, never
//! under `NO_COLOR`, in a pipe or on a `dumb` terminal.
//!
//! Plain ANSI sequences: the text views print a few coloured words, which
//! does not need a styling library, and a disabled [`Paint`] returns the
//! text untouched so the same code writes both forms.

use crate::paths;

/// Whether and how to colour text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    /// No colour at all.
    pub const PLAIN: Paint = Paint { enabled: false };

    /// Colour when the stream is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
    pub fn for_stream(is_terminal: bool) -> Self {
        let no_color = paths::env(paths::ENV_NO_COLOR).is_some();
        let dumb = paths::env(paths::ENV_TERM).is_some_and(|term| term == "dumb");
        Paint {
            enabled: is_terminal && !no_color && !dumb,
        }
    }

    pub fn is_enabled(self) -> bool {
        self.enabled
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paint_leaves_text_alone_and_enabled_paint_resets_after_itself() {
        assert_eq!(Paint::PLAIN.red("late"), "late");
        let paint = Paint { enabled: true };
        assert_eq!(paint.red("late"), "\x1b[31mlate\x1b[0m");
    }
}
