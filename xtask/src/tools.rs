//! The tools the project needs, pinned here (and in Cargo.lock / Trunk.toml, which this reads),
//! installed when missing or at the wrong version. The reason each
//! comes from where it does: nothing can be downloaded from outside the package registries.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::project;
use crate::run;

/// trunk 0.22 needs a newer rustc than these machines have.
const TRUNK_VERSION: &str = "0.21.14";
const WASM_PACK_VERSION: &str = "0.15.1";
const GECKODRIVER_VERSION: &str = "0.37.1";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian packages for the tests: Chromium with its driver, Firefox ESR, Redis (the event log's
/// Redis Streams backend is tested against `redis-server` processes the tests start) and nginx
/// (the demo of two nodes is tested behind it), openssl (certificates for nginx over TLS).
const APT_PACKAGES: &[&str] =
    &["chromium", "chromium-driver", "firefox-esr", "redis-server", "nginx", "openssl"];
const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub(crate) const NGINX: &str = "/usr/sbin/nginx";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What the caller is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Build and serve the demo.
    Demo,
    /// Everything `cargo xtask test` runs.
    Tests,
}

/// Where the installed tools are, and a `PATH` that finds them first.
#[derive(Debug)]
pub(crate) struct Tools {
    path: OsString,
    pub(crate) wasm_pack: PathBuf,
    pub(crate) chromium: PathBuf,
    pub(crate) chromedriver: PathBuf,
    pub(crate) firefox: PathBuf,
    pub(crate) geckodriver: PathBuf,
}

impl Tools {
    /// A command for `program` with the tools' `PATH`.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", &self.path).current_dir(project::root());
        command
    }

    /// `cargo` with the tools' `PATH`.
    pub(crate) fn cargo(&self) -> Command {
        self.command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
    }
}

/// Installs whatever `needs` requires and is missing, saying what it does and how long it takes.
pub(crate) fn setup(needs: Needs) -> Result<Tools, String> {
    let started = Instant::now();
    println!(
        "xtask: checking tools ({})",
        if needs == Needs::Tests { "demo and tests" } else { "demo" }
    );
    let cargo_bin = cargo_home().join("bin");
    let npm_bin = project::local_tools_dir().join("node_modules").join(".bin");
    let path = prepend_path(&[&npm_bin, &cargo_bin])?;

    if needs == Needs::Tests {
        apt_packages()?;
    }
    wasm_target()?;
    cargo_tool(&cargo_bin, "wasm-bindgen", "wasm-bindgen-cli", &wasm_bindgen_version()?)?;
    cargo_tool(&cargo_bin, "trunk", "trunk", TRUNK_VERSION)?;
    wasm_opt(&npm_bin)?;
    let mut tools = Tools {
        path,
        wasm_pack: PathBuf::new(),
        chromium: PathBuf::from(CHROMIUM),
        chromedriver: PathBuf::from(CHROMEDRIVER),
        firefox: PathBuf::new(),
        geckodriver: PathBuf::new(),
    };
    if needs == Needs::Tests {
        tools.wasm_pack = cargo_tool(&cargo_bin, "wasm-pack", "wasm-pack", WASM_PACK_VERSION)?;
        tools.geckodriver =
            cargo_tool(&cargo_bin, "geckodriver", "geckodriver", GECKODRIVER_VERSION)?;
        npm_peers()?;
        tools.firefox = find_in_path("firefox-esr")
            .or_else(|| find_in_path("firefox"))
            .ok_or("firefox-esr is installed but not on PATH")?;
    }
    println!("xtask: tools ready ({})", run::elapsed(started));
    Ok(tools)
}

pub(crate) fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".cargo")
    })
}

fn prepend_path(folders: &[&Path]) -> Result<OsString, String> {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut all: Vec<PathBuf> = folders.iter().map(|folder| folder.to_path_buf()).collect();
    all.extend(std::env::split_paths(&current));
    std::env::join_paths(all).map_err(|error| format!("cannot build PATH: {error}"))
}

fn find_in_path(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|folder| folder.join(binary))
        .find(|candidate| candidate.is_file())
}

/// Whether the first line of `binary --version` names exactly `version`.
fn has_version(binary: &Path, version: &str) -> Option<String> {
    let line = run::first_line(binary, &["--version"])?;
    line.split_whitespace()
        .any(|word| word == version || word == format!("v{version}"))
        .then_some(line)
}

