//! Round trips, selections and the FtM reader's handling of foreign data.

use super::*;
use crate::dataset::load_builtin;
use crate::model::{AmountQualifier, Entity, Money, Relation, Vote};
use chrono::NaiveDate;

fn builtin() -> Graph {
    match load_builtin() {
        Ok(g) => g,
        Err(e) => panic!("built-in dataset: {e}"),
    }
}

fn whole(g: &Graph) -> Dataset {
    match select(g, &Selection::default()) {
        Ok(d) => d,
        Err(e) => panic!("select: {e}"),
    }
}

fn exported(d: &Dataset, f: Format) -> Vec<u8> {
    match export(d, f) {
        Ok(b) => b,
        Err(e) => panic!("export {f}: {e}"),
    }
}

fn imported(bytes: &[u8], f: Format) -> Import {
    match import(bytes, f) {
        Ok(i) => i,
        Err(e) => panic!("import {f}: {e}"),
    }
}

fn ids(d: &Dataset) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    (
        d.entities.iter().map(|e| e.id.as_str()).collect(),
        d.relations.iter().map(|r| r.id.as_str()).collect(),
        d.documents.iter().map(|x| x.id.as_str()).collect(),
    )
}

#[test]
fn whole_graph_round_trips_in_every_format() {
    let g = builtin();
    let d = whole(&g);
    assert_eq!(d, Dataset::of_graph(&g));
    assert_eq!((d.entities.len(), d.relations.len()), (24, 43));
    for f in Format::ALL {
        let back = imported(&exported(&d, f), f);
        assert_eq!(back.dataset, d, "{f}");
        assert!(back.skipped.is_empty(), "{f}: {:?}", back.skipped);
        // What comes back loads into an empty graph.
        let mut fresh = Graph::new();
        let loaded = back.dataset.apply("import", &mut fresh);
        assert!(loaded.is_ok(), "{f}: {:?}", loaded.err());
    }
}

#[test]
fn least_size_bounds_every_text_format_from_below() {
    for d in [whole(&builtin()), awkward()] {
        let least = least_size(&d);
        assert!(least > 0);
        for f in Format::ALL.into_iter().filter(|f| !f.is_binary()) {
            let written = exported(&d, f).len();
            assert!(least <= written, "{f}: least {least}, written {written}");
        }
    }
}

#[test]
fn exports_are_deterministic() {
    let d = whole(&builtin());
    for f in Format::ALL {
        assert_eq!(exported(&d, f), exported(&d, f), "{f}");
    }
}

/// Awkward text in every field: XML and CSV specials, quotes, line breaks,
/// carriage returns, tabs, non-ASCII, a character XML cannot carry, several
/// documents, and every optional field set.
fn awkward() -> Dataset {
    let text = "A & B <c> \"d\" 'e'\r\nline two\ttab — “curly” \u{1}\u{ffff} end: “q”";
    let doc = |id: &str| Document {
        id: id.into(),
        title: "T & <t>".into(),
        publisher: "P \"p\"".into(),
        published_on: NaiveDate::from_ymd_opt(2025, 11, 7),
        dateline: Some("Erbil, \"KRI\"".into()),
        text: text.into(),
    };
    let src = |d: &str, q: &str| Source::new(d, q);
    let mut fund = Entity::new("f", EntityKind::Fund, "F & <co>", src("d1", "A & B"));
    fund.aliases = vec!["F; G".into(), "x\"y".into()].into();
    fund.update_details(|d| d.description = Some("line one\nline two\r\n\ttabbed \u{1}".into()));
    fund.sources.push(src("d2", "“curly”"));
    fund.sources.push(src("d1", "“curly”"));
    fund.update_details(|d| {
        d.total_amount = Some(Money::usd(1_500_000).qualified(AmountQualifier::Approximate))
    });
    fund.update_details(|d| d.fiscal_year = Some(2026));
    fund.update_details(|d| d.merged_ids = vec!["f-old".into(), "g-h".into()]);
    let mut law = Entity::new("l", EntityKind::Legislation, "L", src("d1", "<c>"));
    law.update_details(|d| d.vote = Some(Vote { yeas: 77, nays: 20 }));
    law.update_details(|d| {
        d.total = Some(Money {
            amount: 3,
            currency: "EUR".into(),
            qualifier: AmountQualifier::AtMost,
        })
    });
    law.update_details(|d| d.fiscal_year = Some(2025));
    let mut person = Entity::new("p", EntityKind::Person, "P", src("d2", "tab"));
    person.update_details(|d| d.rank = Some("Gen.".into()));
    let mut event = Entity::new("e", EntityKind::Event, "E", src("d1", "end"));
    event.update_details(|d| d.date = NaiveDate::from_ymd_opt(2025, 11, 6));
    let place = Entity::new("c", EntityKind::Region, "Region", src("d1", "two"));
    let mut funds = Relation::new(
        "l-funds-f",
        RelationKind::Authorizes,
        "l",
        "f",
        src("d1", "A"),
    );
    funds.update_details(|d| {
        d.amount = Some(Money::usd(213_000_000).qualified(AmountQualifier::AtLeast))
    });
    funds.update_details(|d| d.fiscal_year = Some(2026));
    funds.update_details(|d| d.date = NaiveDate::from_ymd_opt(2025, 1, 2));
    let mut holds = Relation::new(
        "p-holds-f",
        RelationKind::HoldsPosition,
        "p",
        "f",
        src("d2", "B"),
    );
    holds.update_details(|d| d.role = Some("Chief & <Staff>".into()));
    let mut supports = Relation::new(
        "f-supports-p",
        RelationKind::Supports,
        "f",
        "p",
        src("d1", "B"),
    );
    supports.update_details(|d| {
        d.categories = vec!["logistical; aid".into(), "ISR \"tech\"".into()].into()
    });
    supports.update_details(|d| d.fiscal_year = Some(2024));
    let part = Relation::new(
        "e-part-of-c",
        RelationKind::PartOf,
        "p",
        "c",
        src("d1", "two"),
    );
    let dangling = Relation::new(
        "x-cooperates-with-y",
        RelationKind::CooperatesWith,
        "x",
        "y",
        src("d1", "two"),
    );
    Dataset {
        document: None,
        documents: vec![doc("d1"), doc("d2")],
        entities: vec![fund, law, person, event, place],
        relations: vec![funds, holds, supports, part, dangling],
    }
}

