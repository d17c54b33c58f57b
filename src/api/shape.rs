//! The cost of a document's shape, known from the parsed document alone
//! and checked before validation, which expands every fragment spread
//! where it stands: a few fragments that each spread the next twice cost
//! validation 2^n fields, so the expansion is counted here with each
//! fragment's size worked out once.
//!
//! Three bounds, all answered `QUERY_TOO_COMPLEX`:
//! - the text, before it is parsed: at most [`MAX_TOKENS`] names and
//!   directives (the parser takes seconds over a megabyte of `@a @a …`, so
//!   such a text is refused after one pass over its bytes);
//! - the document as written: its fields, fragment spreads, inline
//!   fragments, arguments and directives together (a document of 450,000
//!   unknown fields or 300,000 unknown directives is refused here, with
//!   one error, before any of them is looked up);
//! - each operation as expanded: the fields it selects once every spread is
//!   replaced by its fragment, at most the complexity limit (every field
//!   costs at least one unit of it).

use super::error::ApiError;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError};
use std::collections::HashMap;

/// The most nodes (fields, spreads, inline fragments, arguments and
/// directives) a document may have as written.
pub const MAX_WRITTEN: usize = 10_000;

/// The most names and `@`s a document's text may hold.
pub const MAX_TOKENS: usize = 4 * MAX_WRITTEN;

/// How deep braces and brackets may nest in a document's text, outside
/// strings and comments. The parser refuses selection sets nested deeper
/// than this with an error of its own, and recurses once per level of a
/// list or object value; a text within this bound never reaches either,
/// so every refusal of depth carries `QUERY_TOO_DEEP` from this module.
pub const MAX_TEXT_NESTING: usize = 64;

/// Checks the text of a document before it is parsed: it may hold at most
/// [`MAX_TOKENS`] names and directives, and nest its braces and brackets at
/// most [`MAX_TEXT_NESTING`] deep, outside strings and comments.
///
/// Written by hand: a count in one pass, where the parser (which would
/// give the same count) costs far more on the texts this refuses.
pub fn scan(text: &str) -> Result<(), ServerError> {
    let bytes = text.as_bytes();
    let (mut i, mut tokens, mut open) = (0, 0usize, 0usize);
    let name_start = |b: u8| b == b'_' || b.is_ascii_alphabetic();
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'@' => {
                tokens += 1;
                i += 1;
            }
            b'{' | b'[' => {
                open += 1;
                if open > MAX_TEXT_NESTING {
                    return Err(ApiError::TooDeep(format!(
                        "the document nests braces and brackets more than {MAX_TEXT_NESTING} deep"
                    ))
                    .into_server_error());
                }
                i += 1;
            }
            b'}' | b']' => {
                // An unbalanced text is the parser's to name.
                open = open.saturating_sub(1);
                i += 1;
            }
            b if name_start(b) => {
                tokens += 1;
                while i < bytes.len() && (name_start(bytes[i]) || bytes[i].is_ascii_digit()) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        if tokens > MAX_TOKENS {
            return Err(too_complex(format!(
                "the document holds more than {MAX_TOKENS} names and directives"
            )));
        }
    }
    Ok(())
}

/// How deep selection sets may nest, counting fields with a selection,
/// fragment spreads and inline fragments: the bound on the recursion of
/// validation, which walks every level (and, through fragment spreads,
/// more levels than the text shows).
pub const MAX_NESTING: usize = 32;

