//! Colour for the text views, only where it helps: on a terminal, never
//! under `NO_COLOR`, in a pipe or on a `dumb` terminal.
//!
//! The sequences come from `anstyle` (the styles clap's own help is
//! painted with): a style, the text, a reset. A disabled [`Paint`] returns
//! the text untouched so the same code writes both forms.

use anstyle::{AnsiColor, Effects, Style};

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

    fn wrap(self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap(Style::new().effects(Effects::BOLD), text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap(Style::new().effects(Effects::DIMMED), text)
    }

    pub fn red(self, text: &str) -> String {
        self.wrap(AnsiColor::Red.on_default(), text)
    }

    pub fn green(self, text: &str) -> String {
        self.wrap(AnsiColor::Green.on_default(), text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.wrap(AnsiColor::Yellow.on_default(), text)
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
        assert_eq!(paint.green("ok"), "\x1b[32mok\x1b[0m");
        assert_eq!(paint.yellow("soon"), "\x1b[33msoon\x1b[0m");
        assert_eq!(paint.bold("now"), "\x1b[1mnow\x1b[0m");
        assert_eq!(paint.dim("then"), "\x1b[2mthen\x1b[0m");
    }
}
