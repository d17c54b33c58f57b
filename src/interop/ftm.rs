//! FollowTheMoney (FtM): entities as JSON lines,
//! `{"id": ..., "schema": ..., "properties": {"prop": ["value", ...]}}`,
//! for Aleph, OpenSanctions' tools and the `ftm` command line. Schemata and
//! property names are those of followthemoney 4.x (`followthemoney/schema/*.yaml`).
//!
//! # Mapping
//!
//! FtM ids are our ids. Every entity keeps its kind as its first
//! `keywords` value; every item keeps its evidence as `proof` (the
//! document entities) and one value per source, `<document id>: “<quote>”`,
//! in `notes` (entities) or `summary` (relations, which have no `notes`);
//! `publisher` repeats the documents' publishers for FtM readers.
//!
//! | partnergraph | FtM schema | properties |
//! | --- | --- | --- |
//! | document | `Article` | `title`, `name` = title; `publisher`; `publishedAt` = publishedOn; `address` = dateline; `bodyText` = text; `fileName` = `<id>.txt`; `mimeType` = `text/plain` |
//! | PERSON | `Person` | `title` = rank |
//! | GOVERNMENT, MINISTRY, LEGISLATURE, MILITARY_COMMAND, ARMED_FORCE, SECURITY_SERVICE | `PublicBody` | |
//! | ARMED_GROUP, MEDIA_OUTLET | `Organization` | |
//! | FUND | `Company` (FtM: "can also be used to model … trusts and funds"; a `LegalEntity`, so it can pay and be paid) | `amount`, `currency` = totalAmount, `summary` = the amount in words ("more than $213 million", which keeps the qualifier) |
//! | LEGISLATION | `Project` (FtM has no schema for laws; `Project` is a `Thing`, a `Value` and an `Interval`) | `amount`, `currency`, `summary` = total; `status` = `passed <yeas> to <nays>` |
//! | EVENT | `Event` | `date` |
//! | COUNTRY, REGION, CITY | `Territory` | `level` = `country`, `adm1`, `locality` |
//! | every entity | | `name`; `alias` = aliases; `description`; `keywords` = [kind, `FY<year>` for fiscalYear]; mergedIds → `referents` beside `properties` (as followthemoney's statement-based entities list the ids merged into one) |
//! | HOLDS_POSITION | `Employment` | `employee` = from, `employer` = to, `role` |
//! | PART_OF, from a person or body to a body | `Membership` | `member` = from, `organization` = to |
//! | PART_OF otherwise (to a place; between events or places) | `UnknownLink` | as below |
//! | FUNDS, AUTHORIZES | `Payment` | `payer` = from, `beneficiary` = to, `amount`, `currency`, `description` = the amount in words, `purpose` = kind, `programme` = the paying fund's or law's name and `FY<year>` |
//! | GOVERNS, ENACTED, SUPPORTS, PARTICIPATES_IN, COOPERATES_WITH, COMBATS, ANNOUNCED, OPERATES_IN | `UnknownLink` | `subject` = from, `object` = to, `role` = kind; SUPPORTS categories → `description` |
//! | every relation | | `date`; fiscalYear → `programme` (Payment) or `description` `FY<year>` |
//!
//! Ranges: `Payment.payer` is a `LegalEntity` in FtM, but a law
//! (`Project`) or a country (`Territory`) can pay here; the payment keeps
//! them as payer rather than lose the money. PARTICIPATES_IN is an
//! `UnknownLink`, not `Event.involved`, so that the participation keeps its
//! id and evidence (and countries are not `LegalEntity`s).
//!
//! # Import
//!
//! The reverse mapping. Our own export comes back exactly (kinds from
//! `keywords`, evidence from `notes`/`summary` + `proof`). FtM data from
//! elsewhere is read too: `Person` → PERSON, `PublicBody` → MINISTRY,
//! `Event` → EVENT, `Territory` → COUNTRY / CITY / REGION by `level`,
//! document schemata with a `bodyText` → documents, `Employment` and
//! `Directorship` → HOLDS_POSITION, `Membership` → PART_OF, `Payment` →
//! FUNDS; `Organization`, `Company` and `Project` only with one of our kinds
//! in `keywords` (we do not guess that an organisation is an armed group),
//! `UnknownLink` only with one of our kinds as `role`. Everything else
//! (e.g. `Vessel`, `Sanction`), relations whose ends were not read or whose
//! kinds our model does not allow, is skipped and counted by schema in
//! [`super::Import::skipped`]. Ids become slugs (`Q42` → `q42`).
//!
//! Data from elsewhere has no evidence of ours, yet every item needs some:
//! the import adds one document, `ftm-import-<hash of the input>`, titled
//! "FollowTheMoney import", published by "FollowTheMoney", whose text is
//! the input itself, and each such item quotes its own JSON line (all its
//! lines, for an entity given in fragments), which therefore occurs
//! verbatim in that text. A line that is not an FtM entity (not JSON, no
//! `id` or `schema`, `properties` not lists of strings) fails the whole
//! import with its 1-based line number.