/// Checks `doc` against the bounds of the module doc; `max_expanded` is the
/// complexity limit and `max_depth` the depth limit (fields within fields,
/// through fragments).
pub fn check(
    doc: &ExecutableDocument,
    max_expanded: usize,
    max_depth: usize,
) -> Result<(), ServerError> {
    let mut written = 0usize;
    for fragment in doc.fragments.values() {
        written = written.saturating_add(count_written(&fragment.node.selection_set.node));
        written = written.saturating_add(fragment.node.directives.len());
    }
    let operations: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    for op in &operations {
        written = written.saturating_add(count_written(&op.node.selection_set.node));
        written = written.saturating_add(op.node.directives.len());
    }
    if written > MAX_WRITTEN {
        return Err(too_complex(format!(
            "the document has {written} fields, arguments and directives; at most \
             {MAX_WRITTEN} are taken"
        )));
    }
    let mut depths = Depths {
        fragments: &doc.fragments,
        known: HashMap::new(),
        visiting: Vec::new(),
        max_depth,
    };
    for op in &operations {
        depths
            .of(&op.node.selection_set.node, 0, 0)
            .map_err(|e| e.into_server_error())?;
    }
    let expanded = expanded(doc);
    if expanded > max_expanded {
        return Err(too_complex(format!(
            "the operation selects {expanded} fields once its fragments are spread; \
             at most {max_expanded} are taken"
        )));
    }
    Ok(())
}

/// The fields the largest operation of `doc` selects once every fragment
/// spread is replaced by its fragment, each fragment sized once.
pub fn expanded(doc: &ExecutableDocument) -> usize {
    let mut sizes = Sizes {
        fragments: &doc.fragments,
        known: HashMap::new(),
        visiting: Vec::new(),
    };
    match &doc.operations {
        DocumentOperations::Single(op) => sizes.of(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => ops
            .values()
            .map(|op| sizes.of(&op.node.selection_set.node))
            .max()
            .unwrap_or(0),
    }
}

fn too_complex(message: String) -> ServerError {
    ApiError::TooComplex {
        message,
        cost: None,
    }
    .into_server_error()
}

/// Nodes of `set` as written, not following spreads.
fn count_written(set: &SelectionSet) -> usize {
    set.items.iter().fold(0usize, |n, item| {
        n.saturating_add(match &item.node {
            Selection::Field(f) => 1usize
                .saturating_add(f.node.arguments.len())
                .saturating_add(f.node.directives.len())
                .saturating_add(count_written(&f.node.selection_set.node)),
            Selection::FragmentSpread(s) => 1usize.saturating_add(s.node.directives.len()),
            Selection::InlineFragment(i) => 1usize
                .saturating_add(i.node.directives.len())
                .saturating_add(count_written(&i.node.selection_set.node)),
        })
    })
}

/// Expanded sizes of selection sets, each fragment's worked out once.
struct Sizes<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    known: HashMap<&'a str, usize>,
    /// Fragments being sized, to stop at a cycle (which validation
    /// refuses anyway).
    visiting: Vec<&'a str>,
}

impl<'a> Sizes<'a> {
    fn of(&mut self, set: &'a SelectionSet) -> usize {
        let mut total = 0usize;
        for item in &set.items {
            let size = match &item.node {
                Selection::Field(f) => 1usize.saturating_add(self.of(&f.node.selection_set.node)),
                Selection::InlineFragment(i) => self.of(&i.node.selection_set.node),
                Selection::FragmentSpread(s) => self.fragment(s.node.fragment_name.node.as_str()),
            };
            total = total.saturating_add(size);
        }
        total
    }

    fn fragment(&mut self, name: &str) -> usize {
        if let Some(size) = self.known.get(name) {
            return *size;
        }
        let Some((key, fragment)) = self.fragments.get_key_value(name) else {
            // Unknown: validation names it.
            return 0;
        };
        let key = key.as_str();
        if self.visiting.contains(&key) {
            return 0;
        }
        self.visiting.push(key);
        let size = self.of(&fragment.node.selection_set.node);
        self.visiting.pop();
        self.known.insert(key, size);
        size
    }
}

/// Heights of selection sets: (fields within fields, nesting), each
/// fragment's worked out once, so a document of fragments that each spread
/// the next twice costs one walk, not 2^n. The walk stops as soon as a path
/// passes a limit, so it never recurses deeper than [`MAX_NESTING`].
struct Depths<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    known: HashMap<&'a str, (usize, usize)>,
    /// Fragments being measured, to stop at a cycle (which validation
    /// refuses anyway).
    visiting: Vec<&'a str>,
    max_depth: usize,
}

