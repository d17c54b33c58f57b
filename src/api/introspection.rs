//! Schema introspection that says what the SDL says.
//!
//! async-graphql answers `__schema` and `__type` from its registry, but its
//! `__Type.interfaces` is filled for object types only: an interface that
//! implements another (`interface Entity implements Node`) introspects with
//! `interfaces: null`, so tools that build client types from introspection
//! (graphql-codegen, the Relay compiler, `buildClientSchema`) see a schema
//! other than the one printed in `schema/schema.graphql`.
//!
//! Rather than special-case that one field, the introspection part of every
//! operation is answered by apollo-compiler's introspection engine, a
//! complete implementation of the specification's section on it, run over
//! the SDL that async-graphql prints from the same code. It runs in the
//! schema's extension ([`super::guards`]), so every transport (HTTP,
//! WebSocket, tests calling `execute`) gets the same answer. async-graphql
//! still parses, validates (with the depth and cost limits) and executes
//! the operation first; its answer for `__schema` and `__type` root fields
//! is then replaced by the engine's, key by key, so an operation mixing
//! introspection and data keeps its data and its order. Operations without
//! those fields pay one walk of their root selection.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, Value as ConstValue, Variables};
use std::sync::OnceLock;

/// The schema as apollo-compiler sees it, built once from the printed SDL.
struct Engine {
    schema: apollo_compiler::validation::Valid<apollo_compiler::Schema>,
    implementers: apollo_compiler::collections::HashMap<
        apollo_compiler::Name,
        apollo_compiler::schema::Implementers,
    >,
}

impl Engine {
    fn new() -> Result<Engine, String> {
        let schema = apollo_compiler::Schema::parse_and_validate(super::sdl(), "schema.graphql")
            .map_err(|e| e.errors.to_string())?;
        let implementers = schema.implementers_map();
        Ok(Engine {
            schema,
            implementers,
        })
    }

    /// The introspection root fields of `query`'s operation, answered.
    fn answer(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        use apollo_compiler::{introspection, request, ExecutableDocument};
        let doc = ExecutableDocument::parse_and_validate(&self.schema, query, "query.graphql")
            .map_err(|e| e.errors.to_string())?;
        let operation = doc
            .operations
            .get(operation_name)
            .map_err(|e| e.message().to_string())?;
        let variables: apollo_compiler::response::JsonMap = match variables {
            serde_json::Value::Null => Default::default(),
            v => serde_json::from_value(v).map_err(|e| e.to_string())?,
        };
        let variables = request::coerce_variable_values(&self.schema, operation, &variables)
            .map_err(|e| e.message().to_string())?;
        let response = introspection::partial_execute(
            &self.schema,
            &self.implementers,
            &doc,
            operation,
            &variables,
        )
        .map_err(|e| e.message().to_string())?;
        if let Some(error) = response.errors.first() {
            return Err(error.message.clone());
        }
        match serde_json::to_value(response.data).map_err(|e| e.to_string())? {
            serde_json::Value::Object(data) => Ok(data),
            _ => Ok(Default::default()),
        }
    }
}

/// The engine, or why it could not be built (then async-graphql's own
/// answer stands, and the reason is logged once per request that needed
/// it). The schema is fixed at compile time, so one per process.
fn engine() -> &'static Result<Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE.get_or_init(Engine::new)
}

/// One request's introspection, answered with the SDL's meaning: the
/// request is kept once parsed if it introspects, and its answer merged
/// into async-graphql's once executed. Run by the schema's extension
/// ([`super::guards`]).
pub(super) struct IntrospectionAnswer {
    /// The query text and variables, kept only when the document has an
    /// introspection root field.
    request: OnceLock<(String, serde_json::Value)>,
}

impl IntrospectionAnswer {
    /// Nothing kept yet.
    pub(super) fn new() -> Self {
        IntrospectionAnswer {
            request: OnceLock::new(),
        }
    }

    /// Keeps the request if its parsed document introspects.
    pub(super) fn parsed(&self, query: &str, variables: &Variables, doc: &ExecutableDocument) {
        if introspects(doc) {
            let variables = variables
                .clone()
                .into_value()
                .into_json()
                .unwrap_or_default();
            let _ = self.request.set((without_is_one_of(query, doc), variables));
        }
    }

    /// async-graphql's `response`, its introspection root fields answered
    /// by the engine.
    pub(super) fn answered(
        &self,
        operation_name: Option<&str>,
        mut response: Response,
    ) -> Response {
        let Some((query, variables)) = self.request.get() else {
            return response;
        };
        let ConstValue::Object(data) = &mut response.data else {
            return response;
        };
        let answer = match engine() {
            Ok(engine) => engine.answer(query, operation_name, variables.clone()),
            Err(why) => Err(why.clone()),
        };
        match answer {
            Ok(answer) => {
                for (key, value) in answer {
                    // Only what async-graphql answered: a field it left
                    // null for an error keeps its error.
                    let Some(slot) = data.get_mut(key.as_str()) else {
                        continue;
                    };
                    if *slot == ConstValue::Null {
                        continue;
                    }
                    // Replaced only once the merged answer is whole: a
                    // conversion that fails leaves async-graphql's answer.
                    let Ok(own) = slot.clone().into_json() else {
                        continue;
                    };
                    if let Ok(value) = ConstValue::from_json(merged(value, own)) {
                        *slot = value;
                    }
                }
            }
            Err(why) => tracing::warn!(%why, "introspection left as async-graphql answered it"),
        }
        response
    }
}