/// Installs `krate` at `version` with cargo unless `binary` is already there at that version.
fn cargo_tool(
    cargo_bin: &Path,
    binary: &str,
    krate: &str,
    version: &str,
) -> Result<PathBuf, String> {
    let installed = cargo_bin.join(binary);
    if let Some(line) = has_version(&installed, version) {
        println!("xtask: ok   {line}");
        return Ok(installed);
    }
    println!("xtask: installing {krate} {version} with cargo (a few minutes on 2 cores)");
    let started = Instant::now();
    let locked = run::status(Command::new("cargo").args([
        "install",
        "--locked",
        krate,
        "--version",
        version,
    ]));
    if let Err(error) = locked {
        // The registry mirror can lack a dependency version that the crate's own lock file
        // names (seen with wasm-bindgen-cli 0.2.130 and webpki-roots 1.0.11). The crate's
        // semver ranges still hold, so resolve afresh rather than fail the setup.
        println!(
            "xtask: {error}\nxtask: retrying without --locked (newest compatible dependencies)"
        );
        run::status(Command::new("cargo").args(["install", krate, "--version", version]))?;
    }
    match has_version(&installed, version) {
        Some(line) => {
            println!("xtask: installed {line} in {}", run::elapsed(started));
            Ok(installed)
        }
        None => Err(format!(
            "installed {krate} {version}, but {} does not report that version",
            installed.display()
        )),
    }
}

fn wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|error| {
            format!("cannot run rustup ({error}); the wasm32 target is installed with rustup")
        })?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|line| line.trim() == WASM_TARGET) {
        println!("xtask: ok   rust target {WASM_TARGET}");
        return Ok(());
    }
    println!("xtask: installing the rust target {WASM_TARGET}");
    let started = Instant::now();
    run::status(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    println!("xtask: installed {WASM_TARGET} in {}", run::elapsed(started));
    Ok(())
}

/// A TOML file at the workspace root, parsed.
fn read_toml(name: &str) -> Result<toml::Table, String> {
    let path = project::root().join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    text.parse().map_err(|error| format!("cannot parse {name}: {error}"))
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must be exactly that version.
fn wasm_bindgen_version() -> Result<String, String> {
    let lock = read_toml("Cargo.lock")?;
    lock.get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .find(|package| package.get("name").and_then(toml::Value::as_str) == Some("wasm-bindgen"))
        .and_then(|package| package.get("version")?.as_str().map(str::to_owned))
        .ok_or_else(|| "Cargo.lock has no wasm-bindgen package".to_owned())
}

/// The binaryen release Trunk wants, from `[tools] wasm_opt = "version_N"` in Trunk.toml.
fn wasm_opt_version() -> Result<String, String> {
    read_toml("Trunk.toml")?
        .get("tools")
        .and_then(|tools| tools.get("wasm_opt"))
        .and_then(toml::Value::as_str)
        .and_then(|version| version.strip_prefix("version_"))
        .map(str::to_owned)
        .ok_or_else(|| "Trunk.toml has no `[tools] wasm_opt = \"version_N\"`".to_owned())
}

/// wasm-opt from the npm package binaryen, in the project's `.tools` folder.
fn wasm_opt(npm_bin: &Path) -> Result<(), String> {
    let version = wasm_opt_version()?;
    let binary = npm_bin.join("wasm-opt");
    if let Some(line) = run::first_line(&binary, &["--version"])
        .filter(|line| line.contains(&format!("version_{version}")))
    {
        println!("xtask: ok   {line}");
        return Ok(());
    }
    println!("xtask: installing wasm-opt (npm binaryen@{version}.0.0) into .tools/");
    let started = Instant::now();
    let folder = project::local_tools_dir();
    std::fs::create_dir_all(&folder)
        .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let package = format!("binaryen@{version}.0.0");
    run::status(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&folder)
            .arg(&package),
    )
    .map_err(|error| {
        format!("{error}\nnpm comes with Node.js (Debian: apt-get install -y nodejs npm)")
    })?;
    let line = run::first_line(&binary, &["--version"])
        .filter(|line| line.contains(&format!("version_{version}")))
        .ok_or_else(|| {
            format!(
                "installed {package}, but {} does not report version_{version}",
                binary.display()
            )
        })?;
    println!("xtask: installed {line} in {}", run::elapsed(started));
    Ok(())
}

/// Chromium, chromedriver, Firefox, Redis, nginx and openssl from Debian's packages.
fn apt_packages() -> Result<(), String> {
    let have_firefox = find_in_path("firefox-esr").is_some() || find_in_path("firefox").is_some();
    if Path::new(CHROMIUM).is_file()
        && Path::new(CHROMEDRIVER).is_file()
        && have_firefox
        && Path::new(REDIS_SERVER).is_file()
        && Path::new(NGINX).is_file()
        && find_in_path("openssl").is_some()
    {
        let chromium =
            run::first_line(CHROMIUM, &["--version"]).unwrap_or_else(|| "chromium".into());
        println!("xtask: ok   {chromium}, chromedriver, firefox, redis-server, nginx, openssl");
        return Ok(());
    }
    apt_install(APT_PACKAGES, "the tests")
}

