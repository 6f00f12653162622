//! A `redis-server` of a test's own, on a unix socket in a temporary folder (Debian's package,
//! which `cargo xtask test` installs; `REDIS_SERVER` names another binary).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of this test's own, killed when dropped.
///
/// # Examples
///
/// ```no_run
/// let redis = tidings_testkit::RedisServer::start(false);
/// let url = redis.url(); // unix:///tmp/.../redis.sock
/// # drop((redis, url));
/// ```
#[derive(Debug)]
pub struct RedisServer {
    dir: tempfile::TempDir,
    persist: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Started, answering on its socket. `persist`: an append-only file synced at every write,
    /// so that a restart keeps everything.
    pub fn start(persist: bool) -> Self {
        let mut server =
            Self { dir: tempfile::tempdir().expect("a temporary folder"), persist, child: None };
        server.run();
        server
    }

    /// The unix socket it answers on.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// Its URL for the `redis` crate (`unix://…`).
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Starts it (again, after [`kill`](Self::kill)), and waits until it answers `PING`.
    pub fn run(&mut self) {
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let appendonly = if self.persist { "yes" } else { "no" };
        let child = Command::new(&program)
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", appendonly])
            .args(["--appendfsync", "always", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start {program}: {error} (`cargo xtask test` installs redis-server)")
            });
        self.child = Some(child);
        // Ready when it answers PING on its socket.
        let started = Instant::now();
        loop {
            if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(self.socket()) {
                use std::io::{Read, Write};
                let mut answer = [0_u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"+PONG\r\n"
                {
                    return;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, and waits for the process to end.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