#[test]
fn awkward_text_round_trips_in_every_format() {
    let d = awkward();
    for f in Format::ALL {
        let back = imported(&exported(&d, f), f);
        assert_eq!(back.dataset, d, "{f}");
    }
}

#[test]
fn document_field_comes_back_first_in_documents() {
    let mut d = awkward();
    let first = d.documents.remove(0);
    d.document = Some(first.clone());
    let back = imported(&exported(&d, Format::GraphMl), Format::GraphMl);
    assert_eq!(back.dataset.documents.first(), Some(&first));
    assert_eq!(back.dataset.documents.len(), 2);
}

#[test]
fn neighbourhood_selection_holds_exactly_its_items() {
    let g = builtin();
    let sel = Selection {
        centre: Some(("ctef".into(), 1)),
        ..Selection::default()
    };
    let d = match select(&g, &sel) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let expected = (
        vec![
            "ctef",
            "fy2026-ndaa",
            "iraqs-security-institutions",
            "partner-forces-in-syria",
        ],
        vec![
            "ctef-funds-iraqs-security-institutions",
            "ctef-funds-partner-forces-in-syria",
            "fy2026-ndaa-authorizes-ctef",
        ],
        vec!["k24-peshmerga-us-iraq-talks"],
    );
    assert_eq!(ids(&d), expected);
    for f in Format::ALL {
        let back = imported(&exported(&d, f), f);
        assert_eq!(ids(&back.dataset), expected, "{f}");
        assert_eq!(back.dataset, d, "{f}");
    }
}

#[test]
fn kind_filters_select_items_of_those_kinds() {
    let g = builtin();
    let countries = Selection {
        entity_kinds: Some(vec![EntityKind::Country]),
        ..Selection::default()
    };
    let d = match select(&g, &countries) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let expected = (
        vec!["iraq", "syria", "united-states"],
        vec!["united-states-cooperates-with-iraq"],
        vec!["k24-peshmerga-us-iraq-talks"],
    );
    assert_eq!(ids(&d), expected);
    for f in Format::ALL {
        assert_eq!(ids(&imported(&exported(&d, f), f).dataset), expected, "{f}");
    }
    // Relation kinds also restrict the walk: CTEF's FUNDS neighbourhood
    // does not reach the law that AUTHORIZES it.
    let funds = Selection {
        centre: Some(("ctef".into(), 2)),
        relation_kinds: Some(vec![RelationKind::Funds]),
        ..Selection::default()
    };
    let d = match select(&g, &funds) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        ids(&d).0,
        [
            "ctef",
            "iraqs-security-institutions",
            "partner-forces-in-syria"
        ]
    );
    assert!(d.relations.iter().all(|r| r.kind == RelationKind::Funds));
    assert_eq!(d.relations.len(), 2);
}