use super::{source_documents, Import, InteropError};
use crate::dataset::Dataset;
use crate::model::{
    AmountQualifier, Document, Entity, EntityClass, EntityDetails, EntityKind, Money, Relation,
    RelationDetails, RelationKind, Source, Vote,
};
use chrono::NaiveDate;
use deunicode::deunicode;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The FtM schema an entity of a kind is written as.
pub fn entity_schema(kind: EntityKind) -> &'static str {
    use EntityKind as K;
    match kind {
        K::Person => "Person",
        K::Government
        | K::Ministry
        | K::Legislature
        | K::MilitaryCommand
        | K::ArmedForce
        | K::SecurityService => "PublicBody",
        K::ArmedGroup | K::MediaOutlet => "Organization",
        K::Fund => "Company",
        K::Legislation => "Project",
        K::Event => "Event",
        K::Country | K::Region | K::City => "Territory",
    }
}

/// The FtM schema a relation of a kind between entities of the given kinds
/// (where known) is written as.
pub fn relation_schema(
    kind: RelationKind,
    from: Option<EntityKind>,
    to: Option<EntityKind>,
) -> &'static str {
    let legal = |k: Option<EntityKind>| {
        k.is_some_and(|k| {
            matches!(
                entity_schema(k),
                "Person" | "PublicBody" | "Organization" | "Company"
            )
        })
    };
    let organization = |k: Option<EntityKind>| {
        k.is_some_and(|k| matches!(entity_schema(k), "PublicBody" | "Organization" | "Company"))
    };
    match kind {
        RelationKind::HoldsPosition => "Employment",
        RelationKind::PartOf if legal(from) && organization(to) => "Membership",
        RelationKind::Funds | RelationKind::Authorizes => "Payment",
        _ => "UnknownLink",
    }
}

/// The schemata of files (FtM's `Document` and its descendants).
const DOCUMENT_SCHEMATA: [&str; 14] = [
    "Document",
    "Article",
    "PlainText",
    "HyperText",
    "Pages",
    "Email",
    "Message",
    "Table",
    "Workbook",
    "Folder",
    "Package",
    "Image",
    "Audio",
    "Video",
];

/// The `level` of a place.
fn territory_level(kind: EntityKind) -> Option<&'static str> {
    match kind {
        EntityKind::Country => Some("country"),
        EntityKind::Region => Some("adm1"),
        EntityKind::City => Some("locality"),
        _ => None,
    }
}

fn fiscal_label(year: i32) -> String {
    format!("FY{year}")
}

