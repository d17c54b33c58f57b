//! The deployment files name only settings the binary has.

use clap::CommandFactory;
use partnergraph::config::Cli;
use serde_yaml_ng::Value;
use std::collections::BTreeSet;

/// Every environment variable any flag of the binary reads, in every subcommand.
fn env_vars() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeSet::new();
    walk(&Cli::command(), &mut out);
    out
}

/// The environment a compose service sets: a mapping or a list of `KEY=value`.
fn environment_keys(env: &Value) -> Vec<String> {
    match env {
        Value::Mapping(map) => map
            .keys()
            .map(|k| k.as_str().expect("environment keys are strings").to_owned())
            .collect(),
        Value::Sequence(items) => items
            .iter()
            .map(|item| {
                let entry = item.as_str().expect("environment entries are strings");
                entry.split('=').next().unwrap_or(entry).to_owned()
            })
            .collect(),
        Value::Null => Vec::new(),
        other => panic!("`environment` is neither a mapping nor a list: {other:?}"),
    }
}

#[test]
fn cli_flags_have_environment_twins() {
    let vars = env_vars();
    for var in [
        "PARTNERGRAPH_LISTEN",
        "PARTNERGRAPH_MAX_DEPTH",
        "PARTNERGRAPH_MAX_BODY_BYTES",
        "PARTNERGRAPH_CORS_ORIGINS",
    ] {
        assert!(
            vars.contains(var),
            "{var} is read by a flag; flags: {vars:?}"
        );
    }
    let cmd = Cli::command();
    let serve = cmd
        .get_subcommands()
        .find(|c| c.get_name() == "serve")
        .expect("a `serve` subcommand");
    let listen = serve
        .get_arguments()
        .find(|a| a.get_long() == Some("listen"))
        .expect("serve --listen");
    assert_eq!(
        listen.get_env().map(|e| e.to_string_lossy().into_owned()),
        Some("PARTNERGRAPH_LISTEN".to_owned())
    );
    assert_eq!(
        listen
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        ["127.0.0.1:8080"]
    );
    Cli::command().debug_assert();
}

#[test]
fn cli_has_the_contracts_data_dir_setting() {
    // api.md, "HTTP and operation": `--data-dir` / `PARTNERGRAPH_DATA_DIR`.
    let vars = env_vars();
    assert!(
        vars.contains("PARTNERGRAPH_DATA_DIR"),
        "the contract names `--data-dir` / PARTNERGRAPH_DATA_DIR; the binary reads {vars:?}"
    );
    let cmd = Cli::command();
    assert!(
        cmd.get_arguments()
            .any(|a| a.get_long() == Some("data-dir")),
        "the contract names a `--data-dir` flag"
    );
}

#[test]
fn compose_environment_names_only_real_flags() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path} must exist (it defines the `partnergraph` service): {e}")
    });
    let doc: Value =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"));
    let service = doc
        .get("services")
        .and_then(|s| s.get("partnergraph"))
        .unwrap_or_else(|| panic!("{path} defines no service `partnergraph`"));
    let env = service
        .get("environment")
        .unwrap_or_else(|| panic!("{path}: service `partnergraph` has no `environment`"));
    let keys = environment_keys(env);
    let ours: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("PARTNERGRAPH_"))
        .collect();
    assert!(
        !ours.is_empty(),
        "{path}: the service sets no PARTNERGRAPH_* variable"
    );
    let vars = env_vars();
    let unknown: Vec<&&String> = ours.iter().filter(|k| !vars.contains(**k)).collect();
    assert!(
        unknown.is_empty(),
        "{path} sets {unknown:?}, which no flag of `partnergraph` reads; the flags read {vars:?}"
    );
}

#[test]
fn the_scale_profile_puts_two_ready_instances_on_postgres_behind_a_balancer() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/docker-compose.yml")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
    let services = doc.get("services").and_then(Value::as_mapping).unwrap();
    let profile = |name: &str| -> Vec<String> {
        services
            .get(name)
            .and_then(|s| s.get("profiles"))
            .and_then(Value::as_sequence)
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The embedded default stays one service without a profile.
    assert!(profile("partnergraph").is_empty());
    let vars = env_vars();
    for name in ["postgres", "instance-a", "instance-b", "balancer"] {
        assert_eq!(profile(name), ["scale"], "service {name}");
    }
    for name in ["instance-a", "instance-b"] {
        let service = &services[name];
        let keys = environment_keys(&service["environment"]);
        assert!(keys.contains(&"PARTNERGRAPH_DATABASE_URL".to_owned()));
        // Behind the balancer every client has its address.
        assert!(keys.contains(&"PARTNERGRAPH_MAX_CONNECTIONS_PER_ADDRESS".to_owned()));
        for key in keys.iter().filter(|k| k.starts_with("PARTNERGRAPH_")) {
            assert!(vars.contains(key), "{name} sets {key}, which no flag reads");
        }
        let check: Vec<&str> = service["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(check[check.len() - 2..], ["--path", "/readyz"], "{name}");
    }
    // The balancer checks /readyz on every instance.
    let haproxy = std::fs::read_to_string(format!("{root}/deploy/haproxy.cfg")).unwrap();
    assert!(haproxy.contains("option httpchk GET /readyz"));
    for name in ["instance-a", "instance-b"] {
        assert!(
            haproxy.contains(&format!("server {name} {name}:8080 check")),
            "{name} is not behind the balancer"
        );
    }
    // The health check the instances run accepts --path /readyz.
    let cmd = Cli::command();
    let check = cmd
        .get_subcommands()
        .find(|c| c.get_name() == "healthcheck")
        .unwrap();
    let path = check
        .get_arguments()
        .find(|a| a.get_long() == Some("path"))
        .expect("healthcheck --path");
    let accepted: Vec<String> = path
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_owned())
        .collect();
    assert!(accepted.contains(&"/readyz".to_owned()));
}

/// The image's build stage copies every file Cargo needs to read the
/// manifest: Cargo refuses to build any target while a declared one (a
/// bench, a benchmark tool) is missing, so a folder left out of the
/// Dockerfile breaks the image build.
#[test]
fn the_image_build_copies_every_declared_target() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dockerfile = std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap();
    // The sources of the build stage's COPY lines (not those --from another stage).
    let copied: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--"))
        .flat_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            parts[..parts.len().saturating_sub(1)].to_vec()
        })
        .collect();
    let is_copied = |path: &str| {
        copied
            .iter()
            .any(|c| path == *c || path.starts_with(&format!("{}/", c.trim_end_matches('/'))))
    };
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap()).unwrap();
    let mut declared = vec!["src/main.rs".to_owned(), "build.rs".to_owned()];
    for (kind, dir) in [
        ("bench", "benches"),
        ("example", "examples"),
        ("test", "tests"),
    ] {
        for target in manifest
            .get(kind)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = target["name"].as_str().unwrap();
            let path = target
                .get("path")
                .and_then(toml::Value::as_str)
                .map_or_else(|| format!("{dir}/{name}.rs"), str::to_owned);
            declared.push(path);
        }
    }
    assert!(declared.len() > 2, "the manifest declares targets");
    for path in declared {
        assert!(
            std::path::Path::new(&format!("{root}/{path}")).exists(),
            "{path} is declared but missing"
        );
        assert!(is_copied(&path), "the Dockerfile does not copy {path}");
    }
}