#[test]
fn unknown_centre_is_an_error() {
    let g = builtin();
    let sel = Selection {
        centre: Some(("atlantis".into(), 1)),
        ..Selection::default()
    };
    match select(&g, &sel) {
        Err(InteropError::UnknownEntity(id)) => assert_eq!(id, "atlantis"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn format_names() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        assert_eq!(f.is_binary(), f == Format::Csv);
        assert!(!f.content_type().is_empty() && !f.file_extension().is_empty());
    }
    assert_eq!("NODE_LINK".parse::<Format>(), Ok(Format::NodeLink));
    let err = "pajek".parse::<Format>().err().unwrap_or_default();
    assert!(err.contains("pajek"), "{err}");
    for f in Format::ALL {
        assert!(err.contains(f.as_str()), "{err}");
    }
}

#[test]
fn malformed_inputs_are_refused_with_their_line() {
    let good = r#"{"id": "a", "schema": "Person", "properties": {"name": ["A"]}}"#;
    let text = format!("{good}\n{good}\n{{\"id\": \"b\", \"schema\": \n{good}\n");
    match import(text.as_bytes(), Format::Ftm) {
        Err(InteropError::Malformed {
            line: Some(3),
            message,
        }) => {
            assert!(message.contains("JSON"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let no_schema = format!("{good}\n{{\"id\": \"b\", \"properties\": {{}}}}\n");
    match import(no_schema.as_bytes(), Format::Ftm) {
        Err(e @ InteropError::Malformed { line: Some(2), .. }) => {
            assert!(e.to_string().starts_with("line 2: "), "{e}")
        }
        other => panic!("{other:?}"),
    }
    for f in [
        Format::GraphMl,
        Format::Gexf,
        Format::NodeLink,
        Format::Cytoscape,
        Format::Csv,
        Format::Json,
    ] {
        assert!(
            matches!(
                import(b"<not what it seems", f),
                Err(InteropError::Malformed { .. })
            ),
            "{f}"
        );
    }
}

#[test]
fn foreign_ftm_becomes_valid_evidence_and_unknown_schemata_are_counted() {
    let lines = [
        r#"{"id": "Q1", "schema": "Person", "properties": {"name": ["Jane Doe", "J. Doe"], "title": ["Colonel"]}}"#,
        r#"{"id": "mod-x", "schema": "PublicBody", "properties": {"name": ["Ministry of X"], "alias": ["MoX"]}}"#,
        r#"{"id": "emp1", "schema": "Employment", "properties": {"employee": ["Q1"], "employer": ["mod-x"], "role": ["Minister"]}}"#,
        r#"{"id": "boat", "schema": "Vessel", "properties": {"name": ["Sea Star"]}}"#,
        r#"{"id": "ngo", "schema": "Organization", "properties": {"name": ["Some NGO"]}}"#,
        r#"{"id": "link", "schema": "UnknownLink", "properties": {"subject": ["Q1"], "object": ["ngo"], "role": ["friend"]}}"#,
        r#"{"id": "pay", "schema": "Payment", "properties": {"payer": ["mod-x"], "beneficiary": ["Q1"], "amount": ["1000"], "currency": ["eur"]}}"#,
        r#"{"id": "us", "schema": "Territory", "properties": {"name": ["United States"], "level": ["country"]}}"#,
        r#"{"id": "grant", "schema": "Payment", "properties": {"payer": ["us"], "beneficiary": ["Q1"], "amount": ["1000.0"], "currency": ["eur"], "date": ["2024-05-01"]}}"#,
    ];
    let text = lines.join("\n") + "\n";
    let got = imported(text.as_bytes(), Format::Ftm);
    assert_eq!(
        got.skipped,
        BTreeMap::from([
            ("Vessel".to_owned(), 1),
            ("Organization".to_owned(), 1),
            ("UnknownLink".to_owned(), 1),
            // A ministry may not fund anyone in this graph's model.
            ("Payment".to_owned(), 1),
        ])
    );
    let d = &got.dataset;
    assert_eq!(
        ids(d).0,
        ["q1", "mod-x", "us"],
        "ids become slugs, our kinds by schema"
    );
    assert_eq!(d.entities[0].kind, EntityKind::Person);
    assert_eq!(d.entities[0].aliases, ["J. Doe"]);
    assert_eq!(d.entities[0].rank(), Some("Colonel"));
    assert_eq!(d.entities[1].kind, EntityKind::Ministry);
    assert_eq!(d.entities[2].kind, EntityKind::Country);
    assert_eq!(d.relations.len(), 2);
    assert_eq!(d.relations[0].kind, RelationKind::HoldsPosition);
    assert_eq!(d.relations[0].role(), Some("Minister"));
    let grant = &d.relations[1];
    assert_eq!((grant.kind, &*grant.from), (RelationKind::Funds, "us"));
    assert_eq!(
        grant.amount().cloned(),
        Some(Money {
            amount: 1000,
            currency: "EUR".into(),
            qualifier: AmountQualifier::Exact
        })
    );
    assert_eq!(grant.date(), NaiveDate::from_ymd_opt(2024, 5, 1));
    // One import document holding the input; each item quotes its own line.
    assert_eq!(d.documents.len(), 1);
    let doc = &d.documents[0];
    assert!(doc.id.starts_with("ftm-import-"));
    assert_eq!(
        (doc.title.as_str(), doc.publisher.as_str()),
        ("FollowTheMoney import", "FollowTheMoney")
    );
    assert_eq!(doc.text.get(), text);
    assert_eq!(d.entities[0].sources[0].quote(), lines[0]);
    assert_eq!(d.relations[0].sources[0].quote(), lines[2]);
    let mut g = Graph::new();
    let loaded = got.dataset.clone().apply("ftm", &mut g);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
    // The same input gives the same document id.
    assert_eq!(
        imported(text.as_bytes(), Format::Ftm).dataset.documents[0].id,
        doc.id
    );
}

#[test]
fn ftm_mapping_uses_the_chosen_schemata() {
    let d = whole(&builtin());
    let text = String::from_utf8(exported(&d, Format::Ftm)).unwrap_or_default();
    let mut schema_of = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        schema_of.insert(id, (v["schema"].as_str().unwrap_or_default().to_owned(), v));
    }
    assert_eq!(schema_of.len(), 1 + 24 + 43);
    let schema = |id: &str| schema_of.get(id).map(|(s, _)| s.as_str()).unwrap_or("");
    assert_eq!(schema("k24-peshmerga-us-iraq-talks"), "Article");
    assert_eq!(schema("issa-ozeir"), "Person");
    assert_eq!(schema("ministry-of-peshmerga"), "PublicBody");
    assert_eq!(schema("isis"), "Organization");
    assert_eq!(schema("ctef"), "Company");
    assert_eq!(schema("fy2026-ndaa"), "Project");
    assert_eq!(schema("erbil"), "Territory");
    assert_eq!(schema("us-iraq-talks"), "Event");
    assert_eq!(
        schema("issa-ozeir-holds-position-at-ministry-of-peshmerga"),
        "Employment"
    );
    assert_eq!(
        schema("peshmerga-part-of-iraqs-security-institutions"),
        "Membership"
    );
    assert_eq!(schema("peshmerga-part-of-kurdistan-region"), "UnknownLink");
    assert_eq!(schema("ctef-funds-iraqs-security-institutions"), "Payment");
    assert_eq!(schema("cjtf-oir-combats-isis"), "UnknownLink");
    let (_, pay) = &schema_of["ctef-funds-iraqs-security-institutions"];
    assert_eq!(pay["properties"]["amount"][0], "213000000");
    assert_eq!(
        pay["properties"]["description"][0],
        "more than $213 million"
    );
    assert_eq!(pay["properties"]["payer"][0], "ctef");
    let (_, auth) = &schema_of["fy2026-ndaa-authorizes-ctef"];
    assert_eq!(auth["properties"]["purpose"][0], "AUTHORIZES");
    let (_, person) = &schema_of["issa-ozeir"];
    assert_eq!(person["properties"]["keywords"][0], "PERSON");
    assert_eq!(
        person["properties"]["proof"][0],
        "k24-peshmerga-us-iraq-talks"
    );
    assert_eq!(
        person["properties"]["notes"][0],
        "k24-peshmerga-us-iraq-talks: “Lieutenant General Issa Ozeir, Chief of Staff of the Ministry of Peshmerga”"
    );
}

#[test]
fn graph_formats_name_their_schema() {
    let d = whole(&builtin());
    let graphml = String::from_utf8(exported(&d, Format::GraphMl)).unwrap_or_default();
    assert!(graphml.contains(r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns""#));
    assert!(graphml.contains(r#"edgedefault="directed""#));
    assert!(graphml.contains(r#"attr.name="total_amount" attr.type="long""#));
    let gexf = String::from_utf8(exported(&d, Format::Gexf)).unwrap_or_default();
    assert!(gexf.contains(r#"xmlns="http://gexf.net/1.3""#) && gexf.contains(r#"version="1.3""#));
    assert!(gexf.contains(r#"mode="static" defaultedgetype="directed""#));
    let nl: serde_json::Value =
        serde_json::from_slice(&exported(&d, Format::NodeLink)).unwrap_or_default();
    assert_eq!(nl["directed"], true);
    assert_eq!(nl["multigraph"], true);
    assert_eq!(nl["edges"].as_array().map(Vec::len), Some(43));
    let cy: serde_json::Value =
        serde_json::from_slice(&exported(&d, Format::Cytoscape)).unwrap_or_default();
    assert_eq!(cy["elements"]["nodes"].as_array().map(Vec::len), Some(24));
    assert_eq!(cy["elements"]["edges"][0]["data"]["label"], "PART_OF");
    assert_eq!(cy["elements"]["nodes"][0]["data"]["label"], "Asayish");
}
