//! `cargo xtask bench --part size`: what the demo ships to a browser, against a Leptos counter
//! built the same way (the budget is a multiple of it) and that counter with one tidings-leptos
//! stream (what the libraries add). A measurement, never an assertion.
//!
//! Each app is built by `trunk build --release` with the settings of `Trunk.toml` (the
//! `wasm-release` profile, wasm-opt `-Oz`, minified CSS); the reference apps are
//! `xtask/size-reference`. Every shipped `.wasm`, `.js` (wasm-bindgen's glue and the snippets)
//! and `.css` file is counted raw and gzipped at the best level, as a server would send it.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::demo;
use crate::project;
use crate::tools::{self, Needs};

/// The budget, as a multiple of the counter.
const BUDGET_TIMES_COUNTER: usize = 3;

pub(crate) fn run() -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    demo::build_app(&tools)?;
    let reference = project::root().join("xtask/size-reference/index.html");
    let reference = reference.to_string_lossy();
    let counter_dist = project::target_dir().join("size/counter");
    demo::trunk_build(&tools, &counter_dist, &[&reference])?;
    let stream_dist = project::target_dir().join("size/stream");
    demo::trunk_build(&tools, &stream_dist, &[&reference, "--features", "stream"])?;

    let app = shipped(&project::dist_dir())?;
    let counter = shipped(&counter_dist)?;
    let stream = shipped(&stream_dist)?;
    println!("\nxtask: size of the release builds (bytes; gzip at the best level)");
    println!("  {:<44} {:>9} {:>9}", "demo file", "raw", "gzipped");
    for file in &app {
        println!("  {:<44} {:>9} {:>9}", file.name, file.raw, file.gzipped);
    }
    let total = |files: &[Shipped]| -> (usize, usize) {
        files.iter().fold((0, 0), |(raw, gz), file| (raw + file.raw, gz + file.gzipped))
    };
    let (app_raw, app_gz) = total(&app);
    let (counter_raw, counter_gz) = total(&counter);
    let (stream_raw, stream_gz) = total(&stream);
    println!("  {:<44} {:>9} {:>9}", "demo, in all", app_raw, app_gz);
    println!("  {:<44} {:>9} {:>9}", "Leptos counter, in all", counter_raw, counter_gz);
    println!("  {:<44} {:>9} {:>9}", "counter + one tidings-leptos stream", stream_raw, stream_gz);
    let budget = BUDGET_TIMES_COUNTER * counter_gz;
    println!(
        "  demo / counter (gzipped): {:.2}; budget {BUDGET_TIMES_COUNTER}x the counter = {budget} bytes: {}",
        app_gz as f64 / counter_gz as f64,
        if app_gz <= budget { "met" } else { "not met" }
    );
    Ok(())
}

/// One file a browser downloads.
#[derive(Debug)]
struct Shipped {
    name: String,
    raw: usize,
    gzipped: usize,
}

/// The `.wasm`, `.js` and `.css` files under `dist`, largest first.
fn shipped(dist: &Path) -> Result<Vec<Shipped>, String> {
    let mut files = Vec::new();
    for path in files_under(dist)? {
        let shipped =
            matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js" | "css"));
        if !shipped {
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let name = path.strip_prefix(dist).unwrap_or(&path).display().to_string();
        files.push(Shipped { name, raw: bytes.len(), gzipped: gzipped_len(&bytes)? });
    }
    files.sort_by_key(|file| std::cmp::Reverse(file.raw));
    Ok(files)
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