fn parse_fiscal(s: &str) -> Option<i32> {
    let digits = s.strip_prefix("FY")?;
    if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn evidence_value(s: &Source) -> String {
    format!("{}: “{}”", s.document(), s.quote())
}

/// Reads `<document>: “<quote>”` back, if `document` is one of `proof`.
fn parse_evidence(value: &str, proof: &BTreeSet<&str>) -> Option<Source> {
    let (document, rest) = value.split_once(": ")?;
    let quote = rest.strip_prefix('“')?.strip_suffix('”')?;
    proof
        .contains(document)
        .then(|| Source::new(document, quote))
}

/// The amount in words, whose lead ("more than ") says the qualifier.
fn qualifier_of(words: Option<&str>) -> AmountQualifier {
    let Some(words) = words else {
        return AmountQualifier::Exact;
    };
    [
        AmountQualifier::AtLeast,
        AmountQualifier::AtMost,
        AmountQualifier::Approximate,
    ]
    .into_iter()
    .find(|q| {
        let lead = Money::usd(0).qualified(*q).display();
        let lead = lead.trim_end_matches("$0");
        words.starts_with(lead)
    })
    .unwrap_or(AmountQualifier::Exact)
}

fn vote_status(v: Vote) -> String {
    format!("passed {} to {}", v.yeas, v.nays)
}

fn parse_vote(s: &str) -> Option<Vote> {
    let (yeas, nays) = s.strip_prefix("passed ")?.split_once(" to ")?;
    Some(Vote {
        yeas: yeas.parse().ok()?,
        nays: nays.parse().ok()?,
    })
}

/// One FtM entity being written: properties in insertion order.
struct Proxy {
    id: String,
    schema: &'static str,
    props: Vec<(&'static str, Vec<String>)>,
    /// Ids merged into this entity.
    referents: Vec<String>,
}

impl Proxy {
    fn new(id: &str, schema: &'static str) -> Self {
        Proxy {
            id: id.to_owned(),
            schema,
            props: Vec::new(),
            referents: Vec::new(),
        }
    }

    fn add(&mut self, prop: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.props.iter_mut().find(|(p, _)| *p == prop) {
            Some((_, values)) => values.push(value),
            None => self.props.push((prop, vec![value])),
        }
    }

    fn add_opt(&mut self, prop: &'static str, value: Option<impl Into<String>>) {
        if let Some(v) = value {
            self.add(prop, v);
        }
    }

    fn line(self) -> Result<String, InteropError> {
        let mut props = Map::new();
        for (p, values) in self.props {
            props.insert(p.to_owned(), values.into());
        }
        let mut obj = Map::new();
        obj.insert("id".into(), self.id.into());
        obj.insert("schema".into(), self.schema.into());
        obj.insert("properties".into(), Value::Object(props));
        if !self.referents.is_empty() {
            obj.insert("referents".into(), self.referents.into());
        }
        serde_json::to_string(&Value::Object(obj))
            .map_err(|e| InteropError::write(super::Format::Ftm, e))
    }
}

/// Writes `proof`, the evidence values and `publisher` for some sources.
fn provenance(
    p: &mut Proxy,
    quotes_prop: &'static str,
    sources: &[Source],
    docs: &BTreeMap<&str, &Document>,
) {
    let used = source_documents(sources);
    for d in &used {
        p.add("proof", *d);
    }
    for s in sources {
        p.add(quotes_prop, evidence_value(s));
    }
    let mut publishers = BTreeSet::new();
    for d in used {
        if let Some(doc) = docs.get(d) {
            if publishers.insert(doc.publisher.as_str()) {
                p.add("publisher", doc.publisher.as_str());
            }
        }
    }
}

fn document_proxy(d: &Document) -> Proxy {
    let mut p = Proxy::new(&d.id, "Article");
    p.add("name", d.title.as_str());
    p.add("title", d.title.as_str());
    p.add("fileName", format!("{}.txt", d.id));
    p.add("mimeType", "text/plain");
    p.add("publisher", d.publisher.as_str());
    p.add_opt("publishedAt", d.published_on.map(|d| d.to_string()));
    p.add_opt("address", d.dateline.as_deref());
    p.add("bodyText", d.text.get().into_owned());
    p
}

fn entity_proxy(e: &Entity, docs: &BTreeMap<&str, &Document>) -> Proxy {
    let schema = entity_schema(e.kind);
    let mut p = Proxy::new(&e.id, schema);
    p.add("name", e.name.as_str());
    for a in &e.aliases {
        p.add("alias", a.as_str());
    }
    p.add_opt("description", e.description());
    p.add("keywords", e.kind.as_str());
    p.add_opt("keywords", e.fiscal_year().map(fiscal_label));
    p.add_opt("title", e.rank());
    if let Some(m) = e.total_amount().or(e.total()) {
        p.add("amount", m.amount.to_string());
        p.add("currency", m.currency.as_str());
        p.add("summary", m.display());
    }
    p.add_opt("status", e.vote().map(vote_status));
    p.add_opt("date", e.date().map(|d| d.to_string()));
    p.add_opt("level", territory_level(e.kind));
    provenance(&mut p, "notes", &e.sources, docs);
    p.referents = e.merged_ids().iter().map(ToString::to_string).collect();
    p
}

fn relation_proxy(
    r: &Relation,
    entities: &BTreeMap<&str, &Entity>,
    docs: &BTreeMap<&str, &Document>,
) -> Proxy {
    let from = entities.get(&*r.from);
    let schema = relation_schema(
        r.kind,
        from.map(|e| e.kind),
        entities.get(&*r.to).map(|e| e.kind),
    );
    let mut p = Proxy::new(&r.id, schema);
    let (source, target) = match schema {
        "Employment" => ("employee", "employer"),
        "Membership" => ("member", "organization"),
        "Payment" => ("payer", "beneficiary"),
        _ => ("subject", "object"),
    };
    p.add(source, &*r.from);
    p.add(target, &*r.to);
    match schema {
        "Employment" => p.add_opt("role", r.role()),
        "UnknownLink" => p.add("role", r.kind.as_str()),
        _ => {}
    }
    if schema == "Payment" {
        if let Some(m) = r.amount() {
            p.add("amount", m.amount.to_string());
            p.add("currency", m.currency.as_str());
            p.add("description", m.display());
        }
        p.add("purpose", r.kind.as_str());
        if let Some(payer) =
            from.filter(|e| matches!(e.kind, EntityKind::Fund | EntityKind::Legislation))
        {
            p.add("programme", payer.name.as_str());
        }
        p.add_opt("programme", r.fiscal_year().map(fiscal_label));
    } else {
        p.add_opt("description", r.fiscal_year().map(fiscal_label));
        for c in r.categories() {
            p.add("description", c.as_str());
        }
    }
    p.add_opt("date", r.date().map(|d| d.to_string()));
    provenance(&mut p, "summary", &r.sources, docs);
    p
}

/// Writes a dataset as FtM JSON lines: documents, entities, relations.
pub(super) fn write(data: &Dataset) -> Result<Vec<u8>, InteropError> {
    let docs: BTreeMap<&str, &Document> =
        data.all_documents().map(|d| (d.id.as_str(), d)).collect();
    let entities: BTreeMap<&str, &Entity> =
        data.entities.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut out = String::new();
    let proxies = data
        .all_documents()
        .map(document_proxy)
        .chain(data.entities.iter().map(|e| entity_proxy(e, &docs)))
        .chain(
            data.relations
                .iter()
                .map(|r| relation_proxy(r, &entities, &docs)),
        );
    for p in proxies {
        out.push_str(&p.line()?);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// An FtM entity's properties: name → values.
type Props = BTreeMap<String, Vec<String>>;

/// One FtM entity read: its lines (1-based numbers and text) and merged
/// properties.
struct Read<'t> {
    id: String,
    schema: String,
    lines: Vec<&'t str>,
    props: Props,
    /// Ids merged into this entity (`referents`).
    referents: Vec<String>,
}

impl Read<'_> {
    fn values(&self, prop: &str) -> &[String] {
        self.props.get(prop).map(Vec::as_slice).unwrap_or(&[])
    }

    fn first(&self, prop: &str) -> Option<&str> {
        self.values(prop).first().map(String::as_str)
    }

    fn date(&self, prop: &str) -> Option<NaiveDate> {
        let v = self.first(prop)?;
        NaiveDate::parse_from_str(v.get(..10).unwrap_or(v), "%Y-%m-%d").ok()
    }
}

/// One line read: id, schema, properties and referents.
type Line = (String, String, Props, Vec<String>);

fn parse_line(n: usize, line: &str) -> Result<Line, InteropError> {
    let bad = |m: &str| InteropError::at_line(n, m.to_owned());
    let value: Value = serde_json::from_str(line)
        .map_err(|e| InteropError::at_line(n, format!("not JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| bad("an FtM entity is a JSON object"))?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("the entity has no `id`"))?;
    let schema = obj
        .get("schema")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("the entity has no `schema`"))?;
    let mut props = BTreeMap::new();
    match obj.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let Value::Array(items) = v else {
                    return Err(bad(&format!("property `{k}` is not a list")));
                };
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => values.push(s.clone()),
                        Value::Number(x) => values.push(x.to_string()),
                        _ => {
                            return Err(bad(&format!(
                                "property `{k}` has a value that is not a string"
                            )))
                        }
                    }
                }
                props.insert(k.clone(), values);
            }
        }
        Some(_) => return Err(bad("`properties` is not an object")),
    }
    let referents = match obj.get("referents") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| bad("`referents` has a value that is not a string"))?,
        Some(_) => return Err(bad("`referents` is not a list")),
    };
    Ok((id.to_owned(), schema.to_owned(), props, referents))
}

