//! `cargo xtask test`: every check CI runs, in order, ending with `N passed, N failed`.
//!
//! Every step runs even when an earlier one failed, so one run shows every problem; the command
//! fails if any step failed, and a test step that ran no test counts as failed.

use std::net::SocketAddr;
use std::path::MAIN_SEPARATOR;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::demo;
use crate::error::Error;
use crate::project;
use crate::run::{self, Background, Counts};
use crate::tools::{self, Needs, Tools};

/// The crates that run in the browser, checked with clippy for wasm32 (the size reference with
/// its `stream` feature; native clippy checks it without).
const WASM_CRATES: &[&str] = &[
    "tidings-wire",
    "tidings-demo-events",
    "tidings",
    "tidings-leptos",
    "tidings-demo",
    "tidings-size-reference",
    "tidings-example-notes-contract",
    "tidings-example-notes-page",
];
/// The crates meant for crates.io (the rest say `publish = false`).
const PUBLISHED_CRATES: &[&str] = &["tidings-wire", "tidings", "tidings-leptos", "tidings-axum"];
/// The library crates, whose docs must build without a warning.
const LIBRARY_CRATES: &[&str] = &[
    "tidings-wire",
    "tidings-demo-events",
    "tidings",
    "tidings-leptos",
    "tidings-axum",
    "tidings-server",
    "tidings-fixtures",
    "tidings-example-notes",
    "tidings-example-notes-contract",
];
/// The line of README.md after which comes the block of browser-test commands, which this
/// xtask runs as written (so the README cannot drift from what is tested).
const README_MARKER: &str = "<!-- cargo xtask test runs the commands below as written -->";

