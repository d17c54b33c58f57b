//! Mutations over HTTP, in process: create, update and delete entities and
//! relations, ingest a document, the evidence and kind rules, the bearer
//! token, and the `graphVersion` that every committed write moves on by one.

use crate::common::{
    arr, body_of, ids, post_graphql, s, send_to, state, urlencode, writable_state, Resp, DOC, TOKEN,
};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::web;
use partnergraph::http::AppState;
use serde_json::{json, Value};

/// An in-process application over a fresh copy of the article that takes
/// writes with `TOKEN`.
pub struct Writable {
    pub state: web::Data<AppState>,
}

impl Writable {
    pub fn new() -> Self {
        Writable {
            state: writable_state().0,
        }
    }

    /// POSTs a GraphQL request with this `Authorization` header, if any.
    pub async fn send(&self, query: &str, variables: Value, authorization: Option<&str>) -> Resp {
        let mut req = post_graphql(body_of(query, variables));
        if let Some(a) = authorization {
            req = req.insert_header(("authorization", a));
        }
        send_to(self.state.clone(), &[], req).await
    }

    /// A request with the write token that must succeed: its data and its
    /// `graphVersion` extension.
    pub async fn ok(&self, query: &str, variables: Value) -> (Value, u64) {
        let r = self
            .send(query, variables, Some(&format!("Bearer {TOKEN}")))
            .await;
        let body = r.json();
        assert_eq!(r.status, StatusCode::OK, "{body:#}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        (body["data"].clone(), extension_version(&body))
    }

    /// A request with the write token that must be refused: the first
    /// error's code and message, and the `graphVersion` extension.
    pub async fn refused(&self, query: &str, variables: Value) -> (String, String, u64) {
        self.refused_with(query, variables, Some(&format!("Bearer {TOKEN}")))
            .await
    }

    /// A request with this `Authorization` that must be refused.
    pub async fn refused_with(
        &self,
        query: &str,
        variables: Value,
        authorization: Option<&str>,
    ) -> (String, String, u64) {
        let r = self.send(query, variables, authorization).await;
        let body = r.json();
        assert_eq!(r.status, StatusCode::OK, "a field error: {body:#}");
        let errors = arr(&body["errors"]);
        assert!(!errors.is_empty(), "expected errors: {body:#}");
        // Every mutation answers a non-null type: a refusal nulls `data`.
        assert!(body["data"].is_null(), "nothing is answered: {body:#}");
        let code = s(&errors[0]["extensions"]["code"]).to_owned();
        let message = s(&errors[0]["message"]).to_owned();
        (code, message, extension_version(&body))
    }

    /// The graph version and the counts of what the graph holds.
    pub async fn snapshot(&self) -> Value {
        let (d, v) = self
            .ok(
                "{ graphVersion stats { entities relations documents } }",
                json!({}),
            )
            .await;
        assert_eq!(
            d["graphVersion"],
            json!(v),
            "the field and the extension agree"
        );
        d
    }
}

/// The `graphVersion` response extension.
pub fn extension_version(body: &Value) -> u64 {
    body["extensions"]["graphVersion"]
        .as_u64()
        .unwrap_or_else(|| panic!("no graphVersion extension: {body:#}"))
}

fn version(snapshot: &Value) -> u64 {
    snapshot["graphVersion"].as_u64().unwrap()
}

fn count(snapshot: &Value, what: &str) -> i64 {
    snapshot["stats"][what].as_i64().unwrap()
}

/// Evidence from the article.
fn article(quote: &str) -> Value {
    json!([{ "document": DOC, "quote": quote }])
}

const ASAYISH_QUOTE: &str = "including the Asayish and Peshmerga";

const CREATE_ENTITY: &str = "mutation($input: EntityInput!) { createEntity(input: $input) { \
     id kind name aliases description sources { document { id } quote } } }";

const UPDATE_ENTITY: &str =
    "mutation($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { \
     id name aliases description sources { quote } } }";

const DELETE_ENTITY: &str =
    "mutation($id: ID!, $cascade: Boolean! = false) { deleteEntity(id: $id, cascade: $cascade) }";

const CREATE_RELATION: &str = "mutation($input: RelationInput!) { createRelation(input: $input) { \
     id kind from { id } to { id } fiscalYear amount { amount currency qualifier display } } }";

const UPDATE_RELATION: &str =
    "mutation($id: ID!, $patch: RelationPatch!) { updateRelation(id: $id, patch: $patch) { \
     id fiscalYear amount { amount currency qualifier display } } }";

const DELETE_RELATION: &str = "mutation($id: ID!) { deleteRelation(id: $id) }";

const INGEST: &str = "mutation($input: IngestInput!) { ingest(input: $input) { \
     graphVersion document { id title } entities { id name } relations { id kind from { id } to { id } } } }";

fn asayish_unit() -> Value {
    json!({
        "kind": "SECURITY_SERVICE",
        "name": "Asayish Unit",
        "aliases": ["AU"],
        "description": "A unit of the Asayish.",
        "sources": article(ASAYISH_QUOTE),
    })
}

/// Creates the "Asayish Unit" (id `asayish-unit`) and returns its id.
async fn create_asayish_unit(app: &Writable) -> String {
    let (d, _) = app
        .ok(CREATE_ENTITY, json!({ "input": asayish_unit() }))
        .await;
    s(&d["createEntity"]["id"]).to_owned()
}

#[actix_web::test]
async fn create_entity_with_and_without_id_and_read_it_back() {
    let app = Writable::new();
    let before = app.snapshot().await;

    let (d, v) = app
        .ok(CREATE_ENTITY, json!({ "input": asayish_unit() }))
        .await;
    assert_eq!(v, version(&before) + 1);
    assert_eq!(
        d["createEntity"],
        json!({
            "id": "asayish-unit",
            "kind": "SECURITY_SERVICE",
            "name": "Asayish Unit",
            "aliases": ["AU"],
            "description": "A unit of the Asayish.",
            "sources": [{ "document": { "id": DOC }, "quote": ASAYISH_QUOTE }],
        }),
        "the id is a slug of the name"
    );

    // A given id is used as is.
    let mut input = asayish_unit();
    input["id"] = json!("au-second");
    input["name"] = json!("Second Asayish Unit");
    let (d, v) = app.ok(CREATE_ENTITY, json!({ "input": input })).await;
    assert_eq!(d["createEntity"]["id"], "au-second");
    assert_eq!(v, version(&before) + 2);

    // The same name again gets a fresh slug rather than a clash.
    let (d, _) = app
        .ok(CREATE_ENTITY, json!({ "input": asayish_unit() }))
        .await;
    assert_eq!(d["createEntity"]["id"], "asayish-unit-2");

    // Read back by id, by search and in the counts.
    let (d, _) = app
        .ok(
            r#"{ entity(id: "asayish-unit") { id name kind aliases description }
                 node(id: "au-second") { id }
                 entities(search: "Asayish Unit") { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["entity"],
        json!({ "id": "asayish-unit", "name": "Asayish Unit", "kind": "SECURITY_SERVICE",
                "aliases": ["AU"], "description": "A unit of the Asayish." })
    );
    assert_eq!(d["node"]["id"], "au-second");
    let found = ids(&d["entities"]["nodes"]);
    for id in ["asayish-unit", "asayish-unit-2", "au-second"] {
        assert!(
            found.contains(&id.to_owned()),
            "search finds {id}: {found:?}"
        );
    }
    let after = app.snapshot().await;
    assert_eq!(count(&after, "entities"), count(&before, "entities") + 3);
    assert_eq!(count(&after, "relations"), count(&before, "relations"));
    assert_eq!(version(&after), version(&before) + 3);
}

#[actix_web::test]
async fn update_entity_changes_what_is_given_and_null_clears() {
    let app = Writable::new();
    let id = create_asayish_unit(&app).await;
    let v0 = version(&app.snapshot().await);

    let (d, v) = app
        .ok(
            UPDATE_ENTITY,
            json!({ "id": id, "patch": { "name": "Asayish Directorate", "aliases": ["AD", "Asayish HQ"] } }),
        )
        .await;
    assert_eq!(v, v0 + 1);
    assert_eq!(
        d["updateEntity"],
        json!({ "id": "asayish-unit", "name": "Asayish Directorate", "aliases": ["AD", "Asayish HQ"],
                "description": "A unit of the Asayish.", "sources": [{ "quote": ASAYISH_QUOTE }] }),
        "omitted fields stay as they were; the id does not follow the name"
    );

    // An explicit null clears the description; new sources replace the old.
    let (d, v) = app
        .ok(
            UPDATE_ENTITY,
            json!({ "id": id, "patch": { "description": null, "sources": article("the Asayish and Peshmerga") } }),
        )
        .await;
    assert_eq!(v, v0 + 2);
    assert_eq!(d["updateEntity"]["description"], Value::Null);
    assert_eq!(d["updateEntity"]["name"], "Asayish Directorate");
    assert_eq!(
        d["updateEntity"]["sources"],
        json!([{ "quote": "the Asayish and Peshmerga" }])
    );

    let (d, _) = app
        .ok(
            r#"{ entity(id: "asayish-unit") { name aliases description }
                 entities(search: "Asayish Directorate") { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["entity"],
        json!({ "name": "Asayish Directorate", "aliases": ["AD", "Asayish HQ"], "description": null })
    );
    assert!(
        ids(&d["entities"]["nodes"]).contains(&"asayish-unit".to_owned()),
        "search follows the new name: {d:#}"
    );
}

#[actix_web::test]
async fn relations_are_created_updated_and_deleted() {
    let app = Writable::new();
    let unit = create_asayish_unit(&app).await;
    let before = app.snapshot().await;

    // Without an id: `from-kind-to`, the kind lower-cased with hyphens.
    let (d, v) = app
        .ok(
            CREATE_RELATION,
            json!({ "input": { "kind": "PART_OF", "from": unit, "to": "peshmerga", "sources": article(ASAYISH_QUOTE) } }),
        )
        .await;
    assert_eq!(v, version(&before) + 1);
    assert_eq!(
        d["createRelation"],
        json!({ "id": "asayish-unit-part-of-peshmerga", "kind": "PART_OF",
                "from": { "id": "asayish-unit" }, "to": { "id": "peshmerga" },
                "fiscalYear": null, "amount": null })
    );

    // Money: whole dollars with a qualifier, and a fiscal year.
    let (d, _) = app
        .ok(
            CREATE_RELATION,
            json!({ "input": {
                "kind": "FUNDS", "from": "ctef", "to": unit, "fiscalYear": 2026,
                "amount": { "amount": 1000000, "qualifier": "AT_LEAST" },
                "sources": article("Counter-ISIS Train and Equip Fund"),
            } }),
        )
        .await;
    let funds = s(&d["createRelation"]["id"]).to_owned();
    assert_eq!(funds, "ctef-funds-asayish-unit");
    assert_eq!(
        d["createRelation"]["amount"],
        json!({ "amount": 1000000.0, "currency": "USD", "qualifier": "AT_LEAST", "display": "more than $1 million" })
    );
    assert_eq!(d["createRelation"]["fiscalYear"], 2026);

    // A new amount replaces the old one, defaults and all; the year stays.
    let (d, _) = app
        .ok(
            UPDATE_RELATION,
            json!({ "id": funds, "patch": { "amount": { "amount": 2500000 } } }),
        )
        .await;
    assert_eq!(
        d["updateRelation"],
        json!({ "id": funds, "fiscalYear": 2026,
                "amount": { "amount": 2500000.0, "currency": "USD", "qualifier": "EXACT", "display": "$2.5 million" } })
    );
    // Null clears.
    let (d, _) = app
        .ok(
            UPDATE_RELATION,
            json!({ "id": funds, "patch": { "amount": null, "fiscalYear": null } }),
        )
        .await;
    assert_eq!(
        d["updateRelation"],
        json!({ "id": funds, "fiscalYear": null, "amount": null })
    );
    let (d, _) = app
        .ok(
            r#"{ relation(id: "ctef-funds-asayish-unit") { amount { amount } fiscalYear from { id } to { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["relation"],
        json!({ "amount": null, "fiscalYear": null, "from": { "id": "ctef" }, "to": { "id": "asayish-unit" } })
    );

    // Delete answers the id; the relation is gone, its ends stay.
    let (d, v) = app.ok(DELETE_RELATION, json!({ "id": funds })).await;
    assert_eq!(d["deleteRelation"], json!(funds));
    let (d, v2) = app
        .ok(
            r#"{ relation(id: "ctef-funds-asayish-unit") { id } entity(id: "ctef") { id } graphVersion }"#,
            json!({}),
        )
        .await;
    assert_eq!(v2, v, "reads see the version of the last write");
    assert_eq!(d["relation"], Value::Null);
    assert_eq!(d["entity"]["id"], "ctef");
    let after = app.snapshot().await;
    assert_eq!(count(&after, "relations"), count(&before, "relations") + 1);
    assert_eq!(version(&after), version(&before) + 5);
}

#[actix_web::test]
async fn delete_entity_with_relations_needs_cascade() {
    let app = Writable::new();
    let unit = create_asayish_unit(&app).await;
    for (kind, to) in [("PART_OF", "peshmerga"), ("PART_OF", "asayish")] {
        app.ok(
            CREATE_RELATION,
            json!({ "input": { "kind": kind, "from": unit, "to": to, "sources": article(ASAYISH_QUOTE) } }),
        )
        .await;
    }
    let before = app.snapshot().await;

    let (code, message, v) = app.refused(DELETE_ENTITY, json!({ "id": unit })).await;
    assert_eq!(code, "CONFLICT", "{message}");
    assert!(
        message.contains("asayish-unit") && message.contains("cascade"),
        "{message}"
    );
    assert_eq!(v, version(&before));
    assert_eq!(app.snapshot().await, before, "the refusal changed nothing");

    let (d, v) = app
        .ok(DELETE_ENTITY, json!({ "id": unit, "cascade": true }))
        .await;
    assert_eq!(d["deleteEntity"], "asayish-unit");
    assert_eq!(
        v,
        version(&before) + 1,
        "one write, however much it removes"
    );
    let (d, _) = app
        .ok(
            r#"{ entity(id: "asayish-unit") { id }
                 a: relation(id: "asayish-unit-part-of-peshmerga") { id }
                 b: relation(id: "asayish-unit-part-of-asayish") { id }
                 peshmerga: entity(id: "peshmerga") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d,
        json!({ "entity": null, "a": null, "b": null, "peshmerga": { "id": "peshmerga" } })
    );
    let after = app.snapshot().await;
    assert_eq!(count(&after, "entities"), count(&before, "entities") - 1);
    assert_eq!(count(&after, "relations"), count(&before, "relations") - 2);

    // An entity without relations goes without cascade.
    let mut input = asayish_unit();
    input["id"] = json!("lonely-unit");
    app.ok(CREATE_ENTITY, json!({ "input": input })).await;
    let (d, _) = app.ok(DELETE_ENTITY, json!({ "id": "lonely-unit" })).await;
    assert_eq!(d["deleteEntity"], "lonely-unit");
}

/// A new document with two entities and a relation between them, quoting
/// the document itself.
fn ingest_input(doc: &str, bad_last_relation: bool) -> Value {
    let quote = |q: &str| json!([{ "document": doc, "quote": q }]);
    let mut relations = vec![json!({
        "kind": "PART_OF", "from": "zeravani-test-brigade", "to": "test-command",
        "sources": quote("The Zeravani Test Brigade reports to the Test Command"),
    })];
    if bad_last_relation {
        relations.push(json!({
            "kind": "PART_OF", "from": "zeravani-test-brigade", "to": "no-such-entity",
            "sources": quote("The Zeravani Test Brigade"),
        }));
    }
    json!({
        "document": {
            "id": doc,
            "title": "A Test Report",
            "publisher": "Test Wire",
            "publishedOn": "2025-12-01",
            "dateline": "Erbil",
            "text": "The Zeravani Test Brigade reports to the Test Command,\n the report said.",
        },
        "entities": [
            { "id": "zeravani-test-brigade", "kind": "ARMED_FORCE", "name": "Zeravani Test Brigade",
              "sources": quote("The Zeravani Test Brigade") },
            { "kind": "MILITARY_COMMAND", "name": "Test Command", "sources": quote("the Test Command") },
        ],
        "relations": relations,
    })
}

#[actix_web::test]
async fn ingest_adds_a_document_with_its_entities_and_relations_at_once() {
    let app = Writable::new();
    let before = app.snapshot().await;
    let (d, v) = app
        .ok(
            INGEST,
            json!({ "input": ingest_input("test-report", false) }),
        )
        .await;
    assert_eq!(v, version(&before) + 1, "one ingest is one write");
    assert_eq!(
        d["ingest"],
        json!({
            "graphVersion": v,
            "document": { "id": "test-report", "title": "A Test Report" },
            "entities": [
                { "id": "zeravani-test-brigade", "name": "Zeravani Test Brigade" },
                { "id": "test-command", "name": "Test Command" },
            ],
            "relations": [
                { "id": "zeravani-test-brigade-part-of-test-command", "kind": "PART_OF",
                  "from": { "id": "zeravani-test-brigade" }, "to": { "id": "test-command" } },
            ],
        })
    );
    let (d, _) = app
        .ok(
            r#"{ documents { id }
                 node(id: "test-report") { ... on Document { publisher publishedOn dateline } }
                 entity(id: "test-command") { kind sources { document { id } quote } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(ids(&d["documents"]), [DOC, "test-report"]);
    assert_eq!(
        d["node"],
        json!({ "publisher": "Test Wire", "publishedOn": "2025-12-01", "dateline": "Erbil" })
    );
    assert_eq!(
        d["entity"],
        json!({ "kind": "MILITARY_COMMAND", "sources": [{ "document": { "id": "test-report" }, "quote": "the Test Command" }] })
    );
    let after = app.snapshot().await;
    assert_eq!(count(&after, "entities"), count(&before, "entities") + 2);
    assert_eq!(count(&after, "relations"), count(&before, "relations") + 1);
    assert_eq!(count(&after, "documents"), count(&before, "documents") + 1);
}

/// A write that must be refused with `code` and change nothing.
async fn assert_refused(app: &Writable, query: &str, variables: Value, code: &str) -> String {
    let before = app.snapshot().await;
    let (got, message, v) = app.refused(query, variables.clone()).await;
    assert_eq!(got, code, "{query}\n{variables:#}\n{message}");
    assert!(!message.is_empty());
    assert_eq!(v, version(&before), "the refusal did not move the version");
    assert_eq!(
        app.snapshot().await,
        before,
        "the refusal changed nothing: {message}"
    );
    message
}

#[actix_web::test]
async fn refused_writes_change_nothing() {
    let app = Writable::new();
    let unit = create_asayish_unit(&app).await;
    let relation = json!({ "kind": "PART_OF", "from": unit, "to": "peshmerga", "sources": article(ASAYISH_QUOTE) });
    let with = |base: &Value, key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    let entity = asayish_unit();

    // Ids that exist, among entities, relations and documents.
    for id in ["peshmerga", "peshmerga-part-of-kurdistan-region", DOC] {
        let m = assert_refused(
            &app,
            CREATE_ENTITY,
            json!({ "input": with(&entity, "id", json!(id)) }),
            "CONFLICT",
        )
        .await;
        assert!(m.contains(id), "the message names the id: {m}");
    }
    assert_refused(
        &app,
        CREATE_RELATION,
        json!({ "input": with(&relation, "id", json!("ctef")) }),
        "CONFLICT",
    )
    .await;

    // Evidence: none, an unknown document, a quote the document lacks.
    for sources in [
        json!([]),
        json!([{ "document": "no-such-document", "quote": ASAYISH_QUOTE }]),
        article("words the article never says"),
    ] {
        assert_refused(
            &app,
            CREATE_ENTITY,
            json!({ "input": with(&entity, "sources", sources.clone()) }),
            "BAD_USER_INPUT",
        )
        .await;
        assert_refused(
            &app,
            CREATE_RELATION,
            json!({ "input": with(&relation, "sources", sources.clone()) }),
            "BAD_USER_INPUT",
        )
        .await;
        assert_refused(
            &app,
            UPDATE_ENTITY,
            json!({ "id": "peshmerga", "patch": { "sources": sources } }),
            "BAD_USER_INPUT",
        )
        .await;
    }
    let m = assert_refused(
        &app,
        CREATE_ENTITY,
        json!({ "input": with(&entity, "sources", article("words the article never says")) }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(m.contains("quote"), "the message says what is wrong: {m}");

    // Other bad entities: an id that is not a slug, an empty name.
    assert_refused(
        &app,
        CREATE_ENTITY,
        json!({ "input": with(&entity, "id", json!("Not A Slug")) }),
        "BAD_USER_INPUT",
    )
    .await;
    assert_refused(
        &app,
        UPDATE_ENTITY,
        json!({ "id": "peshmerga", "patch": { "name": "  " } }),
        "BAD_USER_INPUT",
    )
    .await;

    // Unknown relation ends.
    for end in ["from", "to"] {
        let m = assert_refused(
            &app,
            CREATE_RELATION,
            json!({ "input": with(&relation, end, json!("nobody")) }),
            "NOT_FOUND",
        )
        .await;
        assert!(m.contains("nobody"), "{m}");
    }
    // Kinds the relation may not join, and a self-loop.
    assert_refused(
        &app,
        CREATE_RELATION,
        json!({ "input": with(&with(&relation, "kind", json!("GOVERNS")), "to", json!("kurdistan-region")) }),
        "BAD_USER_INPUT",
    )
    .await;
    assert_refused(
        &app,
        CREATE_RELATION,
        json!({ "input": with(&relation, "kind", json!("HOLDS_POSITION")) }),
        "BAD_USER_INPUT",
    )
    .await;
    assert_refused(
        &app,
        CREATE_RELATION,
        json!({ "input": with(&relation, "to", json!(unit)) }),
        "BAD_USER_INPUT",
    )
    .await;

    // Amounts must be whole and not negative.
    let funds = json!({ "kind": "FUNDS", "from": "ctef", "to": unit, "sources": article("Counter-ISIS Train and Equip Fund") });
    for amount in [json!(-5), json!(1.5), json!(-0.5)] {
        assert_refused(
            &app,
            CREATE_RELATION,
            json!({ "input": with(&funds, "amount", json!({ "amount": amount })) }),
            "BAD_USER_INPUT",
        )
        .await;
        assert_refused(
            &app,
            UPDATE_RELATION,
            json!({ "id": "ctef-funds-iraqs-security-institutions", "patch": { "amount": { "amount": amount } } }),
            "BAD_USER_INPUT",
        )
        .await;
    }
    assert_refused(
        &app,
        CREATE_RELATION,
        json!({ "input": with(&funds, "amount", json!({ "amount": 5, "currency": "dollars" })) }),
        "BAD_USER_INPUT",
    )
    .await;

    // Unknown ids to update and delete.
    for (query, vars) in [
        (
            UPDATE_ENTITY,
            json!({ "id": "nobody", "patch": { "name": "X" } }),
        ),
        (
            UPDATE_RELATION,
            json!({ "id": "nothing", "patch": { "fiscalYear": 2026 } }),
        ),
        (DELETE_ENTITY, json!({ "id": "nobody", "cascade": true })),
        (DELETE_RELATION, json!({ "id": "nothing" })),
    ] {
        assert_refused(&app, query, vars, "NOT_FOUND").await;
    }

    // An article entity with relations, without cascade.
    assert_refused(
        &app,
        DELETE_ENTITY,
        json!({ "id": "peshmerga" }),
        "CONFLICT",
    )
    .await;
}

#[actix_web::test]
async fn a_refused_ingest_leaves_nothing_behind() {
    let app = Writable::new();
    // The last relation names an unknown entity.
    let m = assert_refused(
        &app,
        INGEST,
        json!({ "input": ingest_input("bad-report", true) }),
        "NOT_FOUND",
    )
    .await;
    assert!(m.contains("no-such-entity"), "{m}");
    // Its document, entities and first relation are all absent.
    let (d, _) = app
        .ok(
            r#"{ doc: node(id: "bad-report") { id }
                 a: entity(id: "zeravani-test-brigade") { id }
                 b: entity(id: "test-command") { id }
                 r: relation(id: "zeravani-test-brigade-part-of-test-command") { id }
                 documents { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d,
        json!({ "doc": null, "a": null, "b": null, "r": null, "documents": [{ "id": DOC }] })
    );

    // A document id that exists; an entity quoting words its document lacks.
    assert_refused(
        &app,
        INGEST,
        json!({ "input": ingest_input(DOC, false) }),
        "CONFLICT",
    )
    .await;
    let mut input = ingest_input("other-report", false);
    input["entities"][1]["sources"] =
        json!([{ "document": "other-report", "quote": "not in the report" }]);
    assert_refused(&app, INGEST, json!({ "input": input }), "BAD_USER_INPUT").await;

    // The same ingest, repaired, goes through with the same ids.
    let (d, _) = app
        .ok(
            INGEST,
            json!({ "input": ingest_input("bad-report", false) }),
        )
        .await;
    assert_eq!(d["ingest"]["document"]["id"], "bad-report");
}

#[actix_web::test]
async fn writes_need_the_bearer_token() {
    let app = Writable::new();
    let before = app.snapshot().await;
    let create = json!({ "input": asayish_unit() });
    for (authorization, needle) in [
        (None, "Authorization"),
        (Some("Bearer wrong-token".to_owned()), "not valid"),
        (Some(format!("Basic {TOKEN}")), "Authorization"),
        (Some(format!("Bearer {TOKEN}x")), "not valid"),
        (Some("Bearer".to_owned()), "Authorization"),
    ] {
        let (code, message, v) = app
            .refused_with(CREATE_ENTITY, create.clone(), authorization.as_deref())
            .await;
        assert_eq!(code, "UNAUTHENTICATED", "{authorization:?}: {message}");
        assert!(message.contains(needle), "{authorization:?}: {message}");
        assert!(
            !message.contains(TOKEN),
            "the token is never echoed: {message}"
        );
        assert_eq!(v, version(&before));
    }
    assert_eq!(app.snapshot().await, before);
    // Reads need no token.
    let r = app.send("{ stats { entities } }", json!({}), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().get("errors").is_none());
    // The scheme is case-insensitive.
    let r = app
        .send(CREATE_ENTITY, create, Some(&format!("bearer {TOKEN}")))
        .await;
    assert!(r.json().get("errors").is_none(), "{}", r.text());
}

#[actix_web::test]
async fn unauthenticated_writes_are_refused_before_their_input_is_checked() {
    // A caller without the token learns nothing about the input: the
    // answer is UNAUTHENTICATED whatever the mutation carries.
    let app = Writable::new();
    let bad_amount = json!({ "input": {
        "kind": "FUNDS", "from": "ctef", "to": "peshmerga",
        "amount": { "amount": -1 }, "sources": article("Counter-ISIS Train and Equip Fund") } });
    let (code, message, _) = app.refused_with(CREATE_RELATION, bad_amount, None).await;
    assert_eq!(code, "UNAUTHENTICATED", "{message}");
}

#[actix_web::test]
async fn a_server_without_a_write_token_refuses_every_write() {
    let state = state();
    let req = post_graphql(body_of(CREATE_ENTITY, json!({ "input": asayish_unit() })))
        .insert_header(("authorization", "Bearer anything"));
    let r = send_to(state.clone(), &[], req).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body:#}"
    );
    let message = s(&body["errors"][0]["message"]);
    assert!(
        message.contains("PARTNERGRAPH_WRITE_TOKEN"),
        "the message says how to enable writes: {message}"
    );
    let r = send_to(
        state,
        &[],
        post_graphql(body_of(
            r#"{ entity(id: "asayish-unit") { id } graphVersion }"#,
            json!({}),
        )),
    )
    .await;
    assert_eq!(r.json()["data"]["entity"], Value::Null);
}

#[actix_web::test]
async fn mutations_over_get_are_405_and_change_nothing() {
    let app = Writable::new();
    let before = app.snapshot().await;
    let query = r#"mutation { deleteRelation(id: "peshmerga-part-of-kurdistan-region") }"#;
    let req = TestRequest::get()
        .uri(&format!("/graphql?query={}", urlencode(query)))
        .insert_header(("authorization", format!("Bearer {TOKEN}")));
    let r = send_to(app.state.clone(), &[], req).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text());
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    assert_eq!(app.snapshot().await, before);
}

#[actix_web::test]
async fn graph_version_moves_on_by_one_per_committed_write() {
    let app = Writable::new();
    let v0 = version(&app.snapshot().await);
    let unit = create_asayish_unit(&app).await;
    let mut expected = v0 + 1;
    let steps: Vec<(&str, Value)> = vec![
        (
            UPDATE_ENTITY,
            json!({ "id": unit, "patch": { "name": "Renamed Unit" } }),
        ),
        (
            CREATE_RELATION,
            json!({ "input": { "kind": "PART_OF", "from": unit, "to": "peshmerga", "sources": article(ASAYISH_QUOTE) } }),
        ),
        (
            DELETE_RELATION,
            json!({ "id": "asayish-unit-part-of-peshmerga" }),
        ),
        (DELETE_ENTITY, json!({ "id": unit })),
        (
            INGEST,
            json!({ "input": ingest_input("test-report", false) }),
        ),
    ];
    for (query, vars) in steps {
        // A refused write in between does not count.
        let (_, _, v) = app.refused(DELETE_ENTITY, json!({ "id": "nobody" })).await;
        assert_eq!(v, expected);
        let (_, v) = app.ok(query, vars).await;
        expected += 1;
        assert_eq!(v, expected, "{query}");
        let (d, v) = app.ok("{ graphVersion }", json!({})).await;
        assert_eq!((d["graphVersion"].as_u64(), v), (Some(expected), expected));
    }

    // Two writes in one request: the extension is the version after both.
    let mut second = asayish_unit();
    second["id"] = json!("second-unit");
    let (d, v) = app
        .ok(
            "mutation($a: EntityInput!, $b: EntityInput!) { a: createEntity(input: $a) { id } b: createEntity(input: $b) { id } }",
            json!({ "a": asayish_unit(), "b": second }),
        )
        .await;
    assert_eq!(
        d,
        json!({ "a": { "id": "asayish-unit" }, "b": { "id": "second-unit" } })
    );
    assert_eq!(v, expected + 2);
}

#[actix_web::test]
async fn an_unset_cascade_variable_means_the_default() {
    // GraphQL spec, CoerceArgumentValues: a nullable variable that the
    // request does not supply leaves the argument at its default
    // (`cascade: false`), it does not pass null.
    let app = Writable::new();
    let query =
        "mutation($id: ID!, $cascade: Boolean) { deleteEntity(id: $id, cascade: $cascade) }";
    let (code, message, _) = app.refused(query, json!({ "id": "peshmerga" })).await;
    assert_eq!(
        code, "CONFLICT",
        "no cascade, so refused for its relations: {message}"
    );
    let mut input = asayish_unit();
    input["id"] = json!("lonely-unit");
    app.ok(CREATE_ENTITY, json!({ "input": input })).await;
    let (d, _) = app.ok(query, json!({ "id": "lonely-unit" })).await;
    assert_eq!(d["deleteEntity"], "lonely-unit");
}
