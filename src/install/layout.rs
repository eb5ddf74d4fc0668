//! The layout of a settings file, kept across install and uninstall.
//!
//! A person's `settings.json` may be indented by two spaces, four or a
//! tab, written on one line, with or without a final newline, with short
//! lists inline. Install changes only what it changes ([`rewrite`]):
//! everything else keeps its bytes, and what is new follows the layout it
//! found ([`Style::detect`]). Uninstall gives back the very bytes the file
//! had before pace-maker's first install when what remains is that same
//! value ([`uninstalled_text`]), and otherwise rewrites the same way.

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
        let mut text = self.render_at(value, "");
        if self.final_newline {
            text.push_str(self.newline);
        }
        text
    }

    /// `value` as text in this layout, each line after the first starting
    /// with `base` (the indentation of the line it starts on).
    fn render_at(&self, value: &Value, base: &str) -> String {
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut out,
            StyleFormatter {
                style: self,
                base,
                depth: 0,
                has_value: false,
            },
        );
        serde::Serialize::serialize(value, &mut serializer)
            .expect("a JSON value always serializes");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// This layout on one line, for an object or list written inline.
    fn inline(&self) -> Self {
        Self {
            indent: None,
            ..self.clone()
        }
    }

    fn colon(&self) -> &'static str {
        if self.space_after_colon {
            ": "
        } else {
            ":"
        }
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
    /// Written after each line break, before the indentation.
    base: &'a str,
    depth: usize,
    has_value: bool,
}

impl StyleFormatter<'_> {
    fn line<W: ?Sized + std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        if let Some(indent) = &self.style.indent {
            writer.write_all(self.style.newline.as_bytes())?;
            writer.write_all(self.base.as_bytes())?;
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
/// file; otherwise [`rewrite`] of the file as it is now (`current`).
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
    rewrite(current, after)
}

/// The file `original` changed to hold `new`, touching only what changed:
/// every object member and list item whose value stays the same keeps its
/// bytes (spacing, inline lists, escapes, number spelling), and so does
/// everything around the changed parts; what is new is written in the
/// file's layout ([`Style::detect`]), indented like its neighbours. A
/// missing or blank file is rendered afresh. The result is checked to
/// hold exactly `new`; should it not, the whole value is rendered in the
/// file's layout instead.
pub fn rewrite(original: Option<&str>, new: &Value) -> String {
    let style = Style::detect(original);
    let Some(text) = original.filter(|text| !text.trim().is_empty()) else {
        return style.render(new);
    };
    let spliced = (|| {
        let old: Value = serde_json::from_str(text).ok()?;
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let root = parser.value()?;
        let splice = Splice {
            text,
            style: &style,
        };
        let mut out = String::with_capacity(text.len() + 1024);
        out.push_str(&text[..root.start]);
        splice.value(&mut out, new, &old, &root);
        out.push_str(&text[root.end..]);
        value_of(&out)
            .is_some_and(|written| same_value(&written, new))
            .then_some(out)
    })();
    spliced.unwrap_or_else(|| style.render(new))
}

/// Where a JSON value sits in a text.
struct Node {
    start: usize,
    end: usize,
    kind: NodeKind,
}

enum NodeKind {
    /// Members: the key, where its quoted name starts, the value.
    Object(Vec<(String, usize, Node)>),
    Array(Vec<Node>),
    Scalar,
}

