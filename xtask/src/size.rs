//! `cargo xtask bench --part size`: what the demo ships to a browser, and what one typed stream
//! costs a page through tidings-leptos against what it costs through each peer a user would
//! weigh it against, side by side in one run. A measurement, never an assertion.
//!
//! Each app is built by `trunk build --release` with the settings of `Trunk.toml` (the
//! `wasm-release` profile, wasm-opt `-Oz`, minified CSS) into an output folder of its own,
//! emptied first, and with Trunk's staging folder (`target/wasm-bindgen/release`) emptied too:
//! Trunk copies every snippet it finds there into the app, so an app built after another would
//! ship the other's JavaScript snippets. The reference apps are `xtask/size-reference`: a
//! Leptos counter, and the same counter showing one stream's state and latest `Tick` through
//! each library (one cargo feature each). Every file a browser downloads (the `.wasm`, the
//! `.css`, wasm-bindgen's glue and the snippets it imports) is counted raw and gzipped at the
//! best level, as a server would send it.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::demo;
use crate::project;
use crate::tools::{self, Needs};

/// What the demo should weigh at most, gzipped.
const DEMO_GOAL: usize = 130_000;

/// The reference apps: a name, the folder under `target/size`, and the feature of
/// `xtask/size-reference` (none: the counter alone).
const REFERENCES: [(&str, &str, Option<&str>); 7] = [
    ("Leptos counter", "counter", None),
    ("+ tidings-leptos (defaults)", "tidings", Some("stream")),
    ("+ tidings-leptos over fetch", "tidings-fetch", Some("fetch")),
    ("+ tidings alone, by hand", "tidings-alone", Some("tidings")),
    ("+ leptos-use-event-source, codee JSON", "leptos-use", Some("leptos-use")),
    ("+ gloo-net EventSource, serde_json", "gloo", Some("gloo")),
    ("+ web_sys::EventSource, serde_json", "web-sys", Some("web-sys")),
];

pub(crate) fn run() -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    clean(&project::dist_dir())?;
    demo::build_app(&tools)?;
    let app = shipped(&project::dist_dir())?;
    let reference = project::root().join("xtask/size-reference/index.html");
    let reference = reference.to_string_lossy();
    let mut totals = Vec::new();
    for (name, folder, feature) in REFERENCES {
        let dist = project::target_dir().join("size").join(folder);
        clean(&dist)?;
        let mut extra = vec![reference.as_ref()];
        if let Some(feature) = feature {
            extra.extend(["--features", feature]);
        }
        demo::trunk_build(&tools, &dist, &extra)?;
        totals.push((name, total(&shipped(&dist)?)));
    }

    println!("\nxtask: size of the release builds (bytes; gzip at the best level)");
    println!("  {:<44} {:>9} {:>9}", "demo file", "raw", "gzipped");
    for file in &app {
        println!("  {:<44} {:>9} {:>9}", file.name, file.raw, file.gzipped);
    }
    let (app_raw, app_gz) = total(&app);
    println!("  {:<44} {:>9} {:>9}", "demo, in all", app_raw, app_gz);
    let goal = if app_gz <= DEMO_GOAL { "met" } else { "not met" };
    println!("  goal: the demo at most {DEMO_GOAL} bytes gzipped: {goal}");

    let (_, (_, counter_gz)) = totals[0];
    let peer = REFERENCES.iter().position(|(_, folder, _)| *folder == "leptos-use");
    let peer_gz = totals[peer.expect("leptos-use is a reference")].1.1 - counter_gz;
    println!(
        "\n  {:<40} {:>9} {:>9} {:>16} {:>12}",
        "app", "raw", "gzipped", "over the counter", "× leptos-use"
    );
    for (name, (raw, gz)) in &totals {
        let over = gz - counter_gz;
        let ratio =
            if over == 0 { String::new() } else { format!("{:.2}", over as f64 / peer_gz as f64) };
        let over = if over == 0 { String::new() } else { format!("+{over}") };
        println!("  {name:<40} {raw:>9} {gz:>9} {over:>16} {ratio:>12}");
    }
    Ok(())
}

/// `folder` and Trunk's staging folder emptied, so a build ships only its own files.
fn clean(folder: &Path) -> Result<(), String> {
    let staging = project::target_dir().join("wasm-bindgen").join("release");
    for folder in [folder, &staging] {
        if folder.exists() {
            std::fs::remove_dir_all(folder)
                .map_err(|error| format!("cannot empty {}: {error}", folder.display()))?;
        }
    }
    Ok(())
}

/// Raw and gzipped bytes of `files` in all.
fn total(files: &[Shipped]) -> (usize, usize) {
    files.iter().fold((0, 0), |(raw, gz), file| (raw + file.raw, gz + file.gzipped))
}

/// One file a browser downloads.
#[derive(Debug)]
struct Shipped {
    name: String,
    raw: usize,
    gzipped: usize,
}

/// What a browser downloads of the app in `dist`, largest first: its `.wasm` and `.css`, the
/// JavaScript at the top of the folder (wasm-bindgen's glue), and each snippet that some
/// downloaded JavaScript imports. wasm-bindgen writes every snippet of every crate it links,
/// imported or not; one no import names is never downloaded, so it does not count.
fn shipped(dist: &Path) -> Result<Vec<Shipped>, String> {
    let mut candidates = Vec::new();
    for path in files_under(dist)? {
        let kind = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_owned();
        if matches!(kind.as_str(), "wasm" | "js" | "css") {
            let bytes = std::fs::read(&path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            let name = path.strip_prefix(dist).unwrap_or(&path).display().to_string();
            candidates.push((name, kind, bytes));
        }
    }
    // Snippets count once some counted JavaScript names them, until nothing more is named.
    let is_snippet = |name: &str| name.starts_with("snippets/");
    let mut counted: Vec<bool> = candidates.iter().map(|(name, _, _)| !is_snippet(name)).collect();
    loop {
        let named: Vec<usize> = (0..candidates.len())
            .filter(|&n| !counted[n])
            .filter(|&n| {
                candidates.iter().zip(&counted).any(|((_, kind, bytes), &counted)| {
                    counted && kind == "js" && contains(bytes, candidates[n].0.as_bytes())
                })
            })
            .collect();
        if named.is_empty() {
            break;
        }
        named.into_iter().for_each(|n| counted[n] = true);
    }
    let mut files = Vec::new();
    for ((name, _, bytes), counted) in candidates.into_iter().zip(counted) {
        if counted {
            files.push(Shipped { name, raw: bytes.len(), gzipped: gzipped_len(&bytes)? });
        }
    }
    files.sort_by_key(|file| std::cmp::Reverse(file.raw));
    Ok(files)
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn files_under(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(folder)
        .map_err(|error| format!("cannot list {}: {error}", folder.display()))?;
    for entry in entries {
        let path =
            entry.map_err(|error| format!("cannot list {}: {error}", folder.display()))?.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn gzipped_len(bytes: &[u8]) -> Result<usize, String> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).map_err(|error| format!("cannot gzip: {error}"))?;
    let compressed = encoder.finish().map_err(|error| format!("cannot gzip: {error}"))?;
    Ok(compressed.len())
}