/// Turns FtM ids into unique slugs, stably (our own ids stay as they are).
#[derive(Default)]
struct Slugs {
    by_id: BTreeMap<String, String>,
    taken: BTreeSet<String>,
}

impl Slugs {
    fn slug(text: &str) -> String {
        let folded = deunicode(text).to_lowercase();
        let mut out = String::new();
        for c in folded.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        if out.len() > 128 {
            // Room for a `-<n>` suffix should the truncated slug be taken.
            out.truncate(120);
        }
        let out = out.trim_end_matches('-').to_owned();
        if out.is_empty() {
            "ftm-entity".to_owned()
        } else {
            out
        }
    }

    fn assign(&mut self, id: &str) -> String {
        if let Some(s) = self.by_id.get(id) {
            return s.clone();
        }
        let base = Self::slug(id);
        let mut candidate = base.clone();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        self.by_id.insert(id.to_owned(), candidate.clone());
        candidate
    }

    fn get(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }
}

/// A stable 64-bit FNV-1a hash, for the import document's id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The kind an entity of a schema reads as: ours from `keywords` when it
/// maps to this schema, else the schema's default for data from elsewhere.
fn entity_kind(r: &Read<'_>) -> Option<EntityKind> {
    let ours = r
        .values("keywords")
        .iter()
        .filter_map(|k| k.parse::<EntityKind>().ok())
        .find(|k| entity_schema(*k) == r.schema);
    if ours.is_some() {
        return ours;
    }
    match r.schema.as_str() {
        "Person" => Some(EntityKind::Person),
        "PublicBody" => Some(EntityKind::Ministry),
        "Event" => Some(EntityKind::Event),
        "Territory" => Some(match r.first("level") {
            Some("country") => EntityKind::Country,
            Some("locality" | "city") => EntityKind::City,
            _ => EntityKind::Region,
        }),
        _ => None,
    }
}