/// Redis and nginx from Debian's packages, for `cargo xtask demo --nodes N`.
pub(crate) fn cluster_packages() -> Result<(), String> {
    if Path::new(REDIS_SERVER).is_file() && Path::new(NGINX).is_file() {
        println!("xtask: ok   redis-server, nginx");
        return Ok(());
    }
    apt_install(&["redis-server", "nginx"], "a demo of several nodes")
}

/// openssl from Debian's package, for `cargo xtask demo --tls` (it makes the certificate).
pub(crate) fn tls_packages() -> Result<(), String> {
    if find_in_path("openssl").is_some() {
        println!("xtask: ok   openssl");
        return Ok(());
    }
    apt_install(&["openssl"], "a demo over HTTPS")
}

/// The nchan module of nginx.
const NCHAN_MODULE: &str = "/usr/lib/nginx/modules/ngx_nchan_module.so";

/// The peers of `cargo xtask bench --part peers`: nginx with nchan (Debian's packages),
/// better-sse (npm, the versions of `bench/peers/better-sse/package-lock.json`) and
/// sse-starlette with uvicorn (PyPI, `bench/peers/sse-starlette/requirements.txt`, into
/// `.tools/peers/python`).
pub(crate) fn peer_servers() -> Result<(), String> {
    if Path::new(NGINX).is_file() && Path::new(NCHAN_MODULE).is_file() {
        println!("xtask: ok   nginx with nchan");
    } else {
        apt_install(&["nginx", "libnginx-mod-nchan"], "the peers benchmark")?;
    }
    let peers = project::root().join("bench").join("peers");
    if !peers.join("better-sse").join("node_modules").join("better-sse").is_dir() {
        run::status(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(peers.join("better-sse")),
        )
        .map_err(|error| {
            format!("{error}\nnpm comes with Node.js (Debian: apt-get install -y nodejs npm)")
        })?;
    }
    println!("xtask: ok   better-sse (npm)");
    let python = project::local_tools_dir().join("peers").join("python");
    if !python.join("sse_starlette").is_dir() {
        run::status(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    // A folder of the project's, not the system's: pip's warning about root
                    // does not apply.
                    "--root-user-action=ignore",
                    "--target",
                ])
                .arg(&python)
                .arg("-r")
                .arg(peers.join("sse-starlette").join("requirements.txt")),
        )?;
    }
    println!("xtask: ok   sse-starlette, uvicorn (PyPI, in .tools/peers/python)");
    Ok(())
}

/// `apt-get install` of `packages` (as root), without letting them start services: the xtask
/// and the tests start their own servers (Redis's service would take port 6379, nginx's port 80).
fn apt_install(packages: &[&str], needed_by: &str) -> Result<(), String> {
    let install = format!(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {}",
        packages.join(" ")
    );
    let is_root = run::first_line("id", &["-u"]).is_some_and(|uid| uid.trim() == "0");
    if !is_root {
        return Err(format!(
            "{needed_by} need {}; as root, run:\n    {install}",
            packages.join(", ")
        ));
    }
    println!("xtask: installing {} with apt-get (about a minute)", packages.join(", "));
    let started = Instant::now();
    run::status(Command::new("apt-get").args(["update", "-q"]))?;
    // `policy-rc.d` answering 101 is Debian's way to say "do not start services".
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let placed = !policy.exists()
        && std::fs::write(
            policy,
            "#!/bin/sh\n# written by cargo xtask during apt-get install\nexit 101\n",
        )
        .is_ok()
        && run::status(Command::new("chmod").args(["+x", "/usr/sbin/policy-rc.d"])).is_ok();
    let installed = run::status(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q"])
            .args(packages),
    );
    if placed {
        let _ = std::fs::remove_file(policy);
    }
    installed?;
    println!("xtask: installed {} in {}", packages.join(", "), run::elapsed(started));
    Ok(())
}

/// The npm packages of `tests/npm` (exact versions from its lock file), for the cross-ecosystem
/// checks of the server's streams.
fn npm_peers() -> Result<(), String> {
    let folder = project::root().join("tests").join("npm");
    let started = Instant::now();
    run::status(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&folder),
    )
    .map_err(|error| {
        format!("{error}\nnpm comes with Node.js (Debian: apt-get install -y nodejs npm)")
    })?;
    println!("xtask: ok   npm packages of tests/npm ({})", run::elapsed(started));
    Ok(())
}
