//! `cargo xtask demo`: build the app with Trunk (release) and serve it with tidings-server.

use std::time::{Duration, Instant};

use crate::project;
use crate::run::{self, Background};
use crate::tools::{self, Needs, Tools};

pub(crate) fn run(port: u16) -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    build_app(&tools)?;
    run::status(tools.cargo().args([
        "build",
        "--locked",
        "--release",
        "--package",
        "tidings-server",
    ]))?;
    let server = project::target_dir().join("release").join("tidings-server");
    let mut command = tools.command(server);
    command.arg("--addr").arg(format!("127.0.0.1:{port}")).arg("--dist").arg(project::dist_dir());
    let (server, line) = Background::start(&mut command, "listening on", Duration::from_secs(30))?;
    let url = line.rsplit(' ').next().unwrap_or_default();
    println!("\n    Tidings demo: open {url}\n    Ctrl-C stops it.\n");
    server.wait()
}

/// `trunk build --release`: the demo app into `dist/`.
pub(crate) fn build_app(tools: &Tools) -> Result<(), String> {
    let started = Instant::now();
    // Fetch first, so that Trunk can run offline: then it never tries to download a tool
    // (which fails here) and says clearly if one is missing.
    run::status(tools.cargo().args(["fetch", "--locked"]))?;
    run::status(tools.command("trunk").args([
        "build",
        "--release",
        "--locked",
        "--offline=true",
        "--skip-version-check",
    ]))?;
    println!(
        "xtask: built the app into {} in {}",
        project::dist_dir().display(),
        run::elapsed(started)
    );
    Ok(())
}