/// Our evidence on an item, if it has any: the values of `prop` that name a
/// document of its `proof`.
fn our_sources(r: &Read<'_>, prop: &str) -> Vec<Source> {
    let proof: BTreeSet<&str> = r.values("proof").iter().map(String::as_str).collect();
    r.values(prop)
        .iter()
        .filter_map(|v| parse_evidence(v, &proof))
        .collect()
}

fn money(r: &Read<'_>, words_prop: &str) -> Option<Money> {
    let raw = r.first("amount")?;
    let amount = raw.parse::<i64>().ok().or_else(|| {
        let x = raw.parse::<f64>().ok()?;
        // Whole amounts only; `as` saturates, which the bound check catches.
        (x.fract() == 0.0 && x.abs() < 9.0e18).then_some(x as i64)
    })?;
    let currency = r
        .first("currency")
        .map(str::to_ascii_uppercase)
        .filter(|c| Money::is_currency_code(c))
        .unwrap_or_else(|| Money::DEFAULT_CURRENCY.to_owned());
    Some(Money {
        amount,
        currency: currency.into(),
        qualifier: qualifier_of(r.first(words_prop)),
    })
}

struct Reader<'t> {
    text: &'t str,
    slugs: Slugs,
    skipped: BTreeMap<String, usize>,
    import_doc: Option<Document>,
}

impl<'t> Reader<'t> {
    fn skip(&mut self, schema: &str) {
        *self.skipped.entry(schema.to_owned()).or_default() += 1;
    }

    /// Evidence for an item from elsewhere: its own lines in the import
    /// document.
    fn foreign_sources(&mut self, r: &Read<'t>) -> Vec<Source> {
        let text = self.text;
        let doc = self.import_doc.get_or_insert_with(|| Document {
            id: format!("ftm-import-{:016x}", fnv1a(text.as_bytes())).into(),
            title: "FollowTheMoney import".into(),
            publisher: "FollowTheMoney".into(),
            published_on: None,
            dateline: None,
            text: text.into(),
        });
        r.lines
            .iter()
            .map(|l| Source::new(doc.id.as_str(), l.trim()))
            .collect()
    }

