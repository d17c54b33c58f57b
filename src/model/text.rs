//! Documents' texts, held as written or packed with a dictionary trained on
//! the graph's own documents.
//!
//! In a large graph the texts are the largest single part of its memory
//! (every quote is a place in one), yet they are read rarely: to check a
//! quote on a write, to show a document or a quote. Documents of one graph
//! share their phrasing, so zstd with a dictionary trained on a sample of
//! them packs each text on its own, readable in about a microsecond, where
//! packing texts one by one without it gains little.
//!
//! Also here: [`fold`], the form in which names and queries are compared.

use super::normalize_whitespace;
use deunicode::deunicode;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

/// Fewer documents than this are not worth a dictionary.
const MIN_DOCUMENTS: usize = 64;
/// Nor less text than this.
const MIN_TEXT_BYTES: usize = 256 * 1024;
/// At most this many texts are sampled to train the dictionary: enough for
/// its phrases to be the common ones, few enough to train in a blink.
const MAX_SAMPLES: usize = 2048;
/// The dictionary's size: zstd's gains flatten beyond this for short texts.
const DICTIONARY_BYTES: usize = 64 * 1024;
/// zstd's default level: packing runs once per document, reading often.
const LEVEL: i32 = 3;
/// Idle coders kept for reuse; each holds its own copy of the dictionary.
const MAX_IDLE_CODERS: usize = 8;

/// A document's full text.
#[derive(Clone, Default)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Plain(String),
    Packed {
        /// Shared so that [`LAST`] can hold on to what it unpacked, and an
        /// address it knows is never reused for another text.
        bytes: Arc<[u8]>,
        len: u32,
        dictionary: Arc<TextDictionary>,
    },
}

thread_local! {
    /// The packed text this thread unpacked last, with its words: an export
    /// or a page of evidence reads the quotes of one document in a run, and
    /// each would otherwise unpack the whole text again.
    static LAST: RefCell<Option<Unpacked>> = const { RefCell::new(None) };
}

/// A packed text and its words.
type Unpacked = (Arc<[u8]>, Arc<str>);

impl Default for Repr {
    fn default() -> Self {
        Repr::Plain(String::new())
    }
}

impl Text {
    /// The text: borrowed when held as written, else a copy.
    pub fn get(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Plain(text) => Cow::Borrowed(text),
            Repr::Packed { .. } => Cow::Owned(self.with(str::to_owned)),
        }
    }

    /// What `read` makes of the text, unpacking it only if this thread did
    /// not just do so.
    pub fn with<R>(&self, read: impl FnOnce(&str) -> R) -> R {
        let (bytes, len, dictionary) = match &self.0 {
            Repr::Plain(text) => return read(text),
            Repr::Packed {
                bytes,
                len,
                dictionary,
            } => (bytes, *len as usize, dictionary),
        };
        let last = LAST.with(|last| {
            last.try_borrow().ok().and_then(|last| {
                let (b, text) = last.as_ref()?;
                Arc::ptr_eq(b, bytes).then(|| text.clone())
            })
        });
        if let Some(text) = last {
            return read(&text);
        }
        let text: Arc<str> = match dictionary.unpack(bytes, len) {
            Ok(text) => text.into(),
            Err(e) => {
                // Every packed text was read back when it was packed; the
                // store keeps the text as written either way.
                tracing::error!(error = %e, "a packed document text did not unpack");
                return read("");
            }
        };
        LAST.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some((bytes.clone(), text.clone()));
            }
        });
        read(&text)
    }

    /// The text when it is held as written.
    pub fn plain(&self) -> Option<&str> {
        match &self.0 {
            Repr::Plain(text) => Some(text),
            Repr::Packed { .. } => None,
        }
    }

    /// Whether the text is held packed.
    pub fn is_packed(&self) -> bool {
        matches!(self.0, Repr::Packed { .. })
    }

    /// Bytes of the text as written.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Plain(text) => text.len(),
            Repr::Packed { len, .. } => *len as usize,
        }
    }

    /// Bytes the text takes in memory: packed or as written.
    pub fn held_len(&self) -> usize {
        match &self.0 {
            Repr::Plain(text) => text.len(),
            Repr::Packed { bytes, .. } => bytes.len(),
        }
    }

    /// Whether the text has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Packs a plain text with `dictionary`, unless it does not get
    /// smaller or does not read back the same.
    pub(crate) fn pack(&mut self, dictionary: &Arc<TextDictionary>) {
        let Repr::Plain(text) = &self.0 else {
            return;
        };
        if let Some(packed) = dictionary.pack(text) {
            self.0 = packed;
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(Repr::Plain(text))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text(Repr::Plain(text.to_owned()))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.get() == other.get()
    }
}

impl Eq for Text {}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.get())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

/// A zstd dictionary trained on a graph's documents, with coders that hold
/// it, kept for reuse: loading a 64 KiB dictionary into a coder costs more
/// than the texts it then packs or unpacks.
pub struct TextDictionary {
    raw: Vec<u8>,
    packers: Mutex<Vec<zstd::bulk::Compressor<'static>>>,
    unpackers: Mutex<Vec<zstd::bulk::Decompressor<'static>>>,
}

