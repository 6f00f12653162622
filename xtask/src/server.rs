//! Building and starting tidings-server (the demo) or tidings-fixtures (the fixture server the
//! browser suites test against) for the demo, the tests and the benchmarks.

use std::ffi::OsStr;
use std::time::Duration;

use crate::project;
use crate::run::{self, Background};
use crate::tools::Tools;

/// Which server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Program {
    /// tidings-server: the demo.
    Demo,
    /// tidings-fixtures: the demo's routes and the scripted `/test/` ones, loopback CORS.
    Fixtures,
}

impl Program {
    fn package(self) -> &'static str {
        match self {
            Self::Demo => "tidings-server",
            Self::Fixtures => "tidings-fixtures",
        }
    }
}

/// Builds `program` (release), starts it with `args` (and `RUST_LOG=log_filter` unless `RUST_LOG` is set
/// already), and waits for its `listening on` line: the running server and its base URL
/// (`http://ADDR`).
pub(crate) fn start<I, S>(
    tools: &Tools,
    program: Program,
    args: I,
    log_filter: Option<&str>,
) -> Result<(Background, String), String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cargo = tools.cargo();
    cargo.args(["build", "--locked", "--release", "--package", program.package()]);
    run::status(&mut cargo)?;
    let mut command = tools.command(project::target_dir().join("release").join(program.package()));
    command.args(args);
    if let Some(filter) = log_filter
        && std::env::var_os("RUST_LOG").is_none()
    {
        command.env("RUST_LOG", filter);
    }
    let (server, line) = Background::start(&mut command, "listening on", Duration::from_secs(30))?;
    let url = line.rsplit(' ').next().unwrap_or_default().to_owned();
    Ok((server, url))
}