/// `query` with its `isOneOf` fields blanked out: the engine does not know
/// that field yet (it came to the specification after it), while
/// async-graphql answers it; [`merged`] takes it from async-graphql's
/// answer. Blanking keeps every other position in the text.
fn without_is_one_of(query: &str, doc: &ExecutableDocument) -> String {
    fn collect(set: &SelectionSet, at: &mut Vec<async_graphql::Pos>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    if f.node.name.node == "isOneOf" && f.node.alias.is_none() {
                        at.push(f.node.name.pos);
                    }
                    collect(&f.node.selection_set.node, at);
                }
                Selection::InlineFragment(f) => collect(&f.node.selection_set.node, at),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut at = Vec::new();
    for (_, op) in doc.operations.iter() {
        collect(&op.node.selection_set.node, &mut at);
    }
    for fragment in doc.fragments.values() {
        collect(&fragment.node.selection_set.node, &mut at);
    }
    if at.is_empty() {
        return query.to_owned();
    }
    // Positions are lines and columns (1-based, in characters).
    let mut line_starts = vec![0];
    line_starts.extend(query.match_indices('\n').map(|(i, _)| i + 1));
    let mut text = query.to_owned();
    for pos in at {
        let Some(start) = line_starts.get(pos.line.saturating_sub(1)) else {
            continue;
        };
        let Some((offset, _)) = query[*start..]
            .char_indices()
            .nth(pos.column.saturating_sub(1))
        else {
            continue;
        };
        let offset = start + offset;
        if query[offset..].starts_with("isOneOf") {
            text.replace_range(offset..offset + "isOneOf".len(), "       ");
        }
    }
    text
}

/// The engine's answer, with what only async-graphql answered (`isOneOf`)
/// filled in from its answer and the keys in its order, which is the
/// selection's. List items are matched by `name` (types, fields,
/// arguments, enum values and directives all have one), items without
/// one by place among themselves.
fn merged(engine: serde_json::Value, own: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (engine, own) {
        (Value::Object(mut engine), Value::Object(own)) => {
            let mut out = serde_json::Map::new();
            for (key, own) in own {
                let value = match engine.remove(&key) {
                    Some(engine) => merged(engine, own),
                    None => own,
                };
                out.insert(key, value);
            }
            out.extend(engine);
            Value::Object(out)
        }
        (Value::Array(engine), Value::Array(own)) => {
            let name = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
            // Items are moved, not copied: `types` is the whole schema.
            let mut own_by_name = std::collections::HashMap::new();
            let mut own_unnamed = Vec::new();
            for item in own {
                match name(&item) {
                    Some(n) => {
                        own_by_name.insert(n, item);
                    }
                    None => own_unnamed.push(item),
                }
            }
            let mut own_in_order = own_unnamed.into_iter();
            Value::Array(
                engine
                    .into_iter()
                    .map(|item| {
                        let counterpart = match name(&item) {
                            Some(n) => own_by_name.remove(&n),
                            None => own_in_order.next(),
                        };
                        match counterpart {
                            Some(own) => merged(item, own),
                            None => item,
                        }
                    })
                    .collect(),
            )
        }
        (engine, _) => engine,
    }
}

/// Whether any operation of `doc` selects `__schema` or `__type` at its
/// root, directly or through fragments.
fn introspects(doc: &ExecutableDocument) -> bool {
    fn walk(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
        // Fragments cannot spread into themselves in a valid document, but
        // this runs before validation.
        if depth > 16 {
            return false;
        }
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(f) => walk(doc, &f.node.selection_set.node, depth + 1),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .is_some_and(|f| walk(doc, &f.node.selection_set.node, depth + 1)),
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| walk(doc, &op.node.selection_set.node, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_takes_the_printed_schema() {
        assert!(engine().is_ok(), "{:?}", engine().as_ref().err());
    }

    #[test]
    fn only_introspection_root_fields_count() {
        let yes = [
            "{ __schema { types { name } } }",
            "query Q { stats { entityCount } __type(name: \"Entity\") { name } }",
            "{ ...F } fragment F on Query { __schema { queryType { name } } }",
            "{ ... on Query { __type(name: \"Node\") { name } } }",
        ];
        let no = [
            "{ stats { entityCount } }",
            "{ __typename }",
            "{ entity(id: \"x\") { __typename } }",
        ];
        for q in yes {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            assert!(introspects(&doc), "{q}");
        }
        for q in no {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            assert!(!introspects(&doc), "{q}");
        }
    }
}