impl TextDictionary {
    /// A dictionary trained on a sample of `texts`, or `None` when they are
    /// too few or too short to gain from one (or training fails, which only
    /// means the texts stay as written).
    pub fn train(texts: &[&str]) -> Option<Arc<Self>> {
        let total: usize = texts.iter().map(|t| t.len()).sum();
        if texts.len() < MIN_DOCUMENTS || total < MIN_TEXT_BYTES {
            return None;
        }
        let step = texts.len().div_ceil(MAX_SAMPLES);
        let samples: Vec<&[u8]> = texts.iter().step_by(step).map(|t| t.as_bytes()).collect();
        let size = DICTIONARY_BYTES.min(total / 16);
        match zstd::dict::from_samples(&samples, size) {
            Ok(raw) => Some(Arc::new(TextDictionary {
                raw,
                packers: Mutex::default(),
                unpackers: Mutex::default(),
            })),
            Err(e) => {
                tracing::debug!(error = %e, "no dictionary for document texts");
                None
            }
        }
    }

    /// `text` packed, if that makes it smaller and it reads back the same.
    fn pack(self: &Arc<Self>, text: &str) -> Option<Repr> {
        let len = u32::try_from(text.len()).ok()?;
        let mut packer = match take(&self.packers) {
            Some(p) => p,
            None => zstd::bulk::Compressor::with_dictionary(LEVEL, &self.raw).ok()?,
        };
        let packed = packer.compress(text.as_bytes());
        give_back(&self.packers, packer);
        let bytes = packed.ok()?;
        if bytes.len() >= text.len() || self.unpack(&bytes, text.len()).ok()? != text {
            return None;
        }
        Some(Repr::Packed {
            bytes: bytes.into(),
            len,
            dictionary: self.clone(),
        })
    }

    fn unpack(&self, bytes: &[u8], len: usize) -> Result<String, std::io::Error> {
        let mut unpacker = match take(&self.unpackers) {
            Some(u) => u,
            None => zstd::bulk::Decompressor::with_dictionary(&self.raw)?,
        };
        let text = unpacker.decompress(bytes, len);
        give_back(&self.unpackers, unpacker);
        String::from_utf8(text?).map_err(std::io::Error::other)
    }
}

impl std::fmt::Debug for TextDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextDictionary({} bytes)", self.raw.len())
    }
}

fn take<T>(pool: &Mutex<Vec<T>>) -> Option<T> {
    pool.lock().pop()
}

fn give_back<T>(pool: &Mutex<Vec<T>>, coder: T) {
    let mut idle = pool.lock();
    if idle.len() < MAX_IDLE_CODERS {
        idle.push(coder);
    }
}

/// Lower-cases and strips accents so that "Peshmerga’s" and "PESHMERGA'S"
/// compare equal; deunicode also maps curly quotes to straight ones.
pub fn fold(s: &str) -> String {
    deunicode(&normalize_whitespace(s)).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts phrased alike, as a graph's documents are, and long enough
    /// together for a dictionary.
    fn texts() -> Vec<String> {
        (0..400)
            .map(|i| {
                (0..20)
                    .map(|j| format!("Unit {i}-{j} of the {} Brigade is an armed force. ", i % 7))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn packed_texts_read_back_as_written() {
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let dictionary = TextDictionary::train(&refs);
        assert!(
            dictionary.is_some(),
            "enough alike text trains a dictionary"
        );
        let Some(dictionary) = dictionary else { return };
        let mut packed_bytes = 0;
        for t in &texts {
            let mut text = Text::from(t.as_str());
            text.pack(&dictionary);
            assert!(text.is_packed() && text.plain().is_none());
            assert_eq!(text.get(), t.as_str());
            assert_eq!(text.len(), t.len());
            assert!(text.held_len() < t.len());
            assert_eq!(text, Text::from(t.as_str()));
            if let Repr::Packed { bytes, .. } = &text.0 {
                packed_bytes += bytes.len();
            }
        }
        let written: usize = texts.iter().map(String::len).sum();
        assert!(packed_bytes * 3 < written, "{packed_bytes} of {written}");
        // Read in turns, each text still reads as itself (the memo of the
        // last one unpacked is keyed by the text, not by its length).
        let (mut a, mut b) = (Text::from(texts[1].as_str()), Text::from(texts[2].as_str()));
        a.pack(&dictionary);
        b.pack(&dictionary);
        for _ in 0..3 {
            assert_eq!(a.with(str::to_owned), texts[1]);
            assert_eq!(b.get(), texts[2].as_str());
            assert_eq!(b.with(|t| t.len()), texts[2].len());
        }
    }

    #[test]
    fn few_or_short_texts_stay_as_written() {
        assert!(TextDictionary::train(&["one short text"; 10]).is_none());
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).take(20).collect();
        assert!(TextDictionary::train(&refs).is_none());
    }

    #[test]
    fn texts_read_and_write_as_strings() {
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let Some(dictionary) = TextDictionary::train(&refs) else {
            panic!("no dictionary")
        };
        let mut text = Text::from(texts[3].clone());
        text.pack(&dictionary);
        let json = serde_json::to_string(&text).unwrap_or_default();
        assert_eq!(json, serde_json::to_string(&texts[3]).unwrap_or_default());
        let back: Text = serde_json::from_str(&json).unwrap_or_default();
        assert!(!back.is_packed());
        assert_eq!(back, text);
        // A text that packing would not shrink stays as written.
        let mut tiny = Text::from("x");
        tiny.pack(&dictionary);
        assert!(!tiny.is_packed() && tiny.get() == "x");
    }

    #[test]
    fn fold_ignores_case_and_accents() {
        assert_eq!(fold("Iraq’s  Café"), "iraq's cafe");
    }
}
