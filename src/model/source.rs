//! Documents and the evidence that ties every fact to one of them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A source document: an article, report or statement, with its full text
/// so that every quote taken from it can be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Document {
    /// Stable readable slug.
    pub id: String,
    /// Headline or title.
    pub title: String,
    /// Who published it (Kurdistan24).
    pub publisher: String,
    /// Publication date, when the document states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_on: Option<NaiveDate>,
    /// Where it was filed from (Erbil).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dateline: Option<String>,
    /// The full text; quotes must occur in it.
    pub text: String,
}

impl Document {
    /// Whether `quote` occurs in the text once runs of whitespace in both
    /// are folded to single spaces. An empty quote never occurs.
    pub fn contains_quote(&self, quote: &str) -> bool {
        let quote = normalize_whitespace(quote);
        !quote.is_empty() && normalize_whitespace(&self.text).contains(&quote)
    }
}

/// Evidence for a fact: the document and the verbatim words that state it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Id of the document; shared with the other sources that quote it in
    /// a loaded graph.
    pub document: Arc<str>,
    /// Verbatim words of the document (whitespace-normalised).
    pub quote: String,
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
}
