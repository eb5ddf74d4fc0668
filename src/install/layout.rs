//! The layout of a settings file, kept across install and uninstall.
//!
//! A person's `settings.json` may be indented by two spaces, four or a
//! tab, written on one line, with or without a final newline. Install
//! writes the merged value back in the layout it found ([`Style::detect`],
//! [`Style::render`]); uninstall gives back the very bytes the file had
//! before pace-maker's first install when what remains is that same value
//! ([`uninstalled_text`]), and otherwise renders in the file's layout.

use serde_json::Value;

/// How a settings file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// One indentation step (`"  "`, `"    "`, `"\t"`); `None` for a file
    /// written on one line.
    pub indent: Option<String>,
    /// `"\n"` or `"\r\n"`.
    pub newline: &'static str,
    /// A space after each `:`.
    pub space_after_colon: bool,
    /// A space after each `,` (one-line files only; elsewhere a line ends there).
    pub space_after_comma: bool,
    /// The file ends with a newline.
    pub final_newline: bool,
}

impl Default for Style {
    /// What a new file gets: two spaces, `": "`, a final newline.
    fn default() -> Self {
        Self {
            indent: Some("  ".into()),
            newline: "\n",
            space_after_colon: true,
            space_after_comma: true,
            final_newline: true,
        }
    }
}

impl Style {
    /// The layout of `text` (a settings file as read; `None` when there is
    /// none). A missing, blank or member-less file (`{}`) says nothing of
    /// its layout and gets [`Style::default`].
    pub fn detect(text: Option<&str>) -> Self {
        let Some(text) = text else {
            return Self::default();
        };
        let body = text.trim();
        if !has_member(body) {
            return Self::default();
        }
        let newline = match text.find('\n') {
            Some(at) if at > 0 && text.as_bytes()[at - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let (space_after_colon, space_after_comma) = separators(body);
        let indent = if body.contains('\n') {
            // The first line that starts with a member (not a closing
            // bracket) gives the step: in a well-formed file that is one
            // level deep.
            let step = body
                .lines()
                .skip(1)
                .find(|line| !line.trim().is_empty())
                .map(|line| {
                    let width = line.len() - line.trim_start().len();
                    line[..width].trim_end_matches('\r').to_string()
                })
                .unwrap_or_default();
            Some(step)
        } else {
            None
        };
        Self {
            indent,
            newline,
            space_after_colon,
            space_after_comma,
            final_newline: text.ends_with('\n'),
        }
    }

    /// `value` as text in this layout.
    pub fn render(&self, value: &Value) -> String {
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut out,
            StyleFormatter {
                style: self,
                depth: 0,
                has_value: false,
            },
        );
        serde::Serialize::serialize(value, &mut serializer)
            .expect("a JSON value always serializes");
        let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
        if self.final_newline {
            text.push_str(self.newline);
        }
        text
    }
}

/// Whether the object `body` (trimmed) has at least one member.
fn has_member(body: &str) -> bool {
    body.starts_with('{') && body[1..].trim_start().starts_with('"')
}

/// Whether the first `:` and the first `,` outside strings are followed by
/// a space (a `,` at the end of a line counts as spaced).
fn separators(body: &str) -> (bool, bool) {
    let (mut colon, mut comma) = (None, None);
    let bytes = body.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    for (at, &byte) in bytes.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        let spaced = || bytes.get(at + 1).is_some_and(u8::is_ascii_whitespace);
        match byte {
            b'"' => in_string = true,
            b':' if colon.is_none() => colon = Some(spaced()),
            b',' if comma.is_none() => comma = Some(spaced()),
            _ => {}
        }
        if colon.is_some() && comma.is_some() {
            break;
        }
    }
    // A file with a single member has no comma: follow the colon.
    let colon = colon.unwrap_or(true);
    (colon, comma.unwrap_or(colon))
}

/// serde_json's pretty and compact formatters in one, with the separators
/// and indentation of a [`Style`]. Empty arrays and objects stay `[]`/`{}`.
struct StyleFormatter<'a> {
    style: &'a Style,
    depth: usize,
    has_value: bool,
}

