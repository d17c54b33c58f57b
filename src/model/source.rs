//! Documents and the evidence that ties every fact to one of them.

use super::text::Text;
use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// A source document: an article, report or statement, with its full text
/// so that every quote taken from it can be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Document {
    /// Stable readable slug.
    pub id: CompactString,
    /// Headline or title.
    pub title: CompactString,
    /// Who published it (Kurdistan24).
    pub publisher: CompactString,
    /// Publication date, when the document states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_on: Option<NaiveDate>,
    /// Where it was filed from (Erbil).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dateline: Option<CompactString>,
    /// The full text; quotes must occur in it.
    pub text: Text,
}

impl Document {
    /// The bytes of its longest text (id, title, publisher, dateline or
    /// full text): see [`super::Entity::longest_text`].
    pub fn longest_text(&self) -> usize {
        super::longest([
            self.id.len(),
            self.title.len(),
            self.publisher.len(),
            self.dateline.as_ref().map_or(0, |d| d.len()),
            self.text.len(),
        ])
    }

    /// Whether `quote` occurs in the text once runs of whitespace in both
    /// are folded to single spaces. An empty quote never occurs.
    pub fn contains_quote(&self, quote: &str) -> bool {
        let quote = normalize_whitespace(quote);
        !quote.is_empty() && self.text.with(normalize_whitespace).contains(&quote)
    }
}

/// Evidence for a fact: the document and the verbatim words that state it.
///
/// A source from a client or a file names its document by id and owns its
/// quote. Once the graph holds it, it points at the graph's copy of the
/// document and, when the quote occurs in the text byte for byte, keeps
/// only where: the quotes of a graph are mostly the very words of its
/// documents, and holding them twice would cost more than any other part
/// of a relation.
#[derive(Clone)]
pub struct Source(Held);

/// A source as the graph holds it, or as it came.
#[derive(Clone)]
enum Held {
    /// Pointing at the graph's document.
    Bound {
        document: Arc<Document>,
        quote: Quote,
    },
    /// Naming its document, before the graph binds it: boxed so that a
    /// source stays three words long, and apart from any document, since
    /// millions of sources are read at start-up and bound at once.
    Unbound(Box<Unbound>),
}

/// What a source that is not bound yet holds.
#[derive(Clone)]
struct Unbound {
    document: CompactString,
    quote: String,
}

/// A bound quote, as words of its own or as a place in its document's text.
#[derive(Clone)]
enum Quote {
    /// Bytes `start..start + len` of the document's text.
    Span { start: u32, len: u32 },
    /// Words that are not in the text byte for byte (they match it only
    /// once whitespace is folded). Boxed twice so that a source stays three
    /// words long.
    #[allow(clippy::box_collection)]
    Own(Box<String>),
}

impl Source {
    /// A source naming document `document` with its own quote.
    pub fn new(document: impl Into<CompactString>, quote: impl Into<String>) -> Self {
        Source(Held::Unbound(Box::new(Unbound {
            document: document.into(),
            quote: quote.into(),
        })))
    }

    /// Id of the document.
    pub fn document(&self) -> &str {
        match &self.0 {
            Held::Bound { document, .. } => &document.id,
            Held::Unbound(u) => &u.document,
        }
    }

