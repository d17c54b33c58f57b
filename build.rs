//! Builds the web pages (the explorer and GraphiQL) from `web/` with Node.js
//! and npm, and embeds them: the binary serves them with no files beside it
//! and no request to any other origin. The front-end libraries come from
//! the npm registry, pinned by `web/package-lock.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    if let Err(message) = build() {
        eprintln!("\nerror: {message}\n");
        std::process::exit(1);
    }
}

fn build() -> Result<(), String> {
    for watched in [
        "web/src",
        "web/build.mjs",
        "web/package.json",
        "web/package-lock.json",
        "README.md",
    ] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let web = root.join("web");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("web");

    let node = run(Command::new("node").arg("--version"));
    let npm = run(Command::new("npm").arg("--version"));
    if node.is_err() || npm.is_err() {
        return Err(
            "partnergraph's web pages (the explorer at / and GraphiQL at /graphiql) \
             are built with Node.js and npm, and they were not found on PATH.\n\
             Install Node.js 18 or newer with npm (Debian/Ubuntu: `apt-get install nodejs npm`), \
             then build again. They are needed at build time only."
                .into(),
        );
    }
    // `npm ci` installs exactly what the lock file pins; it runs again only
    // when the lock file is newer than the installed tree.
    if is_stale(
        &web.join("node_modules/.package-lock.json"),
        &web.join("package-lock.json"),
    ) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&web))
        .map_err(|e| format!("`npm ci` in web/ failed (it needs the npm registry once): {e}"))?;
    }
    run(Command::new("node")
        .arg("build.mjs")
        .env("PARTNERGRAPH_WEB_OUT", &out)
        .current_dir(&web))
    .map_err(|e| format!("building the web pages (`node build.mjs` in web/) failed: {e}"))?;

    let manifest = std::fs::read_to_string(out.join("manifest.tsv"))
        .map_err(|e| format!("web/build.mjs wrote no manifest: {e}"))?;
    let mut code = String::from("/// The web pages' files, built from `web/` by `build.rs`.\npub static ASSETS: &[Asset] = &[\n");
    for line in manifest.lines().filter(|l| !l.is_empty()) {
        let mut fields = line.split('\t');
        let (Some(path), Some(content_type), Some(etag)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("bad manifest line {line:?}"));
        };
        let file = out.join(path);
        let _ = writeln!(
            code,
            "    Asset {{ path: {path:?}, content_type: {content_type:?}, etag: {etag:?}, body: include_bytes!({body:?}), gzip: include_bytes!({gz:?}) }},",
            body = file.display().to_string(),
            gz = format!("{}.gz", file.display()),
        );
    }
    code.push_str("];\n");
    std::fs::write(out.join("assets.rs"), code).map_err(|e| e.to_string())
}

/// Whether `made` is missing or older than `from`.
fn is_stale(made: &Path, from: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(made), modified(from)) {
        (Some(made), Some(from)) => made < from,
        _ => true,
    }
}

/// Runs a command, giving its output on failure.
fn run(cmd: &mut Command) -> Result<(), String> {
    let output = cmd.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