impl StyleFormatter<'_> {
    fn line<W: ?Sized + std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        if let Some(indent) = &self.style.indent {
            writer.write_all(self.style.newline.as_bytes())?;
            for _ in 0..self.depth {
                writer.write_all(indent.as_bytes())?;
            }
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(writer)?;
        }
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            writer.write_all(b",")?;
            if self.style.indent.is_none() && self.style.space_after_comma {
                writer.write_all(b" ")?;
            }
        }
        self.line(writer)
    }
}

impl serde_json::ser::Formatter for StyleFormatter<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        _writer: &mut W,
    ) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(if self.style.space_after_colon {
            b": "
        } else {
            b":"
        })
    }

    fn end_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        _writer: &mut W,
    ) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Two values equal key order included (`Value`'s own `==` ignores it).
pub fn same_value(a: &Value, b: &Value) -> bool {
    serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
}

/// The value of a settings file's text, as [`super::settings_file::read`]
/// reads it: blank is `{}`; `None` when it is not JSON.
pub fn value_of(text: &str) -> Option<Value> {
    if text.trim().is_empty() {
        return Some(Value::Object(Default::default()));
    }
    serde_json::from_str(text).ok()
}

/// The text uninstall writes for `after`: the file's bytes from before
/// pace-maker's first install (`before_install`, from the receipt) when
/// they hold exactly `after`, so an install undone gives back the very
/// file; otherwise `after` in the layout of the file as it is now
/// (`current`).
pub fn uninstalled_text(
    current: Option<&str>,
    after: &Value,
    before_install: Option<&str>,
) -> String {
    if let Some(before) = before_install {
        if value_of(before).is_some_and(|value| same_value(&value, after)) {
            return before.to_string();
        }
    }
    Style::detect(current).render(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) {
        let value = value_of(text).unwrap();
        assert_eq!(Style::detect(Some(text)).render(&value), text, "{text:?}");
    }

    #[test]
    fn the_common_layouts_render_back_as_they_were() {
        round_trip("{\n  \"a\": 1,\n  \"b\": [\n    true\n  ],\n  \"c\": {}\n}\n");
        round_trip("{\n    \"a\": 1,\n    \"b\": {\n        \"c\": []\n    }\n}");
        round_trip("{\n\t\"a\": [\n\t\t1,\n\t\t2\n\t]\n}\n");
        round_trip("{\"a\":1,\"b\":{\"c\":[1,2]}}");
        round_trip("{\"a\": 1, \"b\": {\"c\": [1, 2]}}\n");
        round_trip("{\"a\":\"x, y: z\", \"b\":2}");
        round_trip("{\r\n  \"a\": 1\r\n}\r\n");
    }

    #[test]
    fn a_file_that_says_nothing_of_its_layout_gets_two_spaces_and_a_newline() {
        for text in [None, Some(""), Some("  \n"), Some("{}"), Some("{ }\n")] {
            assert_eq!(Style::detect(text), Style::default(), "{text:?}");
        }
        assert_eq!(
            Style::default().render(&json!({"a": [1]})),
            "{\n  \"a\": [\n    1\n  ]\n}\n"
        );
    }

    #[test]
    fn uninstall_restores_the_bytes_from_before_install_only_when_they_hold_the_same_value() {
        let before = "{ \"a\" :1 }";
        let now = "{\n    \"a\": 1,\n    \"hooks\": {}\n}";
        assert_eq!(
            uninstalled_text(Some(now), &json!({"a": 1}), Some(before)),
            before
        );
        assert_eq!(
            uninstalled_text(Some(now), &json!({"a": 2}), Some(before)),
            "{\n    \"a\": 2\n}"
        );
        assert_eq!(uninstalled_text(Some(now), &json!({}), Some("")), "");
        assert_eq!(uninstalled_text(Some(now), &json!({}), Some(" \n")), " \n");
        // Key order counts.
        let ordered = "{\"b\":1,\"a\":2}";
        let reversed: Value = serde_json::from_str("{\"a\":2,\"b\":1}").unwrap();
        assert_eq!(
            uninstalled_text(Some("{\"x\":0}"), &reversed, Some(ordered)),
            "{\"a\":2,\"b\":1}"
        );
    }
}