    /// The verbatim words, as given: borrowed, unless they are a place in
    /// a packed text.
    pub fn quote(&self) -> Cow<'_, str> {
        match &self.0 {
            Held::Bound {
                document,
                quote: Quote::Span { start, len },
            } => {
                let range = *start as usize..*start as usize + *len as usize;
                // Spans are only made where the text has these bytes.
                match document.text.plain() {
                    Some(text) => Cow::Borrowed(text.get(range).unwrap_or_default()),
                    None => Cow::Owned(
                        document
                            .text
                            .with(|text| text.get(range).unwrap_or_default().to_owned()),
                    ),
                }
            }
            Held::Bound {
                quote: Quote::Own(words),
                ..
            } => Cow::Borrowed(words),
            Held::Unbound(u) => Cow::Borrowed(&u.quote),
        }
    }

    /// The bytes of its longest text, its quote or its document's id: see
    /// [`super::Entity::longest_text`]. Counted without unpacking a text.
    pub fn longest_text(&self) -> usize {
        let quote = match &self.0 {
            Held::Bound {
                quote: Quote::Span { len, .. },
                ..
            } => *len as usize,
            Held::Bound {
                quote: Quote::Own(words),
                ..
            } => words.len(),
            Held::Unbound(u) => u.quote.len(),
        };
        quote.max(self.document().len())
    }

    /// Whether both sources point at one copy of their document.
    pub fn same_document(&self, other: &Source) -> bool {
        match (&self.0, &other.0) {
            (Held::Bound { document: a, .. }, Held::Bound { document: b, .. }) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Whether the quote is held as a place in its document's text rather
    /// than as words of its own.
    pub fn quote_in_text(&self) -> bool {
        matches!(
            self.0,
            Held::Bound {
                quote: Quote::Span { .. },
                ..
            }
        )
    }

    /// Points this source at `doc`, the graph's document of the same id,
    /// and keeps its quote as a place in `doc`'s text when it occurs there
    /// byte for byte, looking first at `hint` (where the previous quote of
    /// a run ended). Returns where the quote ends in the text, if it is
    /// there.
    pub(crate) fn bind(&mut self, doc: &Arc<Document>, hint: usize) -> Option<usize> {
        if let Held::Bound {
            document,
            quote: Quote::Span { start, len },
        } = &self.0
        {
            if Arc::ptr_eq(document, doc) {
                return Some(*start as usize + *len as usize);
            }
        }
        let at = doc.text.with(|text| find_from(text, &self.quote(), hint));
        let placeholder = Held::Bound {
            document: doc.clone(),
            quote: Quote::Span { start: 0, len: 0 },
        };
        // A place in another copy of the text becomes words of its own
        // until they are found in this one.
        let words = match std::mem::replace(&mut self.0, placeholder) {
            Held::Unbound(u) => u.quote,
            Held::Bound {
                quote: Quote::Own(words),
                ..
            } => *words,
            bound @ Held::Bound { .. } => Source(bound).quote().into_owned(),
        };
        let span = at.and_then(|at| {
            let start = u32::try_from(at).ok()?;
            let len = u32::try_from(words.len()).ok()?;
            Some((Quote::Span { start, len }, at + words.len()))
        });
        let (quote, end) = match span {
            Some((span, end)) => (span, Some(end)),
            None => (Quote::Own(Box::new(words)), None),
        };
        self.0 = Held::Bound {
            document: doc.clone(),
            quote,
        };
        end
    }
}

/// Where `words` occurs in `text`: first looking from `hint` on (the quotes
/// of a document usually come in the order of its text, so the next one is
/// a few bytes ahead), then in the whole text.
fn find_from(text: &str, words: &str, hint: usize) -> Option<usize> {
    if words.is_empty() {
        return None;
    }
    if let Some(at) = text.get(hint..).and_then(|rest| rest.find(words)) {
        return Some(hint + at);
    }
    text.find(words)
}

impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        self.document() == other.document() && self.quote() == other.quote()
    }
}

impl Eq for Source {}

impl std::hash::Hash for Source {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.document().hash(state);
        self.quote().hash(state);
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("document", &self.document())
            .field("quote", &self.quote())
            .finish()
    }
}

/// A source as it is written: document id and quote.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceRecord<'a> {
    document: std::borrow::Cow<'a, str>,
    quote: std::borrow::Cow<'a, str>,
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SourceRecord {
            document: self.document().into(),
            quote: self.quote(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = SourceRecord::deserialize(deserializer)?;
        Ok(Source::new(r.document.into_owned(), r.quote.into_owned()))
    }
}

/// The evidence of an item, used as a slice of sources. Almost always one
/// source, kept inline; more go to the heap. Written by hand rather than
/// as a `SmallVec`: its length word would make every relation 8 bytes
/// larger, and the enum fits in a source's own three words.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub enum Sources {
    /// No source (an item that will not pass validation).
    #[default]
    Empty,
    /// One source.
    One(Source),
    /// Two or more.
    Many(Box<Vec<Source>>),
}

impl Sources {
    /// No sources.
    pub fn new() -> Self {
        Sources::Empty
    }

    /// Adds a source at the end.
    pub fn push(&mut self, source: Source) {
        *self = match std::mem::take(self) {
            Sources::Empty => Sources::One(source),
            Sources::One(first) => Sources::Many(Box::new(vec![first, source])),
            Sources::Many(mut all) => {
                all.push(source);
                Sources::Many(all)
            }
        };
    }

    /// Removes every source.
    pub fn clear(&mut self) {
        *self = Sources::Empty;
    }

    /// Drops spare room, and moves a list of one inline.
    pub fn shrink_to_fit(&mut self) {
        if let Sources::Many(all) = self {
            if all.len() < 2 {
                let all = std::mem::take(&mut **all);
                *self = all.into();
            } else {
                all.shrink_to_fit();
            }
        }
    }
}

impl std::ops::Deref for Sources {
    type Target = [Source];
    fn deref(&self) -> &[Source] {
        match self {
            Sources::Empty => &[],
            Sources::One(one) => std::slice::from_ref(one),
            Sources::Many(all) => all,
        }
    }
}