pub(crate) fn run() -> Result<(), Error> {
    let started = Instant::now();
    let tools = tools::setup(Needs::Tests)?;
    let mut report = Report::default();

    report.check("cargo fmt --check", tools.cargo().args(["fmt", "--all", "--", "--check"]));
    report.check(
        "clippy, native",
        tools.cargo().args([
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    );
    let mut wasm_clippy = tools.cargo();
    wasm_clippy.args(["clippy", "--locked", "--target", "wasm32-unknown-unknown", "--all-targets"]);
    for krate in WASM_CRATES {
        wasm_clippy.args(["--package", krate]);
    }
    wasm_clippy.args(["--features", "tidings-size-reference/stream"]);
    report.check("clippy, wasm32", wasm_clippy.args(["--", "-D", "warnings"]));
    let mut doc = tools.cargo();
    doc.args(["doc", "--locked", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings");
    for krate in LIBRARY_CRATES {
        doc.args(["--package", krate]);
    }
    report.check("cargo doc, -D warnings", &mut doc);
    // What a registry would take: each published crate packaged and built from its package
    // alone (its path dependencies from the packages made alongside).
    forget_unpacked_packages();
    let mut package = tools.cargo();
    package.args(["package", "--locked", "--allow-dirty"]);
    for krate in PUBLISHED_CRATES {
        package.args(["--package", krate]);
    }
    report.check("cargo package, the published crates", &mut package);
    report.tests(
        "native tests",
        tools.cargo().args(["test", "--locked", "--workspace", "--exclude", "tidings-e2e"]),
    );
    report.tests(
        "tidings-leptos under Leptos's ssr",
        tools.cargo().args([
            "test",
            "--locked",
            "--package",
            "tidings-leptos",
            "--features",
            "ssr",
            "--test",
            "ssr",
        ]),
    );

    server_backed_tests(&tools, &mut report);

    let notes_dist = project::target_dir().join("notes-dist");
    let built = demo::build_app(&tools).and_then(|()| {
        let page = project::root().join("examples/notes/page/index.html");
        demo::trunk_build(&tools, &notes_dist, &[&page.to_string_lossy()])
    });
    match built {
        Ok(()) => {
            report.record("trunk build --release", Counts::ONE_PASSED, None);
            // The tests of two nodes behind nginx run the server's binary.
            let server =
                tools.cargo().args(["build", "--locked", "--package", "tidings-server"]).status();
            if !server.is_ok_and(|status| status.success()) {
                report.record(
                    "end-to-end tests",
                    Counts::ONE_FAILED,
                    Some("cannot build tidings-server".into()),
                );
                return report.finish(started);
            }
            let mut e2e = tools.cargo();
            e2e.args(["test", "--locked", "--package", "tidings-e2e"])
                .env(
                    "TIDINGS_SERVER_BIN",
                    project::target_dir().join("debug").join("tidings-server"),
                )
                .env("NGINX", tools::NGINX)
                .env("REDIS_SERVER", tools::REDIS_SERVER)
                .env("TIDINGS_E2E_DIST", project::dist_dir())
                .env("TIDINGS_NOTES_DIST", &notes_dist)
                .env("CHROMIUM", &tools.chromium)
                .env("CHROMEDRIVER", &tools.chromedriver)
                .env("FIREFOX", &tools.firefox)
                .env("GECKODRIVER", &tools.geckodriver);
            report.tests("end-to-end tests", &mut e2e);
        }
        Err(error) => {
            report.record("trunk build --release", Counts::ONE_FAILED, Some(error));
            report.record(
                "end-to-end tests",
                Counts::ONE_FAILED,
                Some("not run: they need the Trunk build".into()),
            );
        }
    }

    report.finish(started)
}

/// The README's browser-test commands, as written: the fixture server (the line ending in `&`,
/// run in the background until the others are done), then `wasm-pack test` for each browser
/// crate in Chrome and Firefox; then the npm peers (another ecosystem's SSE parser and client)
/// against the same server.
fn server_backed_tests(tools: &Tools, report: &mut Report) {
    let commands = match readme_browser_commands() {
        Ok(commands) => commands,
        Err(error) => {
            report.record("browser tests from README.md", Counts::ONE_FAILED, Some(error));
            return;
        }
    };
    let address: SocketAddr = tidings_fixtures_addr();
    if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
        let note = format!(
            "something already listens on {address}, where the README starts the fixture \
             server: stop it and run again"
        );
        report.record("browser tests from README.md", Counts::ONE_FAILED, Some(note));
        return;
    }
    // Built first, so that the README's `cargo run` starts at once.
    let built =
        run::status(tools.cargo().args(["build", "--locked", "--package", "tidings-fixtures"]));
    if let Err(error) = built {
        report.record("browser tests from README.md", Counts::ONE_FAILED, Some(error));
        return;
    }
    let mut server = None;
    for (words, background) in &commands {
        let mut command = tools.command(&words[0]);
        command.args(&words[1..]);
        if *background {
            command.env("RUST_LOG", "warn");
            match Background::start(&mut command, "listening on", Duration::from_secs(120)) {
                Ok((started, _)) => server = Some(started),
                Err(error) => {
                    report.record(&words.join(" "), Counts::ONE_FAILED, Some(error));
                    return;
                }
            }
        } else {
            report.tests(&words.join(" "), &mut command);
        }
    }
    let url = format!("http://{address}");
    let npm_peers = project::root().join("tests").join("npm");
    let mut node = tools.command("node");
    node.args(["--test", "--test-reporter=tap"]).current_dir(npm_peers).env("TIDINGS_SERVER", &url);
    report.tests("npm eventsource-parser and eventsource", &mut node);
    if let Some(server) = server {
        server.stop();
    }
}

/// Where the fixture server listens by default (`tidings_fixtures::DEFAULT_ADDR`, read from
/// its source so that the xtask does not build the server's dependencies).
fn tidings_fixtures_addr() -> SocketAddr {
    const SOURCE: &str = include_str!("../../crates/fixtures/src/lib.rs");
    SOURCE
        .lines()
        .find_map(|line| line.strip_prefix("pub const DEFAULT_ADDR: &str = \""))
        .and_then(|rest| rest.strip_suffix("\";"))
        .and_then(|addr| addr.parse().ok())
        .expect("tidings-fixtures declares DEFAULT_ADDR")
}

/// The commands of README.md's browser-test block: each line's words (no shell: a `#` starts a
/// comment), and whether it ends in `&` (run in the background).
fn readme_browser_commands() -> Result<Vec<(Vec<String>, bool)>, String> {
    let readme = std::fs::read_to_string(project::root().join("README.md"))
        .map_err(|error| format!("cannot read README.md: {error}"))?;
    let mut lines = readme.lines().skip_while(|line| line.trim() != README_MARKER).skip(1);
    if lines.next().map(str::trim) != Some("```sh") {
        return Err(format!("README.md has no ```sh block after `{README_MARKER}`"));
    }
    let mut commands = Vec::new();
    for line in lines.take_while(|line| line.trim() != "```") {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (line, background) = match line.strip_suffix('&') {
            Some(rest) => (rest.trim_end(), true),
            None => (line, false),
        };
        commands.push((line.split_whitespace().map(str::to_owned).collect(), background));
    }
    if commands.iter().filter(|(_, background)| *background).count() != 1 || commands.len() < 2 {
        return Err("README.md's browser-test block must start the fixture server (one line \
                    ending in `&`) and run tests"
            .into());
    }
    Ok(commands)
}

#[derive(Default)]
struct Report {
    steps: Vec<Step>,
}

struct Step {
    name: String,
    counts: Counts,
    note: Option<String>,
}

impl Report {
    /// A check without test counts (fmt, clippy): one pass or one failure.
    fn check(&mut self, name: &str, command: &mut Command) {
        match run::status(command) {
            Ok(()) => self.record(name, Counts::ONE_PASSED, None),
            Err(error) => self.record(name, Counts::ONE_FAILED, Some(error)),
        }
    }

    /// A test run: its counts, plus a failure if it failed without a failed test (a build
    /// error) or ran no test at all.
    fn tests(&mut self, name: &str, command: &mut Command) {
        match run::tests(command) {
            Ok((mut counts, succeeded)) => {
                let note = if !succeeded && counts.failed == 0 {
                    counts.failed = 1;
                    Some(format!("`{}` failed before or outside its tests", run::describe(command)))
                } else if counts.passed + counts.failed == 0 {
                    counts.failed = 1;
                    Some("ran no test".to_owned())
                } else {
                    None
                };
                self.record(name, counts, note);
            }
            Err(error) => self.record(name, Counts::ONE_FAILED, Some(error)),
        }
    }

    fn record(&mut self, name: &str, counts: Counts, note: Option<String>) {
        self.steps.push(Step { name: name.to_owned(), counts, note });
    }

    fn finish(self, started: Instant) -> Result<(), Error> {
        println!("\nxtask: summary ({} in all)", run::elapsed(started));
        let mut total = Counts::default();
        for step in &self.steps {
            let mark = if step.counts.failed == 0 { "ok  " } else { "FAIL" };
            let compiled = match step.counts.compiled_only {
                0 => String::new(),
                n => format!(" ({n} doc examples only compiled)"),
            };
            println!(
                "  {mark} {:<45} {:>4} passed, {} failed{compiled}",
                step.name, step.counts.passed, step.counts.failed
            );
            if let Some(note) = &step.note {
                println!("       {}", note.replace('\n', "\n       "));
            }
            total.passed += step.counts.passed;
            total.failed += step.counts.failed;
            total.compiled_only += step.counts.compiled_only;
        }
        println!(
            "xtask: besides, {} doc examples were compiled but not run (`no_run`); they are not counted",
            total.compiled_only
        );
        if total.failed > 0 {
            println!("xtask: {} checks or tests failed; see above", total.failed);
        }
        // The last line, as CI reads it.
        println!("{} passed, {} failed", total.passed, total.failed);
        if total.failed == 0 { Ok(()) } else { Err(Error::Failed(total.failed)) }
    }
}

/// Forgets the copies of this workspace's own crates that an earlier `cargo package` unpacked
/// into Cargo's home (`registry/src/-<hash>/`, the local registry it builds a package's path
/// dependencies from) and what it compiled of them. Cargo takes a registry crate for immutable:
/// it never unpacks a version it finds there again nor rebuilds one it built, so a crate that
/// changed since, at the same version, would be verified against its old self (found when
/// tidings-leptos was built against a tidings without its newest type).
fn forget_unpacked_packages() {
    forget_compiled_packages();
    let Ok(registries) = std::fs::read_dir(tools::cargo_home().join("registry").join("src")) else {
        return;
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(crates) = std::fs::read_dir(registry.path()) else { continue };
        for unpacked in crates.flatten() {
            let name = unpacked.file_name().to_string_lossy().into_owned();
            // `<crate>-<version>`: `tidings-axum-0.1.0` is not a version of `tidings`.
            let ours = PUBLISHED_CRATES
                .iter()
                .filter_map(|krate| name.strip_prefix(krate)?.strip_prefix('-'))
                .any(|version| version.starts_with(|c: char| c.is_ascii_digit()));
            if ours {
                let _ = std::fs::remove_dir_all(unpacked.path());
            }
        }
    }
}

/// The fingerprints of our crates built from the packaging registry (their dep-info names
/// sources under `registry/src/-<hash>/`), so that Cargo builds them again.
fn forget_compiled_packages() {
    let debug = project::target_dir().join("debug");
    let Ok(infos) = std::fs::read_dir(debug.join("deps")) else { return };
    for info in infos.flatten() {
        let path = info.path();
        let Some(stem) = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()) else {
            continue;
        };
        let Some((krate, hash)) = stem.rsplit_once('-') else { continue };
        let krate = krate.replace('_', "-");
        let ours = PUBLISHED_CRATES.contains(&krate.as_str());
        if !ours || path.extension().is_none_or(|extension| extension != "d") {
            continue;
        }
        let unpacked = format!("registry{MAIN_SEPARATOR}src{MAIN_SEPARATOR}-");
        if std::fs::read_to_string(&path).is_ok_and(|text| text.contains(&unpacked)) {
            let fingerprint = format!("{krate}-{hash}");
            let _ = std::fs::remove_dir_all(debug.join(".fingerprint").join(fingerprint));
            let _ = std::fs::remove_file(&path);
        }
    }
}
