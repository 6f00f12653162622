//! nginx in front of tidings-server nodes: its configuration, shared by `cargo xtask demo
//! --nodes N` and the end-to-end tests of that setup, and a process of a test's own.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::certificate::Certificate;

/// nginx on `port` (loopback), round-robin over `nodes` (`host:port`), with its files in
/// `folder`: event streams pass through unbuffered and stay open; a node that is down is skipped;
/// each request carries the client's address in `X-Forwarded-For`. With `tls`, nginx speaks
/// HTTPS with that certificate, HTTP/2 or HTTP/1.1 as the browser asks (so a page's streams
/// share one connection), and the nodes behind it plain HTTP/1.1.
///
/// ```
/// use std::path::Path;
/// let nodes = ["127.0.0.1:1".to_owned()];
/// let config = tidings_testkit::nginx::config(Path::new("/tmp/x"), 8080, &nodes, None);
/// assert!(config.contains("proxy_buffering off;"));
/// let tls = tidings_testkit::certificate::Certificate {
///     cert: "/tmp/x/cert.pem".into(),
///     key: "/tmp/x/key.pem".into(),
/// };
/// let config = tidings_testkit::nginx::config(Path::new("/tmp/x"), 8443, &nodes, Some(&tls));
/// assert!(config.contains("listen 127.0.0.1:8443 ssl http2;"));
/// ```
pub fn config(folder: &Path, port: u16, nodes: &[String], tls: Option<&Certificate>) -> String {
    let listen = match tls {
        None => format!("listen 127.0.0.1:{port};"),
        Some(Certificate { cert, key }) => format!(
            "listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {};
        ssl_certificate_key {};
        # A page's event streams share one connection: room for more than it opens.
        http2_max_concurrent_streams 128;",
            cert.display(),
            key.display()
        ),
    };
    let folder = folder.display();
    let upstreams: String = nodes
        .iter()
        .map(|node| format!("        server {node} max_fails=1 fail_timeout=5s;\n"))
        .collect();
    format!(
        "worker_processes 1;
error_log {folder}/nginx-error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client-body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream tidings {{
{upstreams}        keepalive 16;
    }}
    server {{
        {listen}
        location / {{
            proxy_pass http://tidings;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            # The client's address, for the nodes' per-client limits (started with
            # `--trusted-proxy 127.0.0.1`).
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # Event streams pass through as they are written, and stay open.
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            # A node that is down: the request goes to the next (a POST only when it was not sent).
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"
    )
}

/// nginx of a test's own, in front of some nodes on a free port, stopped with SIGTERM when
/// dropped (its master then stops its workers; SIGKILL would leave them listening).
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    url: String,
    /// Its configuration, certificate and logs, removed when dropped.
    folder: tempfile::TempDir,
}

impl Nginx {
    /// Starts `program` (`/usr/sbin/nginx`) with [`config`] in front of `nodes`, over TLS with a
    /// certificate made for it when `tls`, and waits until it listens.
    ///
    /// # Errors
    ///
    /// No folder or port, no certificate, nginx not starting or not listening within 10 s
    /// (with its error log).
    pub fn start(program: &Path, nodes: &[String], tls: bool) -> Result<Self, String> {
        let folder = tempfile::tempdir().map_err(|error| format!("no folder: {error}"))?;
        // nginx's workers (user nobody) read their temporary folders under it.
        Command::new("chmod").arg("755").arg(folder.path()).status().ok();
        let certificate =
            tls.then(|| crate::certificate::self_signed(folder.path())).transpose()?;
        let port = crate::free_port()?;
        let path = folder.path().join("nginx.conf");
        std::fs::write(&path, config(folder.path(), port, nodes, certificate.as_ref()))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        let child = Command::new(program)
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(folder.path())
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        let scheme = if tls { "https" } else { "http" };
        let nginx = Self { child, url: format!("{scheme}://127.0.0.1:{port}/"), folder };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        crate::wait_for_port(address, Duration::from_secs(10)).map_err(|error| {
            let log = nginx.folder.path().join("nginx-error.log");
            format!("nginx: {error}: {}", std::fs::read_to_string(log).unwrap_or_default())
        })?;
        Ok(nginx)
    }

    /// Its URL: `http://127.0.0.1:PORT/`, or `https://` over TLS.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}
