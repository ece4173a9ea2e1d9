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
        let mut root = serde_json::Map::new();
        root.insert(self.tag.to_owned(), self.json_value());
        serde_json::Value::Object(root).to_string()
    }

    fn json_value(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, value) in &self.attrs {
            let v = match value {
                Value::Str(s) => serde_json::Value::String(s.clone()),
                Value::Int(n) => serde_json::Value::from(*n),
                Value::UInt(n) => serde_json::Value::from(*n),
                Value::Bool(b) => serde_json::Value::Bool(*b),
                Value::RawJson(s) => {
                    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
                }
            };
            map.insert((*name).to_owned(), v);
        }
        for c in &self.children {
            let arr = map
                .entry(c.json_key.to_owned())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(a) = arr {
                a.push(c.json_value());
            }
        }
        serde_json::Value::Object(map)
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
}
