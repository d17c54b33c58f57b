//! The store's subcommands: `import` adds a data file to a data directory,
//! all or nothing; `export` writes the directory's whole graph; both, and
//! `serve`, document their flags.

use crate::server::{command, run_bounded, ARTICLE_ENTITIES, ARTICLE_RELATIONS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// A small valid data file: a document, an entity it evidences and a
/// relation from it to an entity of the article.
pub const VALID: &str = r#"
[document]
id = "cli-test-report"
title = "A CLI Test Report"
publisher = "Test Wire"
publishedOn = "2025-12-02"
text = "The Example Brigade is part of the Peshmerga, the report says."

[[entities]]
id = "example-brigade"
kind = "ARMED_FORCE"
name = "Example Brigade"
aliases = ["EB"]
sources = [{ document = "cli-test-report", quote = "The Example Brigade" }]

[[relations]]
id = "example-brigade-part-of-peshmerga"
kind = "PART_OF"
from = "example-brigade"
to = "peshmerga"
sources = [{ document = "cli-test-report", quote = "The Example Brigade is part of the Peshmerga" }]
"#;

/// A file whose document and entity are fine but whose last relation names
/// an entity that exists nowhere.
const BROKEN: &str = r#"
[document]
id = "broken-report"
title = "A Broken Report"
publisher = "Test Wire"
text = "The Broken Battalion is part of the Phantom Corps."

[[entities]]
id = "broken-battalion"
kind = "ARMED_FORCE"
name = "Broken Battalion"
sources = [{ document = "broken-report", quote = "The Broken Battalion" }]

[[relations]]
id = "broken-battalion-part-of-peshmerga"
kind = "PART_OF"
from = "broken-battalion"
to = "peshmerga"
sources = [{ document = "broken-report", quote = "The Broken Battalion is part of" }]

[[relations]]
id = "broken-battalion-part-of-phantom-corps"
kind = "PART_OF"
from = "broken-battalion"
to = "phantom-corps"
sources = [{ document = "broken-report", quote = "the Phantom Corps" }]
"#;

fn run(data: &Path, args: &[&str]) -> Output {
    run_bounded(command(data).args(args), Duration::from_secs(60))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `export --format json` of the directory, parsed.
fn export(data: &Path, out: &Path) -> Value {
    let o = run(
        data,
        &[
            "export",
            "--format",
            "json",
            &out.display().to_string(),
            "--data-dir",
            &data.display().to_string(),
        ],
    );
    assert!(o.status.success(), "export: {}", text(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).expect("the export is JSON")
}

fn ids(export: &Value, list: &str) -> Vec<String> {
    export[list]
        .as_array()
        .unwrap_or_else(|| panic!("no `{list}` list in the export"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn import_then_export_holds_the_article_and_the_new_items() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("extra.toml");
    std::fs::write(&file, VALID).unwrap();

    let o = run(
        &data,
        &[
            "import",
            &file.display().to_string(),
            "--data-dir",
            &data.display().to_string(),
        ],
    );
    assert!(
        o.status.success(),
        "import: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("imported"),
        "import reports what it did: {}",
        text(&o.stdout)
    );

    let out = dir.path().join("out.json");
    let e = export(&data, &out);
    let documents = ids(&e, "documents");
    let entities = ids(&e, "entities");
    let relations = ids(&e, "relations");
    assert_eq!(documents, ["cli-test-report", crate::common::DOC]);
    assert_eq!(entities.len() as i64, ARTICLE_ENTITIES + 1);
    assert_eq!(relations.len() as i64, ARTICLE_RELATIONS + 1);
    for id in ["example-brigade", "peshmerga", "ctef"] {
        assert!(entities.contains(&id.to_owned()), "{id} in {entities:?}");
    }
    for id in [
        "example-brigade-part-of-peshmerga",
        "peshmerga-part-of-iraqs-security-institutions",
    ] {
        assert!(relations.contains(&id.to_owned()), "{id} in {relations:?}");
    }
    let brigade = e["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "example-brigade")
        .unwrap();
    assert_eq!(brigade["name"], "Example Brigade");
    assert_eq!(brigade["aliases"], serde_json::json!(["EB"]));

    // `-` writes to standard output; the environment's data dir is used
    // when the flag is absent.
    let o = run(&data, &["export", "-"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout: Value = serde_json::from_str(&text(&o.stdout)).expect("JSON on stdout");
    assert_eq!(stdout, e);

    // The export is a data file: `check` accepts it.
    let o = run(&data, &["check", &out.display().to_string()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout).trim(),
        format!(
            "ok: 2 documents, {} entities, {} relations",
            ARTICLE_ENTITIES + 1,
            ARTICLE_RELATIONS + 1
        )
    );
}

#[test]
fn a_broken_import_names_file_and_item_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("before.json");
    let before = export(&data, &out);

    let file = dir.path().join("broken.toml");
    std::fs::write(&file, BROKEN).unwrap();
    let o = run(
        &data,
        &[
            "import",
            &file.display().to_string(),
            "--data-dir",
            &data.display().to_string(),
        ],
    );
    assert!(!o.status.success(), "a broken file is refused");
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(&file.display().to_string()),
        "the message names the file: {stderr}"
    );
    assert!(
        stderr.contains("relation `broken-battalion-part-of-phantom-corps`"),
        "the message names the item: {stderr}"
    );
    assert!(
        stderr.contains("phantom-corps"),
        "and what is wrong: {stderr}"
    );

    let after = export(&data, &dir.path().join("after.json"));
    assert_eq!(after, before, "nothing of the broken file was stored");
    assert!(!ids(&after, "documents").contains(&"broken-report".to_owned()));
    assert!(!ids(&after, "entities").contains(&"broken-battalion".to_owned()));

    // A file that does not parse is refused too, naming the file.
    let garbled = dir.path().join("garbled.toml");
    std::fs::write(&garbled, "[[entities]\nid = ").unwrap();
    let o = run(&data, &["import", &garbled.display().to_string()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains(&garbled.display().to_string()),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(export(&data, &dir.path().join("last.json")), before);
}

#[test]
fn subcommands_document_their_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (sub, needles) in [
        (
            "import",
            &["--data-dir", "PARTNERGRAPH_DATA_DIR", "<FILE>"][..],
        ),
        (
            "export",
            &[
                "--data-dir",
                "PARTNERGRAPH_DATA_DIR",
                "--format",
                "json",
                "<FILE>",
            ][..],
        ),
        (
            "serve",
            &[
                "--data-dir",
                "PARTNERGRAPH_DATA_DIR",
                "--listen",
                "PARTNERGRAPH_LISTEN",
                "--write-token",
                "PARTNERGRAPH_WRITE_TOKEN",
                "--write-token-file",
            ][..],
        ),
    ] {
        let o = run(&data, &[sub, "--help"]);
        assert!(o.status.success(), "{sub} --help: {}", text(&o.stderr));
        let help = text(&o.stdout);
        for needle in needles {
            assert!(
                help.contains(needle),
                "`{sub} --help` mentions {needle}:\n{help}"
            );
        }
        assert!(
            !help.contains(crate::server::TOKEN),
            "the token's value is never shown:\n{help}"
        );
    }
    assert!(!data.exists(), "--help touches no data directory");
}

/// Large enough for the documents' texts to be packed when loaded.
#[test]
fn generated_datasets_are_deterministic_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = |name: &str| dir.path().join(name).display().to_string();
    let generate = |out: &str, seed: &str| {
        let o = run(
            &data,
            &[
                "generate",
                "--entities",
                "2000",
                "--relations",
                "10000",
                "--seed",
                seed,
                "--out",
                out,
            ],
        );
        assert!(o.status.success(), "generate: {}", text(&o.stderr));
        std::fs::read(out).unwrap()
    };
    let a = generate(&file("a.json"), "7");
    let b = generate(&file("b.json"), "7");
    let c = generate(&file("c.json"), "8");
    assert_eq!(a, b, "the same seed gives the same file");
    assert_ne!(a, c, "another seed gives another file");
    let check = run(&data, &["check", &file("a.json")]);
    assert!(check.status.success(), "check: {}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("2000 entities, 10000 relations"),
        "{}",
        text(&check.stdout)
    );
    let import = run(
        &data,
        &[
            "import",
            &file("a.json"),
            "--no-seed",
            "--data-dir",
            &data.display().to_string(),
        ],
    );
    assert!(import.status.success(), "import: {}", text(&import.stderr));
    let out = dir.path().join("out.json");
    let o = run_bounded(
        command(&data).env("PARTNERGRAPH_LOG", "info").args([
            "export",
            "--format",
            "json",
            &out.display().to_string(),
        ]),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "export: {}", text(&o.stderr));
    let log = text(&o.stderr);
    assert!(log.contains("text dictionary trained"), "{log}");
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(ids(&exported, "entities").len(), 2000);
    assert_eq!(ids(&exported, "relations").len(), 10000);
    // Held packed, every text and every quote reads back as generated.
    let generated: Value = serde_json::from_slice(&a).unwrap();
    let by_id = |v: &Value, list: &str, field: &str| -> BTreeMap<String, Value> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["id"].as_str().unwrap().to_owned(), x[field].clone()))
            .collect()
    };
    assert_eq!(
        by_id(&exported, "documents", "text"),
        by_id(&generated, "documents", "text")
    );
    for list in ["entities", "relations"] {
        assert_eq!(
            by_id(&exported, list, "sources"),
            by_id(&generated, list, "sources"),
            "{list}"
        );
    }
}