impl<'a> Depths<'a> {
    fn too_deep(&self) -> ApiError {
        ApiError::TooDeep(format!(
            "the document nests fields more than {} deep",
            self.max_depth
        ))
    }

    fn nested(&self, nesting: usize) -> Result<usize, ApiError> {
        if nesting > MAX_NESTING {
            return Err(ApiError::TooDeep(format!(
                "the document nests selections more than {MAX_NESTING} deep (fields, fragment \
                 spreads and inline fragments)"
            )));
        }
        Ok(nesting)
    }

    /// The heights of `set`, found at `depth` fields and `nesting` levels.
    fn of(
        &mut self,
        set: &'a SelectionSet,
        depth: usize,
        nesting: usize,
    ) -> Result<(usize, usize), ApiError> {
        let mut heights = (0, 0);
        for item in &set.items {
            let (fields, nest) = match &item.node {
                Selection::Field(f) => {
                    if depth + 1 > self.max_depth {
                        return Err(self.too_deep());
                    }
                    let sub = &f.node.selection_set.node;
                    if sub.items.is_empty() {
                        (1, 0)
                    } else {
                        let (h, n) = self.of(sub, depth + 1, self.nested(nesting + 1)?)?;
                        (1 + h, 1 + n)
                    }
                }
                Selection::InlineFragment(i) => {
                    let sub = &i.node.selection_set.node;
                    let (h, n) = self.of(sub, depth, self.nested(nesting + 1)?)?;
                    (h, 1 + n)
                }
                Selection::FragmentSpread(s) => {
                    let nesting = self.nested(nesting + 1)?;
                    let (h, n) =
                        self.fragment(s.node.fragment_name.node.as_str(), depth, nesting)?;
                    if depth + h > self.max_depth {
                        return Err(self.too_deep());
                    }
                    self.nested(nesting + n)?;
                    (h, 1 + n)
                }
            };
            heights = (heights.0.max(fields), heights.1.max(nest));
        }
        Ok(heights)
    }

