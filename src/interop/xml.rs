//! The XML plumbing of GraphML and GEXF: a small writer over quick-xml and
//! a reader into a tree of elements.

use super::InteropError;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer, XmlVersion};
use std::collections::BTreeMap;

/// Drops the characters XML 1.0 cannot carry at all (control characters
/// other than tab, line feed and carriage return; U+FFFE and U+FFFF).
/// Only for display attributes: the records never contain them.
pub(super) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
                || *c >= '\u{10000}'
        })
        .collect()
}

/// A JSON text made safe for XML: serde_json escapes control characters
/// but not U+FFFE and U+FFFF, which XML forbids; they can only occur
/// inside JSON strings, where `\uFFFE` means the same.
pub(super) fn json_for_xml(json: String) -> String {
    if json.contains(['\u{fffe}', '\u{ffff}']) {
        json.replace('\u{fffe}', "\\ufffe")
            .replace('\u{ffff}', "\\uffff")
    } else {
        json
    }
}

/// An indented XML document being written to memory.
pub(super) struct XmlOut {
    w: Writer<Vec<u8>>,
}

type Res = Result<(), InteropError>;

fn io(e: std::io::Error) -> InteropError {
    InteropError::Write {
        format: "xml",
        message: e.to_string(),
    }
}

impl XmlOut {
    /// A document with its `<?xml?>` declaration written.
    pub(super) fn new() -> Result<Self, InteropError> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(io)?;
        Ok(XmlOut { w })
    }

    fn tag<'a>(name: &'a str, attrs: &[(&'a str, &'a str)]) -> BytesStart<'a> {
        let mut start = BytesStart::new(name);
        for (k, v) in attrs {
            start.push_attribute((*k, *v));
        }
        start
    }

    /// Opens an element.
    pub(super) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> Res {
        self.w
            .write_event(Event::Start(Self::tag(name, attrs)))
            .map_err(io)
    }

    /// Closes an element.
    pub(super) fn close(&mut self, name: &str) -> Res {
        self.w
            .write_event(Event::End(BytesEnd::new(name)))
            .map_err(io)
    }

    /// Writes an empty element.
    pub(super) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> Res {
        self.w
            .write_event(Event::Empty(Self::tag(name, attrs)))
            .map_err(io)
    }

    /// Writes an element holding only text.
    pub(super) fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> Res {
        let mut el = self.w.create_element(name);
        for (k, v) in attrs {
            el = el.with_attribute((*k, *v));
        }
        el.write_text_content(BytesText::new(text)).map_err(io)?;
        Ok(())
    }

    /// The document's bytes, ending in a newline.
    pub(super) fn finish(self) -> Vec<u8> {
        let mut out = self.w.into_inner();
        out.push(b'\n');
        out
    }
}

/// An element read back: local name, attributes, child elements and the
/// text directly inside it.
#[derive(Debug, Default)]
pub(super) struct Element {
    /// The local name (without namespace prefix).
    pub name: String,
    /// Attributes by local name, unescaped.
    pub attrs: BTreeMap<String, String>,
    /// Child elements, in order.
    pub children: Vec<Element>,
    /// The text directly inside, unescaped.
    pub text: String,
}

impl Element {
    /// An attribute's value.
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    /// An attribute that must be present.
    pub(super) fn required(&self, name: &str) -> Result<&str, InteropError> {
        self.attr(name).ok_or_else(|| {
            InteropError::malformed(format!("<{}> has no `{name}` attribute", self.name))
        })
    }

    /// The children with a local name.
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child with a local name.
    pub(super) fn first(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => name.to_owned(),
    }
}

fn element(start: &BytesStart<'_>, line: impl Fn() -> usize) -> Result<Element, InteropError> {
    let mut el = Element {
        name: local(start.name().as_ref()),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| InteropError::at_line(line(), e.to_string()))?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| InteropError::at_line(line(), e.to_string()))?;
        el.attrs
            .insert(local(attr.key.as_ref()), value.into_owned());
    }
    Ok(el)
}

/// Parses a document into its root element.
pub(super) fn parse(text: &str) -> Result<Element, InteropError> {
    let mut reader = Reader::from_str(text);
    let line = |pos: u64| {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
        text.as_bytes()[..pos]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    };
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| InteropError::at_line(line(reader.error_position()), e.to_string()))?;
        let here = || line(pos);
        match event {
            Event::Start(start) => stack.push(element(&start, here)?),
            Event::Empty(start) => {
                let el = element(&start, here)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| InteropError::at_line(here(), "unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Err(InteropError::at_line(here(), "unbalanced end tag")),
                }
            }
            Event::Text(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| InteropError::at_line(here(), e.to_string()))?
                        .map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .map(str::to_owned)
                };
                let resolved = resolved.ok_or_else(|| {
                    InteropError::at_line(
                        here(),
                        format!("unknown entity `&{};`", r.xml10_content()),
                    )
                })?;
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    let mut top = stack.pop().unwrap_or_default();
    if !stack.is_empty() {
        return Err(InteropError::malformed("unexpected end of document"));
    }
    if top.children.len() != 1 {
        return Err(InteropError::malformed("expected one root element"));
    }
    Ok(top.children.remove(0))
}