impl std::ops::DerefMut for Sources {
    fn deref_mut(&mut self) -> &mut [Source] {
        match self {
            Sources::Empty => &mut [],
            Sources::One(one) => std::slice::from_mut(one),
            Sources::Many(all) => all,
        }
    }
}

impl From<Vec<Source>> for Sources {
    fn from(mut all: Vec<Source>) -> Self {
        match all.len() {
            0 => Sources::Empty,
            1 => all.pop().map_or(Sources::Empty, Sources::One),
            _ => Sources::Many(Box::new(all)),
        }
    }
}

impl FromIterator<Source> for Sources {
    fn from_iter<I: IntoIterator<Item = Source>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<_>>().into()
    }
}

impl<'a> IntoIterator for &'a Sources {
    type Item = &'a Source;
    type IntoIter = std::slice::Iter<'a, Source>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Sources {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Source>::deserialize(deserializer).map(Sources::from)
    }
}

/// Folds every run of whitespace into one space and trims the ends, so a
/// quote copied across a line break still matches.
pub fn normalize_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document {
            id: "d".into(),
            title: "t".into(),
            publisher: "p".into(),
            published_on: None,
            dateline: None,
            text: text.into(),
        }
    }

    #[test]
    fn quotes_match_modulo_whitespace() {
        let d = doc("The  Peshmerga\nForces have joined.");
        assert!(d.contains_quote("Peshmerga Forces"));
        assert!(d.contains_quote("  The Peshmerga   Forces "));
        assert!(!d.contains_quote("Peshmerga forces"));
        assert!(!d.contains_quote(""));
        assert!(!d.contains_quote("   "));
    }

    #[test]
    fn bound_quotes_point_into_the_text_when_verbatim() {
        let d = Arc::new(doc(
            "The Peshmerga\nForces have joined. The Peshmerga train.",
        ));
        let mut verbatim = Source::new("d", "The Peshmerga train");
        assert_eq!(verbatim.bind(&d, 0), Some(53));
        assert!(verbatim.quote_in_text());
        assert_eq!(verbatim.quote(), "The Peshmerga train");
        // The hint finds the later of two equal quotes.
        let mut again = Source::new("d", "The Peshmerga");
        assert_eq!(again.bind(&d, 33), Some(47));
        // Bound already, it stays where it is.
        assert_eq!(again.bind(&d, 0), Some(47));
        // Words that match only once whitespace is folded keep their own.
        let mut folded = Source::new("d", "Peshmerga Forces");
        assert_eq!(folded.bind(&d, 0), None);
        assert!(!folded.quote_in_text() && folded.same_document(&verbatim));
        assert_eq!(folded.quote(), "Peshmerga Forces");
        // Bound to another copy of the document, a span is looked up again.
        let other = Arc::new(doc("The Peshmerga train."));
        assert_eq!(verbatim.bind(&other, 0), Some(19));
        assert_eq!(verbatim.quote(), "The Peshmerga train");
        let gone = Arc::new(doc("Nothing alike."));
        assert_eq!(verbatim.bind(&gone, 0), None);
        assert_eq!(verbatim.quote(), "The Peshmerga train");
    }

    #[test]
    fn sources_read_and_write_as_document_and_quote() {
        let d = Arc::new(doc("Forces have joined."));
        let mut s = Source::new("d", "have joined");
        s.bind(&d, 0);
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(json, r#"{"document":"d","quote":"have joined"}"#);
        let back: Source = serde_json::from_str(&json).unwrap_or_else(|_| Source::new("", ""));
        assert_eq!(back, s);
        assert!(serde_json::from_str::<Source>(r#"{"document":"d","quote":"q","x":1}"#).is_err());
    }

    #[test]
    fn sources_grow_from_none_to_one_inline_to_many() {
        let (a, b) = (Source::new("d", "a"), Source::new("d", "b"));
        let mut list = Sources::new();
        assert!(list.is_empty());
        list.push(a.clone());
        assert!(matches!(list, Sources::One(_)) && list[..] == [a.clone()]);
        list.push(b.clone());
        assert_eq!(list[..], [a.clone(), b.clone()]);
        let json = serde_json::to_string(&list).unwrap_or_default();
        let back: Sources = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, list);
        let one: Sources = vec![a.clone()].into();
        assert!(matches!(one, Sources::One(_)));
        let mut shrunk = Sources::Many(Box::new(vec![b.clone()]));
        shrunk.shrink_to_fit();
        assert_eq!(shrunk, Sources::One(b));
        list.clear();
        assert_eq!(list, Sources::Empty);
        assert_eq!(
            std::mem::size_of::<Sources>(),
            std::mem::size_of::<Source>()
        );
    }
}
