//! `cargo xtask demo`: build the app with Trunk (release) and serve it with tidings-server
//! (`--tls`: over HTTPS, HTTP/2 for browsers).

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use crate::project;
use crate::run;
use crate::server::{self, Program};
use crate::tools::{self, Needs, Tools};
use tidings_testkit::certificate::Certificate;

pub(crate) fn run(port: u16, tls: bool) -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    let certificate = tls.then(certificate).transpose()?;
    build_app(&tools)?;
    let dist = project::dist_dir();
    let addr = format!("127.0.0.1:{port}");
    let mut args: Vec<OsString> =
        vec!["--addr".into(), addr.into(), "--dist".into(), dist.into_os_string()];
    if let Some(certificate) = &certificate {
        args.extend(["--tls-cert".into(), certificate.cert.clone().into()]);
        args.extend(["--tls-key".into(), certificate.key.clone().into()]);
    }
    // The demo shows the server's logs at its own default level.
    let (server, url) = server::start(&tools, Program::Demo, args, None)?;
    println!("\n    Tidings demo: open {url}\n    Ctrl-C stops it.\n");
    if let Some(certificate) = &certificate {
        print_certificate(certificate);
    }
    server.wait()
}

/// The self-signed certificate the demo serves with `--tls`: kept in `target/tidings-tls/` (made
/// there by openssl the first time, installed when missing), so that a browser's exception
/// for it outlives a restart, and `trunk serve` can use the same files.
pub(crate) fn certificate() -> Result<Certificate, String> {
    tools::tls_packages()?;
    tidings_testkit::certificate::self_signed(&project::target_dir().join("tidings-tls"))
}

/// Where the certificate is and its fingerprint, to compare with the one the browser shows.
pub(crate) fn print_certificate(certificate: &Certificate) {
    let fingerprint = tidings_testkit::certificate::fingerprint(&certificate.cert)
        .unwrap_or_else(|error| format!("unknown ({error})"));
    println!(
        "    The certificate is self-signed (browsers warn once): {}\n    SHA-256 {fingerprint}\n",
        certificate.cert.display()
    );
}

/// `trunk build --release`: the demo app into `dist/`.
pub(crate) fn build_app(tools: &Tools) -> Result<(), String> {
    trunk_build(tools, &project::dist_dir(), &[])
}

/// `trunk build --release` into `dist` with `extra` arguments (another app's `index.html`, its
/// features), with the settings of `Trunk.toml`.
pub(crate) fn trunk_build(tools: &Tools, dist: &Path, extra: &[&str]) -> Result<(), String> {
    let started = Instant::now();
    // Fetch first, so that Trunk can run offline: then it never tries to download a tool
    // (which fails here) and says clearly if one is missing.
    run::status(tools.cargo().args(["fetch", "--locked"]))?;
    run::status(
        tools
            .command("trunk")
            .args(["build", "--release", "--locked", "--offline=true", "--skip-version-check"])
            .arg("--dist")
            .arg(dist)
            .args(extra),
    )?;
    println!("xtask: built {} in {}", dist.display(), run::elapsed(started));
    Ok(())
}

/// `cargo xtask screenshot`: builds the app and writes `docs/demo.png` and `docs/demo-phone.png`
/// (390 × 844) from a short scripted session in headless Chromium (`tests/tests/screenshot.rs`).
pub(crate) fn screenshot() -> Result<(), String> {
    let tools = tools::setup(Needs::Tests)?;
    build_app(&tools)?;
    let target = project::root().join("docs").join("demo.png");
    let phone = project::root().join("docs").join("demo-phone.png");
    std::fs::create_dir_all(target.parent().expect("docs/ has a parent"))
        .map_err(|error| format!("cannot create docs/: {error}"))?;
    run::status(
        tools
            .cargo()
            .args([
                "test",
                "--locked",
                "--package",
                "tidings-e2e",
                "--test",
                "screenshot",
                "--",
                "--ignored",
                "--nocapture",
            ])
            .env("TIDINGS_SCREENSHOT", &target)
            .env("TIDINGS_PHONE_SCREENSHOT", &phone)
            .env("TIDINGS_E2E_DIST", project::dist_dir())
            .env("CHROMIUM", &tools.chromium)
            .env("CHROMEDRIVER", &tools.chromedriver)
            .env("FIREFOX", &tools.firefox)
            .env("GECKODRIVER", &tools.geckodriver),
    )?;
    for written in [&target, &phone] {
        if !written.is_file() {
            return Err(format!("the session ran but {} was not written", written.display()));
        }
        println!("xtask: wrote {}", written.display());
    }
    Ok(())
}