    fn fragment(
        &mut self,
        name: &str,
        depth: usize,
        nesting: usize,
    ) -> Result<(usize, usize), ApiError> {
        if let Some(heights) = self.known.get(name) {
            return Ok(*heights);
        }
        let Some((key, fragment)) = self.fragments.get_key_value(name) else {
            // Unknown: validation names it.
            return Ok((0, 0));
        };
        let key = key.as_str();
        if self.visiting.contains(&key) {
            return Ok((0, 0));
        }
        self.visiting.push(key);
        let heights = self.of(&fragment.node.selection_set.node, depth, nesting);
        self.visiting.pop();
        let heights = heights?;
        self.known.insert(key, heights);
        Ok(heights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn checked(query: &str, max: usize) -> Result<(), String> {
        let doc = parse_query(query).map_err(|e| e.to_string())?;
        check(&doc, max, 15).map_err(|e| e.message)
    }

    /// `n` fragments, each spreading the next twice.
    fn fan_out(n: usize) -> String {
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..n {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{next} ...F{next} }}\n",
                next = i + 1
            ));
        }
        q.push_str(&format!("fragment F{n} on Query {{ graphVersion }}\n"));
        q
    }

    #[test]
    fn text_nesting_is_bounded_outside_strings_and_comments() {
        let nested = |n: usize| format!("{{ a(v: {}1{}) }}", "[".repeat(n), "]".repeat(n));
        assert!(scan(&nested(MAX_TEXT_NESTING - 1)).is_ok());
        let e = scan(&nested(MAX_TEXT_NESTING)).unwrap_err();
        assert!(e.message.contains("braces and brackets"), "{}", e.message);
        // Balanced levels side by side do not add up.
        assert!(scan(&"{ a { b } }".repeat(1000)).is_ok());
        let quoted = format!("{{ a(v: \"{}\") }}", "{".repeat(500));
        assert!(scan(&quoted).is_ok());
        let block = format!("{{ a(v: \"\"\"{}\"\"\") }}", "[".repeat(500));
        assert!(scan(&block).is_ok());
        let comment = format!("{{ a }} # {}\n", "{".repeat(500));
        assert!(scan(&comment).is_ok());
    }

    #[test]
    fn fragment_fan_out_is_counted_as_expanded_without_expanding() {
        assert!(checked(&fan_out(10), 5000).is_ok()); // 1,024 fields
        let err = checked(&fan_out(13), 5000).unwrap_err(); // 8,192
        assert!(err.contains("8192 fields"), "{err}");
        // Sized once per fragment: 60 levels would be 2^60 expanded.
        let started = std::time::Instant::now();
        assert!(checked(&fan_out(60), 5000).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn documents_are_bounded_as_written() {
        let fields = "{ ".to_owned() + &"a ".repeat(MAX_WRITTEN + 1) + "}";
        assert!(checked(&fields, usize::MAX)
            .unwrap_err()
            .contains("fields, arguments"));
        let directives = "{ graphVersion ".to_owned() + &"@a ".repeat(MAX_WRITTEN) + "}";
        assert!(checked(&directives, usize::MAX).is_err());
        assert!(checked("{ graphVersion stats { entities } }", 10).is_ok());
    }

    #[test]
    fn texts_are_bounded_before_parsing_outside_strings_and_comments() {
        let directives = "{ graphVersion ".to_owned() + &"@a ".repeat(MAX_TOKENS) + "}";
        assert!(scan(&directives).is_err());
        // Names inside strings, block strings and comments do not count.
        let words = "a ".repeat(MAX_TOKENS + 1);
        let quoted = format!(
            "{{ entities(search: \"{words}\") {{ totalCount }} }} # {words}\n\
             {{ x(a: \"\"\"{words} \\\"\"\" {words}\"\"\") }}"
        );
        assert!(scan(&quoted).is_ok());
        assert!(scan(&format!("{{ {words} }}")).is_err());
        assert!(scan("{ graphVersion stats { entities } }").is_ok());
    }

    #[test]
    fn cycles_and_unknown_fragments_are_left_to_validation() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(checked(cycle, 10).is_ok());
        assert!(checked("{ ...Missing }", 10).is_ok());
    }

    fn depth_checked(query: &str, max_depth: usize) -> Result<(), ServerError> {
        let doc = parse_query(query).map_err(|e| ServerError::new(e.to_string(), None))?;
        check(&doc, usize::MAX, max_depth)
    }

    fn code(e: &ServerError) -> String {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    #[test]
    fn fields_within_fields_count_through_fragments() {
        let direct = "{ a { b { c } } }";
        assert!(depth_checked(direct, 3).is_ok());
        let e = depth_checked(direct, 2).unwrap_err();
        assert_eq!(code(&e), "\"QUERY_TOO_DEEP\"", "{}", e.message);
        let spread = "{ a { ...F } } fragment F on A { b { ... on B { c } } }";
        assert!(depth_checked(spread, 3).is_ok());
        assert!(depth_checked(spread, 2).is_err());
        // A fragment measured once, then met deeper down.
        let twice = "{ ...F a { b { ...F } } } fragment F on A { x { y } }";
        assert!(depth_checked(twice, 4).is_ok());
        assert!(depth_checked(twice, 3).is_err());
    }

    #[test]
    fn nesting_counts_spreads_and_inline_fragments() {
        let chain = |n: usize| {
            let mut q = String::from("{ ...F0 }");
            for i in 0..n {
                q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
            }
            q.push_str(&format!(" fragment F{n} on Query {{ a }}"));
            q
        };
        assert!(depth_checked(&chain(MAX_NESTING - 1), 15).is_ok());
        let e = depth_checked(&chain(MAX_NESTING + 5), 15).unwrap_err();
        assert_eq!(code(&e), "\"QUERY_TOO_DEEP\"", "{}", e.message);
        let inline = format!("{{ {} a {} }}", "... on Query {".repeat(40), "}".repeat(40));
        assert!(depth_checked(&inline, 15).is_err());
        // Fan-out measured once per fragment: this would take 2^30 steps
        // expanded.
        assert!(depth_checked(&fan_out(30), 15).is_ok());
    }
}