    fn document(&mut self, r: &Read<'t>) -> Option<Document> {
        let text = r.values("bodyText").join("\n");
        if text.trim().is_empty() {
            return None;
        }
        let title = r
            .first("title")
            .or_else(|| r.first("name"))
            .or_else(|| r.first("fileName"))
            .unwrap_or("Untitled document")
            .to_owned();
        let publisher = r
            .first("publisher")
            .or_else(|| r.first("author"))
            .unwrap_or("FollowTheMoney")
            .to_owned();
        Some(Document {
            id: self.slugs.assign(&r.id).into(),
            title: title.into(),
            publisher: publisher.into(),
            published_on: r.date("publishedAt"),
            dateline: r.first("address").map(Into::into),
            text: text.into(),
        })
    }

    fn entity(&mut self, r: &Read<'t>) -> Option<Entity> {
        let kind = entity_kind(r)?;
        let mut names = r.values("name").iter();
        let name = names.next()?.clone();
        let mut sources = our_sources(r, "notes");
        let ours = !sources.is_empty();
        let mut aliases: Vec<String> = names.cloned().collect();
        aliases.extend(r.values("alias").iter().cloned());
        if !ours {
            aliases.extend(r.values("abbreviation").iter().cloned());
            let mut seen = BTreeSet::from([name.clone()]);
            aliases.retain(|a| !a.trim().is_empty() && seen.insert(a.clone()));
            sources = self.foreign_sources(r);
        }
        let description = match r.values("description") {
            [] => None,
            values => Some(values.join("\n\n")),
        };
        let fiscal_year = r.values("keywords").iter().find_map(|k| parse_fiscal(k));
        let class = kind.class();
        let money = money(r, "summary");
        let (total_amount, total) = match class {
            EntityClass::Fund => (money, None),
            EntityClass::Legislation => (None, money),
            _ => (None, None),
        };
        let keeps_year = matches!(class, EntityClass::Fund | EntityClass::Legislation);
        let id = self.slugs.assign(&r.id);
        // Referents in our own id form that name no item of the input;
        // ids from elsewhere become other slugs, so what they named is
        // not known here.
        let mut merged_ids: Vec<compact_str::CompactString> = r
            .referents
            .iter()
            .filter(|m| Slugs::slug(m) == **m && **m != id && !self.slugs.taken.contains(*m))
            .map(|m| m.as_str().into())
            .collect();
        merged_ids.sort_unstable();
        merged_ids.dedup();
        Some(Entity::with_details(
            &id,
            kind,
            &name,
            aliases.into(),
            sources.into(),
            EntityDetails {
                description: description.map(Into::into),
                rank: if class == EntityClass::Person {
                    r.first("title").map(Into::into)
                } else {
                    None
                },
                total_amount,
                fiscal_year: fiscal_year.filter(|_| keeps_year),
                vote: if class == EntityClass::Legislation {
                    r.first("status").and_then(parse_vote)
                } else {
                    None
                },
                total,
                date: if class == EntityClass::Event {
                    r.date("date").or_else(|| r.date("startDate"))
                } else {
                    None
                },
                merged_ids,
            },
        ))
    }

    /// The relation kind and the properties naming its ends.
    fn relation_shape(r: &Read<'_>) -> Option<(RelationKind, &'static str, &'static str)> {
        match r.schema.as_str() {
            "Employment" => Some((RelationKind::HoldsPosition, "employee", "employer")),
            "Directorship" => Some((RelationKind::HoldsPosition, "director", "organization")),
            "Membership" => Some((RelationKind::PartOf, "member", "organization")),
            "Payment" => {
                let kind = match r.first("purpose") {
                    Some("AUTHORIZES") => RelationKind::Authorizes,
                    _ => RelationKind::Funds,
                };
                Some((kind, "payer", "beneficiary"))
            }
            "UnknownLink" => {
                let kind = r.first("role")?.parse().ok()?;
                Some((kind, "subject", "object"))
            }
            _ => None,
        }
    }

