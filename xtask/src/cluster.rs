//! `cargo xtask demo --nodes N`: Redis on a unix socket in a temporary folder, N tidings-server
//! nodes sharing their event log through it (`--redis`), and nginx in front of them
//! (round-robin, no buffering, so event streams pass at once; `--tls`: HTTPS and HTTP/2 on
//! nginx). Everything it starts stops with
//! it: Ctrl-C reaches every process of the terminal's process group.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::project;

use tidings_testkit::certificate::Certificate;
use tidings_testkit::nginx;

use crate::run::Background;
use crate::server::{self, Program};
use crate::tools::{self, Needs};

/// The folder of Redis's socket and nginx's files: `name` in the system's temporary folder
/// (which nginx's workers can reach, unlike a home folder), emptied when it starts (a run stopped
/// by Ctrl-C ends before it can clean up) and removed when dropped.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Result<Self, String> {
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        // nginx's workers (user nobody) read their temporary folders under it.
        std::process::Command::new("chmod").arg("755").arg(&path).status().ok();
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn run(port: u16, nodes: u16, tls: bool) -> Result<(), String> {
    let tools = tools::setup(Needs::Demo)?;
    tools::cluster_packages()?;
    let certificate = tls.then(crate::demo::certificate).transpose()?;
    crate::demo::build_app(&tools)?;
    let scratch = Scratch::new("tidings-cluster")?;
    let redis = start_redis(&scratch.0)?;
    let redis_url = format!("unix://{}", scratch.0.join("redis.sock").display());
    let dist = project::dist_dir();
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for _ in 0..nodes {
        let args: [OsString; 8] = [
            "--addr".into(),
            "127.0.0.1:0".into(),
            "--dist".into(),
            dist.clone().into(),
            "--redis".into(),
            redis_url.clone().into(),
            // nginx forwards each client's address: limits count clients, not the proxy.
            "--trusted-proxy".into(),
            "127.0.0.1".into(),
        ];
        let (server, url) = server::start(&tools, Program::Demo, args, None)?;
        addresses.push(url.trim_start_matches("http://").to_owned());
        servers.push(server);
    }
    let nginx = start_nginx(&scratch.0, port, &addresses, certificate.as_ref())?;
    let scheme = if tls { "https" } else { "http" };
    println!(
        "\n    Tidings demo, {nodes} nodes on Redis behind nginx: open {scheme}://127.0.0.1:{port}\n    \
         (nodes: {}; Redis: {redis_url})\n    Ctrl-C stops everything.\n",
        addresses.join(", ")
    );
    if let Some(certificate) = &certificate {
        crate::demo::print_certificate(certificate);
    }
    let ended = nginx.wait();
    drop((servers, redis, scratch));
    ended
}

/// `redis-server` on a unix socket in `folder`, no disk.
pub(crate) fn start_redis(folder: &Path) -> Result<Background, String> {
    let mut command = Command::new(tools::REDIS_SERVER);
    command
        .args(["--port", "0", "--unixsocket"])
        .arg(folder.join("redis.sock"))
        .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir"])
        .arg(folder);
    let (redis, _) =
        Background::start(&mut command, "ready to accept connections", Duration::from_secs(10))?;
    Ok(redis)
}

/// nginx in the foreground with [`nginx::config`], once its port accepts connections.
fn start_nginx(
    folder: &Path,
    port: u16,
    nodes: &[String],
    tls: Option<&Certificate>,
) -> Result<Background, String> {
    let config = folder.join("nginx.conf");
    std::fs::write(&config, nginx::config(folder, port, nodes, tls))
        .map_err(|error| format!("cannot write {}: {error}", config.display()))?;
    let mut command = Command::new(tools::NGINX);
    command.arg("-c").arg(&config).arg("-p").arg(folder).args(["-g", "daemon off;"]);
    let nginx = Background::spawn(&mut command)?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    tidings_testkit::wait_for_port(address, Duration::from_secs(10)).map_err(|error| {
        let log = std::fs::read_to_string(folder.join("nginx-error.log")).unwrap_or_default();
        format!("nginx: {error}:\n{log}")
    })?;
    Ok(nginx)
}