/// Finds the places of a text's values. The text has already parsed as
/// JSON, so this only needs to be right on valid input, and to stop (not
/// loop or panic) on anything else.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn space(&mut self) {
        while self
            .peek()
            .is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
    }

    /// The items of a container up to `close`, each read by `item`.
    fn items<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.at += 1;
        let mut items = Vec::new();
        self.space();
        if self.peek()? == close {
            self.at += 1;
            return Some(items);
        }
        loop {
            items.push(item(self)?);
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                byte if byte == close => {
                    self.at += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<Node> {
        self.space();
        let start = self.at;
        let kind = match self.peek()? {
            b'{' => NodeKind::Object(self.items(b'}', |parser| {
                parser.space();
                let key_start = parser.at;
                parser.string()?;
                let key: String =
                    serde_json::from_slice(&parser.text[key_start..parser.at]).ok()?;
                parser.expect(b':')?;
                Some((key, key_start, parser.value()?))
            })?),
            b'[' => NodeKind::Array(self.items(b']', Self::value)?),
            b'"' => {
                self.string()?;
                NodeKind::Scalar
            }
            _ => {
                while self.peek().is_some_and(|byte| {
                    !matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                }) {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
                NodeKind::Scalar
            }
        };
        Some(Node {
            start,
            end: self.at,
            kind,
        })
    }
}

/// Writes changed values over their old places in a text.
struct Splice<'a> {
    text: &'a str,
    style: &'a Style,
}

impl Splice<'_> {
    /// The leading whitespace of the line `at` is on.
    fn line_indent(&self, at: usize) -> &str {
        let line_start = self.text[..at].rfind('\n').map_or(0, |index| index + 1);
        let line = &self.text[line_start..at];
        &line[..line.len() - line.trim_start().len()]
    }

    /// Whether the items of the container at `node` (the first at
    /// `first`) are written on the bracket's line.
    fn inline(&self, node: &Node, first: Option<usize>) -> bool {
        match first {
            Some(first) => !self.text[node.start..first].contains('\n'),
            None => self.style.indent.is_none(),
        }
    }

    /// The indentation of the items of the container at `node`.
    fn item_indent(&self, node: &Node, first: Option<usize>) -> String {
        match first {
            Some(first) => self.line_indent(first).to_string(),
            None => {
                let step = self.style.indent.as_deref().unwrap_or("");
                format!("{}{step}", self.line_indent(node.start))
            }
        }
    }

    /// A value that was not there, as an item of the container at `node`.
    fn fresh(&self, node: &Node, first: Option<usize>, value: &Value) -> String {
        if self.inline(node, first) {
            self.style.inline().render_at(value, "")
        } else {
            self.style.render_at(value, &self.item_indent(node, first))
        }
    }

    /// Writes `new` where `old` was (at `node`).
    fn value(&self, out: &mut String, new: &Value, old: &Value, node: &Node) {
        if same_value(new, old) {
            out.push_str(&self.text[node.start..node.end]);
            return;
        }
        match (new, old, &node.kind) {
            (Value::Object(new_map), Value::Object(old_map), NodeKind::Object(members)) => {
                let first = members.first().map(|member| member.1);
                let parts: Vec<(Option<usize>, String)> = new_map
                    .iter()
                    .map(|(key, value)| {
                        // serde_json keeps the last of a repeated key.
                        let found = members.iter().rposition(|(name, ..)| name == key);
                        match (found, old_map.get(key)) {
                            (Some(index), Some(old_value)) => {
                                let (_, key_start, old_node) = &members[index];
                                let mut part = self.text[*key_start..old_node.start].to_string();
                                self.value(&mut part, value, old_value, old_node);
                                (Some(index), part)
                            }
                            _ => {
                                let part = format!(
                                    "{}{}{}",
                                    serde_json::to_string(key).expect("a key serializes"),
                                    self.style.colon(),
                                    self.fresh(node, first, value)
                                );
                                (None, part)
                            }
                        }
                    })
                    .collect();
                let spans: Vec<(usize, usize)> = members
                    .iter()
                    .map(|(_, key_start, value)| (*key_start, value.end))
                    .collect();
                self.container(out, node, &spans, &parts);
            }
            (Value::Array(new_items), Value::Array(old_items), NodeKind::Array(nodes)) => {
                let first = nodes.first().map(|item| item.start);
                // Items kept in order keep their bytes; a changed one takes
                // the place of the next old one; the rest are new.
                let mut next = 0;
                let mut parts = Vec::new();
                for value in new_items {
                    let same =
                        (next..old_items.len()).find(|&index| same_value(value, &old_items[index]));
                    let mut part = String::new();
                    let index = if let Some(index) = same {
                        part.push_str(&self.text[nodes[index].start..nodes[index].end]);
                        Some(index)
                    } else if next < old_items.len() {
                        self.value(&mut part, value, &old_items[next], &nodes[next]);
                        Some(next)
                    } else {
                        part = self.fresh(node, first, value);
                        None
                    };
                    next = index.map_or(next, |index| index + 1);
                    parts.push((index, part));
                }
                let spans: Vec<(usize, usize)> =
                    nodes.iter().map(|item| (item.start, item.end)).collect();
                self.container(out, node, &spans, &parts);
            }
            _ => {
                let base = self.line_indent(node.start);
                out.push_str(&self.style.render_at(new, base));
            }
        }
    }

    /// Writes the container at `node` holding `parts` (its items as text,
    /// each with the index of the old item it replaces), spaced as its old
    /// items (`spans`: start and end of each) were: two that were
    /// neighbours keep what was between them; others are separated as the
    /// first two were, or as the file's layout has it.
    fn container(
        &self,
        out: &mut String,
        node: &Node,
        spans: &[(usize, usize)],
        parts: &[(Option<usize>, String)],
    ) {
        let (open, close) = (
            &self.text[node.start..=node.start],
            &self.text[node.end - 1..node.end],
        );
        out.push_str(open);
        if parts.is_empty() {
            out.push_str(close);
            return;
        }
        let comma = if self.style.space_after_comma {
            ", "
        } else {
            ","
        };
        let first = spans.first().map(|span| span.0);
        let inline = self.inline(node, first);
        let (lead, separator, trail) = match (spans.first(), spans.last()) {
            (Some(&(first, first_end)), Some(&(_, last_end))) => {
                let separator = match spans.get(1) {
                    Some(&(second, _)) => self.text[first_end..second].to_string(),
                    None if inline => comma.to_string(),
                    None => format!(
                        ",{}{}",
                        self.style.newline,
                        self.item_indent(node, Some(first))
                    ),
                };
                (
                    self.text[node.start + 1..first].to_string(),
                    separator,
                    self.text[last_end..node.end - 1].to_string(),
                )
            }
            _ if inline => (String::new(), comma.to_string(), String::new()),
            _ => {
                let indent = self.item_indent(node, None);
                let newline = self.style.newline;
                (
                    format!("{newline}{indent}"),
                    format!(",{newline}{indent}"),
                    format!("{newline}{}", self.line_indent(node.start)),
                )
            }
        };
        out.push_str(&lead);
        for (at, (index, part)) in parts.iter().enumerate() {
            if at > 0 {
                match (parts[at - 1].0, index) {
                    (Some(before), Some(index)) if *index == before + 1 => {
                        out.push_str(&self.text[spans[before].1..spans[*index].0]);
                    }
                    _ => out.push_str(&separator),
                }
            }
            out.push_str(part);
        }
        out.push_str(&trail);
        out.push_str(close);
    }
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
    fn rewrite_touches_only_what_changed() {
        // Prettier's layout: short lists inline, odd spacing kept.
        let text = "{\n  \"permissions\": { \"allow\": [\"Bash(ls:*)\", \"Read\"] },\n  \"n\": 1.50,\n  \"s\": \"\\u00e9\",\n  \"hooks\": {\n    \"Stop\": [{ \"hooks\": [] }]\n  }\n}";
        let mut value = value_of(text).unwrap();
        value["hooks"]["Stop"]
            .as_array_mut()
            .unwrap()
            .push(json!({"hooks": [{"type": "command"}]}));
        value["hooks"]["SessionEnd"] = json!([{"matcher": "*"}]);
        value["model"] = json!("opus");
        let written = rewrite(Some(text), &value);
        assert_eq!(
            written,
            "{\n  \"permissions\": { \"allow\": [\"Bash(ls:*)\", \"Read\"] },\n  \"n\": 1.50,\n  \"s\": \"\\u00e9\",\n  \"hooks\": {\n    \"Stop\": [{ \"hooks\": [] }, {\"hooks\": [{\"type\": \"command\"}]}],\n    \"SessionEnd\": [\n      {\n        \"matcher\": \"*\"\n      }\n    ]\n  },\n  \"model\": \"opus\"\n}"
        );
        // And back: removing what was added gives the original bytes.
        assert_eq!(rewrite(Some(&written), &value_of(text).unwrap()), text);
        // Into empty containers, in the file's layout.
        let empty = "{\n    \"hooks\": {},\n    \"x\": []\n}\n";
        let filled = rewrite(Some(empty), &json!({"hooks": {"Stop": [1]}, "x": [true]}));
        assert_eq!(
            filled,
            "{\n    \"hooks\": {\n        \"Stop\": [\n            1\n        ]\n    },\n    \"x\": [\n        true\n    ]\n}\n"
        );
        assert_eq!(rewrite(Some(""), &json!({"a": 1})), "{\n  \"a\": 1\n}\n");
        assert_eq!(
            rewrite(Some("{\"a\":1}"), &json!({"a": 1, "b": {}})),
            "{\"a\":1,\"b\":{}}"
        );
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