    fn relation(&mut self, r: &Read<'t>, kinds: &BTreeMap<String, EntityKind>) -> Option<Relation> {
        let (kind, from_prop, to_prop) = Self::relation_shape(r)?;
        let mut sources = our_sources(r, "summary");
        let ours = !sources.is_empty();
        let end = |prop: &str| -> Option<String> {
            let id = r.first(prop)?;
            match self.slugs.get(id) {
                Some(slug) => Some(slug.to_owned()),
                // Our own relations may join entities of the graph that the
                // file does not hold.
                None if ours => Some(id.to_owned()),
                None => None,
            }
        };
        let from = end(from_prop)?;
        let to = end(to_prop)?;
        if !ours {
            // Data from elsewhere must join entities read here, of kinds our
            // model lets this relation join.
            match (kinds.get(&from), kinds.get(&to)) {
                (Some(fk), Some(tk)) if kind.allows(*fk, *tk) && from != to => {}
                _ => return None,
            }
            sources = self.foreign_sources(r);
        }
        let payment = r.schema == "Payment";
        let descriptions = r.values("description");
        let fiscal_year = if payment {
            r.values("programme").iter().find_map(|p| parse_fiscal(p))
        } else {
            descriptions.iter().find_map(|d| parse_fiscal(d))
        };
        let categories = if kind == RelationKind::Supports {
            descriptions
                .iter()
                .filter(|d| parse_fiscal(d).is_none())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let details = RelationDetails {
            role: if kind == RelationKind::HoldsPosition {
                r.first("role").map(Into::into)
            } else {
                None
            },
            amount: if payment {
                money(r, "description")
            } else {
                None
            },
            fiscal_year,
            date: r.date("date"),
            categories: categories.into(),
        };
        Some(Relation::with_details(
            &self.slugs.assign(&r.id),
            kind,
            (from.into(), to.into()),
            details,
            sources.into(),
        ))
    }
}

/// Reads FtM JSON lines: our export exactly, other FtM data as described in
/// the module documentation.
pub(super) fn read(text: &str) -> Result<Import, InteropError> {
    // Parse every line first: a malformed one fails the import.
    let mut order: Vec<String> = Vec::new();
    let mut items: BTreeMap<String, Read<'_>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (id, schema, props, mut referents) = parse_line(i + 1, line)?;
        match items.get_mut(&id) {
            // Fragments of one entity are merged, as FtM does.
            Some(item) => {
                item.lines.push(line);
                item.referents.append(&mut referents);
                for (k, mut v) in props {
                    item.props.entry(k).or_default().append(&mut v);
                }
            }
            None => {
                order.push(id.clone());
                items.insert(
                    id.clone(),
                    Read {
                        id,
                        schema,
                        lines: vec![line],
                        props,
                        referents,
                    },
                );
            }
        }
    }
    let mut reader = Reader {
        text,
        slugs: Slugs::default(),
        skipped: BTreeMap::new(),
        import_doc: None,
    };
    let reads: Vec<&Read<'_>> = order.iter().filter_map(|id| items.get(id)).collect();
    // Our own ids are reserved first, so that they stay as they are.
    for r in &reads {
        if Slugs::slug(&r.id) == r.id {
            reader.slugs.assign(&r.id);
        }
    }
    let mut documents = Vec::new();
    let mut entities = Vec::new();
    let mut relation_reads = Vec::new();
    for r in &reads {
        if DOCUMENT_SCHEMATA.contains(&r.schema.as_str()) {
            match reader.document(r) {
                Some(d) => documents.push(d),
                None => reader.skip(&r.schema),
            }
        } else if Reader::relation_shape(r).is_some() || is_link_schema(&r.schema) {
            relation_reads.push(*r);
        } else {
            match reader.entity(r) {
                Some(e) => entities.push(e),
                None => reader.skip(&r.schema),
            }
        }
    }
    let kinds: BTreeMap<String, EntityKind> = entities
        .iter()
        .map(|e| (e.id.to_string(), e.kind))
        .collect();
    let mut relations = Vec::new();
    for r in relation_reads {
        match reader.relation(r, &kinds) {
            Some(rel) => relations.push(rel),
            None => reader.skip(&r.schema),
        }
    }
    documents.extend(reader.import_doc.take());
    Ok(Import {
        dataset: Dataset {
            document: None,
            documents,
            entities,
            relations,
        },
        skipped: reader.skipped,
    })
}

/// Schemata read as relations (even when their role names none of our kinds).
fn is_link_schema(schema: &str) -> bool {
    matches!(
        schema,
        "Employment" | "Directorship" | "Membership" | "Payment" | "UnknownLink"
    )
}
