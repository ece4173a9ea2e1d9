//! One response tree, rendered as Plex renders it: XML by default, JSON on request.
//!
//! Plex names things differently in its two formats (an XML `<Video>` is a JSON
//! `Metadata[]` entry, booleans are `"0"/"1"` in XML and `true/false` in JSON), so each
//! element carries both names and each value its JSON type.

use std::fmt::Write;

/// An attribute value with its JSON type.
#[derive(Debug, Clone)]
pub enum Value {
    Str(String),
    Int(i64),
    UInt(u64),
    Bool(bool),
    /// Raw JSON (in XML: the text itself); only for faults that send what Plex never would.
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    RawJson(String),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::UInt(n)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::UInt(n as u64)
    }
}
impl From<usize> for Value {
    fn from(n: usize) -> Self {
        Value::UInt(n as u64)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// An element: an XML tag, the JSON array it goes into, attributes and children.
#[derive(Debug, Clone)]
pub struct Element {
    pub tag: &'static str,
    pub json_key: &'static str,
    pub attrs: Vec<(&'static str, Value)>,
    pub children: Vec<Element>,
}

impl Element {
    /// A new element with no attributes.
    pub fn new(tag: &'static str, json_key: &'static str) -> Element {
        Element {
            tag,
            json_key,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &'static str, value: impl Into<Value>) -> Element {
        self.attrs.push((name, value.into()));
        self
    }

    /// Adds an attribute when there is a value.
    pub fn attr_opt<V: Into<Value>>(self, name: &'static str, value: Option<V>) -> Element {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Adds a child.
    pub fn child(mut self, child: Element) -> Element {
        self.children.push(child);
        self
    }

    /// Renders as Plex XML (with the XML declaration).
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_xml(&mut out);
        out.push('\n');
        out
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.tag);
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            match value {
                Value::Str(s) => escape_xml(s, out),
                Value::Int(n) => write!(out, "{n}").expect("write to String"),
                Value::UInt(n) => write!(out, "{n}").expect("write to String"),
                Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
                Value::RawJson(s) => escape_xml(s, out),
            }
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str(" />");
            return;
        }
        out.push('>');
        for c in &self.children {
            out.push('\n');
            c.write_xml(out);
        }
        out.push_str("\n</");
        out.push_str(self.tag);
        out.push('>');
    }

    /// Renders as Plex JSON: `{"<Tag>": {attrs…, "<JsonKey>": [children…]}}`.
    pub fn to_json(&self) -> String {
        // Written directly rather than through a `serde_json::Value` tree: a 1,000-item
        // page is about a megabyte, and building the tree cost the emulator more CPU than
        // the client spends reading it (profiled with `plexmatch bench refresh`).
        let mut out = String::with_capacity(1024);
        out.push('{');
        write_json_str(self.tag, &mut out);
        out.push(':');
        self.write_json(&mut out);
        out.push('}');
        out
    }

    fn write_json(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
        };
        for (name, value) in &self.attrs {
            sep(out);
            write_json_str(name, out);
            out.push(':');
            match value {
                Value::Str(s) => write_json_str(s, out),
                Value::Int(n) => write!(out, "{n}").expect("write to String"),
                Value::UInt(n) => write!(out, "{n}").expect("write to String"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::RawJson(s) => match serde_json::from_str::<serde_json::Value>(s) {
                    Ok(v) => out.push_str(&v.to_string()),
                    Err(_) => write_json_str(s, out),
                },
            }
        }
        // Children of one kind form one array, in the order the kinds first appear.
        let mut keys: Vec<&'static str> = Vec::new();
        for c in &self.children {
            if !keys.contains(&c.json_key) {
                keys.push(c.json_key);
            }
        }
        for key in keys {
            sep(out);
            write_json_str(key, out);
            out.push_str(":[");
            let mut first_child = true;
            for c in self.children.iter().filter(|c| c.json_key == key) {
                if !std::mem::take(&mut first_child) {
                    out.push(',');
                }
                c.write_json(out);
            }
            out.push(']');
        }
        out.push('}');
    }
}

fn escape_xml(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
}

/// Writes `s` as a JSON string.
fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).expect("write to String"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_json_name_things_as_plex_does() {
        let doc = Element::new("MediaContainer", "MediaContainer")
            .attr("size", 1u32)
            .attr("allowSync", true)
            .child(
                Element::new("Video", "Metadata")
                    .attr("ratingKey", "7")
                    .attr("title", "Tom & \"Jerry\""),
            );
        let xml = doc.to_xml();
        assert!(
            xml.contains(r#"<MediaContainer size="1" allowSync="1">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"title="Tom &amp; &quot;Jerry&quot;""#),
            "{xml}"
        );
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(json["MediaContainer"]["allowSync"], true);
        assert_eq!(json["MediaContainer"]["Metadata"][0]["ratingKey"], "7");
    }

    #[test]
    fn json_strings_are_escaped_and_children_grouped() {
        let doc = Element::new("MediaContainer", "MediaContainer")
            .attr("title", "a \"quoted\" \\ path\n\u{1}é")
            .child(Element::new("Video", "Metadata").attr("n", 1u32))
            .child(Element::new("Directory", "Directory").attr("n", 2u32))
            .child(Element::new("Video", "Metadata").attr("n", 3u32));
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        let c = &json["MediaContainer"];
        assert_eq!(c["title"], "a \"quoted\" \\ path\n\u{1}é");
        assert_eq!(c["Metadata"][1]["n"], 3);
        assert_eq!(c["Directory"][0]["n"], 2);
    }
}
