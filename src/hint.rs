//! Hints: what a person can do about an error, kept apart from what went
//! wrong. A [`Hinted`] error (or a hint added to one with [`HintExt`]) is
//! shown as `error: what: cause` and then `hint: how`, once, at the end,
//! wherever in the chain of contexts the hint sits. Nothing parses a hint
//! back out of a message.

use std::fmt;

/// An error message with a hint for the person. Its `Display` is the
/// message alone; the hint is read with [`Hinted::hint`] (see [`hints`]).
/// A message may be empty (a hint added to an error that says enough), and
/// so may a hint (an error of a kind that has hints, this one without).
/// Added to an error (as [`HintExt`] does) it holds that error as its
/// source, so the chain goes through it and [`hints`] finds it there.
#[derive(Debug)]
pub struct Hinted {
    message: String,
    hint: String,
    source: Option<anyhow::Error>,
}

impl Hinted {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
            source: None,
        }
    }

    /// This message and hint over `source`, the error they explain.
    pub fn over(
        source: impl Into<anyhow::Error>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(message, hint)
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint(&self) -> &str {
        &self.hint
    }
}

/// Two are equal when they say the same (their sources aside).
impl PartialEq for Hinted {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message && self.hint == other.hint
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|source| source.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// An `anyhow` error of a message and a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted::new(message, hint).into()
}

/// Hints added to a result's error.
pub trait HintExt<T> {
    /// The error, with this hint (and no message of its own).
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
    /// The error, under this message and hint (as `anyhow`'s `context`).
    fn context_hint(self, message: impl Into<String>, hint: impl Into<String>)
        -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> HintExt<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|error| Hinted::over(error, String::new(), hint).into())
    }

    fn context_hint(
        self,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> anyhow::Result<T> {
        self.map_err(|error| Hinted::over(error, message, hint).into())
    }
}

/// What went wrong, without the hints: each layer's message, outermost
/// first, joined by `: ` (layers that only carry a hint say nothing).
pub fn describe(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for layer in error.chain() {
        let message = layer.to_string();
        if message.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&message);
    }
    out
}

/// The hints of an error's chain, each once, innermost first: the advice
/// closest to what went wrong, then what the layers around it add.
/// `more` reads the hint of an error type of another module (say, the
/// usage API's).
pub fn hints(
    error: &anyhow::Error,
    more: impl Fn(&(dyn std::error::Error + 'static)) -> Option<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let layers: Vec<_> = error.chain().collect();
    for layer in layers.into_iter().rev() {
        let hint = match layer.downcast_ref::<Hinted>() {
            Some(hinted) => Some(hinted.hint().to_string()),
            None => more(layer),
        };
        if let Some(hint) = hint.filter(|hint| !hint.is_empty()) {
            if !out.contains(&hint) {
                out.push(hint);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_hint_inside_a_context_is_kept_apart_from_the_messages() {
        let inner: anyhow::Result<()> = Err(anyhow::anyhow!("near \"CREATE\": syntax error"));
        let error = inner
            .context_hint(
                "cannot prepare the store /h/store.db",
                "raise store.busy_timeout_ms if it is busy",
            )
            .context("cannot open the store")
            .unwrap_err();
        assert_eq!(
            describe(&error),
            "cannot open the store: cannot prepare the store /h/store.db: near \"CREATE\": syntax error"
        );
        assert_eq!(
            hints(&error, |_| None),
            vec!["raise store.busy_timeout_ms if it is busy".to_string()]
        );
    }

    #[test]
    fn a_hint_without_a_message_adds_nothing_to_the_description() {
        let error = Err::<(), _>(hinted("no such key", "see the list"))
            .hint("see the list")
            .hint("or the docs")
            .unwrap_err();
        assert_eq!(describe(&error), "no such key");
        assert_eq!(hints(&error, |_| None), vec!["see the list", "or the docs"]);
    }
}
