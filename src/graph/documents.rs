//! Documents and the evidence quoted from them: adding documents, packing
//! their texts with a dictionary once there are enough of them, and
//! checking that each source's quote occurs in its document.

use super::undo::Undo;
use super::{Graph, GraphError};
use crate::model::{normalize_whitespace, Document, Source, TextDictionary};
use compact_str::CompactString;
use parking_lot::Mutex;
use std::sync::Arc;

/// A one-entry memo of a document's whitespace-folded text. A clone starts
/// empty: it is only a shortcut.
#[derive(Default)]
pub(super) struct FoldedText {
    last: Mutex<Option<(CompactString, Arc<str>)>>,
}

impl FoldedText {
    /// The folded text of `doc`, from the memo when it is the last one asked
    /// for.
    fn of(&self, doc: &Document) -> Arc<str> {
        let mut last = self.last.lock();
        if let Some((id, text)) = last.as_ref() {
            if *id == doc.id {
                return text.clone();
            }
        }
        let text: Arc<str> = doc.text.with(normalize_whitespace).into();
        *last = Some((doc.id.clone(), text.clone()));
        text
    }
}

impl Clone for FoldedText {
    fn clone(&self) -> Self {
        FoldedText::default()
    }
}

impl std::fmt::Debug for FoldedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FoldedText")
    }
}

impl Graph {
    /// Adds a document; its id must be new and a slug.
    pub fn add_document(&mut self, mut doc: Document) -> Result<(), GraphError> {
        crate::model::validate_id(&doc.id).map_err(GraphError::Invalid)?;
        if doc.title.trim().is_empty() || doc.publisher.trim().is_empty() {
            return Err(GraphError::Invalid(
                "document title and publisher must not be empty".into(),
            ));
        }
        if doc.text.get().trim().is_empty() {
            return Err(GraphError::Invalid("document text is empty".into()));
        }
        self.check_new_id(&doc.id)?;
        if let Some(dictionary) = &self.text_dictionary {
            doc.text.pack(dictionary);
        }
        let id = doc.id.clone();
        self.note_text(doc.longest_text());
        self.documents.insert(doc.id.clone(), Arc::new(doc));
        self.record(|| Undo::AddedDocument(id));
        Ok(())
    }

    /// Adds a document another graph holds, sharing its text rather than
    /// copying it: how a change made to one copy of the graph is replayed
    /// on the other. Its id must be new here.
    pub fn add_shared_document(&mut self, doc: Arc<Document>) -> Result<(), GraphError> {
        self.check_new_id(&doc.id)?;
        let id = doc.id.clone();
        self.note_text(doc.longest_text());
        self.documents.insert(doc.id.clone(), doc);
        self.record(|| Undo::AddedDocument(id));
        Ok(())
    }

    /// The document with this id, shared.
    pub fn document_shared(&self, id: &str) -> Option<Arc<Document>> {
        self.documents.get(id).cloned()
    }

    /// All documents, ordered by id.
    pub fn documents(&self) -> impl ExactSizeIterator<Item = &Document> + '_ {
        self.documents.values().map(|d| &**d)
    }

    /// The document with this id.
    pub fn document(&self, id: &str) -> Option<&Document> {
        self.documents.get(id).map(|d| &**d)
    }

    /// Trains a dictionary on the documents' texts and packs them with it,
    /// when there are enough of them for that to pay; a no-op once done.
    /// Runs before any source is bound, while the graph alone holds its
    /// documents, so that they are packed in place.
    pub(super) fn pack_texts(&mut self) {
        if self.text_dictionary.is_some() {
            return;
        }
        let started = std::time::Instant::now();
        let dictionary = {
            let texts: Vec<&str> = self
                .documents
                .values()
                .filter_map(|d| d.text.plain())
                .collect();
            TextDictionary::train(&texts)
        };
        let Some(dictionary) = dictionary else {
            return;
        };
        // A bulk load gets here after its first documents, a few
        // milliseconds of packing; later ones are packed as they come.
        for doc in self.documents.values_mut() {
            Arc::make_mut(doc).text.pack(&dictionary);
        }
        let (packed, bytes, held) = self
            .documents
            .values()
            .filter(|d| d.text.is_packed())
            .fold((0, 0, 0), |(n, bytes, held), d| {
                (n + 1, bytes + d.text.len(), held + d.text.held_len())
            });
        tracing::info!(
            documents = self.documents.len(),
            packed,
            text_bytes = bytes,
            packed_bytes = held,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "text dictionary trained; the documents so far packed, every later one as it comes"
        );
        self.text_dictionary = Some(dictionary);
    }

    /// The dictionary the documents' texts are packed with, if they are.
    pub fn text_dictionary(&self) -> Option<&TextDictionary> {
        self.text_dictionary.as_deref()
    }

    /// Checks that every source's document exists and holds its quote,
    /// and binds the sources to the graph's documents.
    pub(super) fn check_sources(&self, sources: &mut [Source]) -> Result<(), GraphError> {
        for s in sources {
            let doc = self
                .documents
                .get(s.document())
                .ok_or_else(|| GraphError::UnknownDocument(s.document().to_owned()))?;
            let folded = self.folded_text.of(doc);
            let quote = normalize_whitespace(&s.quote());
            if quote.is_empty() || !folded.contains(quote.as_str()) {
                return Err(GraphError::QuoteNotFound {
                    document: s.document().to_owned(),
                    quote: s.quote().into_owned(),
                });
            }
            s.bind(doc, 0);
        }
        Ok(())
    }
}
