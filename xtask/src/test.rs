//! `cargo xtask test`: every check CI runs, in order, ending with `N passed, N failed`.
//!
//! Every step runs even when an earlier one failed, so one run shows every problem; the command
//! fails if any step failed, and a test step that ran no test counts as failed.

use std::process::Command;
use std::time::Instant;

use crate::demo;
use crate::project;
use crate::run::{self, Background, Counts};
use crate::server::{self, Build, Program};
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
/// The crates with `wasm-bindgen-test` suites, by folder.
/// Each browser crate and its browser suites (`tests/<name>.rs`).
const BROWSER_TEST_CRATES: &[(&str, &[&str])] =
    &[("crates/tidings", &["web", "tabs"]), ("crates/leptos", &["web"])];

pub(crate) fn run() -> Result<(), String> {
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

/// Against one fixture server (tidings-fixtures) started here: `wasm-pack test` for each browser crate
/// in Chrome and Firefox, and the npm peers (another ecosystem's SSE parser and client).
fn server_backed_tests(tools: &Tools, report: &mut Report) {
    let server = match start_test_server(tools) {
        Ok(server) => server,
        Err(error) => {
            let failed = Counts::ONE_FAILED;
            report.record("tests against the test server", failed, Some(error));
            return;
        }
    };
    let (server, url) = server;
    for (krate, suites) in BROWSER_TEST_CRATES {
        for browser in ["chrome", "firefox"] {
            let mut command = tools.command(&tools.wasm_pack);
            command.args(["test", "--headless", &format!("--{browser}")]);
            if browser == "chrome" {
                command.arg("--chromedriver").arg(&tools.chromedriver);
            } else {
                command.arg("--geckodriver").arg(&tools.geckodriver);
            }
            // Only the browser suite: doctests and unit tests already ran natively.
            command.arg(krate);
            for suite in *suites {
                command.args(["--test", suite]);
            }
            command.env("TIDINGS_TEST_SERVER", &url).env("WASM_BINDGEN_TEST_TIMEOUT", "120");
            report.tests(&format!("browser tests, {krate}, {browser}"), &mut command);
        }
    }
    let npm_peers = project::root().join("tests").join("npm");
    let mut node = tools.command("node");
    node.args(["--test", "--test-reporter=tap"]).current_dir(npm_peers).env("TIDINGS_SERVER", &url);
    report.tests("npm eventsource-parser and eventsource", &mut node);
    server.stop();
}

/// The fixture server on a free loopback port, with fast ticks.
fn start_test_server(tools: &Tools) -> Result<(Background, String), String> {
    let flags = [
        "--addr",
        "127.0.0.1:0",
        "--tick-interval-ms",
        "100",
        "--retry-ms",
        "300",
        "--heartbeat-ms",
        "300",
    ];
    let args = flags.iter().chain(&["--dist", "target/no-app"]);
    server::start(tools, Program::Fixtures, Build::Debug, args, Some("warn"))
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

    fn finish(self, started: Instant) -> Result<(), String> {
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
        // An empty error: the failure is already reported, and the summary stays the last line.
        if total.failed == 0 { Ok(()) } else { Err(String::new()) }
    }
}
