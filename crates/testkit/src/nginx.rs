//! The nginx configuration in front of several tidings-server nodes: shared by `cargo xtask demo
//! --nodes N` and the end-to-end tests of that setup.

use std::path::Path;

/// nginx on `port` (loopback), round-robin over `nodes` (`host:port`), with its files in
/// `folder`: event streams pass through unbuffered and stay open; a node that is down is skipped;
/// each request carries the client's address in `X-Forwarded-For`.
///
/// ```
/// let config = tidings_testkit::nginx::config(std::path::Path::new("/tmp/x"), 8080, &["127.0.0.1:1".into()]);
/// assert!(config.contains("proxy_buffering off;"));
/// ```
pub fn config(folder: &Path, port: u16, nodes: &[String]) -> String {
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
        listen 127.0.0.1:{port};
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
