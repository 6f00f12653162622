//! What the load benchmarks share: a release build with the open-file limit raised, a
//! process's memory read from procfs, and the memory per idle stream through
//! `tidings-loadgen idle`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Lines, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// For a benchmark of many connections: the open-file limit raised, `packages` built in
/// release; the folder of their binaries.
pub(crate) fn release_for_load(
    tools: &crate::tools::Tools,
    packages: &[&str],
) -> Result<std::path::PathBuf, String> {
    rlimit::increase_nofile_limit(u64::MAX)
        .map_err(|error| format!("cannot raise the open-file limit: {error}"))?;
    let mut cargo = tools.cargo();
    cargo.args(["build", "--locked", "--release"]);
    for package in packages {
        cargo.args(["--package", package]);
    }
    crate::run::status(&mut cargo)?;
    Ok(crate::project::target_dir().join("release"))
}

/// The process's resident set size in KiB.
pub(crate) fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("cannot read the server's status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in the server's status".to_owned())
}

/// Bytes of the server `pid`'s memory per idle stream: `tidings-loadgen idle` opens 100 streams
/// to `address`, then `streams` more (with `how`: its transport and pattern flags); the
/// resident set before and after, divided by how many opened.
pub(crate) fn idle_bytes_per_stream(
    loadgen: &Path,
    address: &str,
    how: &[impl AsRef<OsStr>],
    streams: usize,
    pid: u32,
) -> Result<f64, String> {
    let mut client = IdleClient::start(loadgen, address, how, streams)?;
    let (per_stream, opened) = client.open(|| rss_kib(pid).unwrap_or(0))?;
    if opened < streams {
        return Err(format!("{opened} of {streams} idle streams opened"));
    }
    Ok(per_stream)
}

/// `tidings-loadgen idle` at work: started with 100 streams open, then the rest opened while
/// the server's memory is read; killed when dropped.
pub(crate) struct IdleClient {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    input: ChildStdin,
}

impl IdleClient {
    /// Starts it (`how`: its transport and pattern flags) and waits for its 100 streams.
    pub(crate) fn start(
        loadgen: &Path,
        address: &str,
        how: &[impl AsRef<OsStr>],
        streams: usize,
    ) -> Result<Self, String> {
        let mut child = Command::new(loadgen)
            .args(["idle", "--target", address, "--warm", "100"])
            .args(how)
            .args(["--streams", &streams.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start the load generator: {error}"))?;
        let lines = BufReader::new(child.stdout.take().ok_or("no output")?).lines();
        let input = child.stdin.take().ok_or("no input")?;
        let mut client = Self { child, lines, input };
        client.next_line("WARM")?;
        Ok(client)
    }

    /// Opens the rest: the server's resident set (`rss`, KiB) read before and after, once the
    /// streams have settled; bytes per stream, and how many opened.
    pub(crate) fn open(&mut self, rss: impl Fn() -> u64) -> Result<(f64, usize), String> {
        std::thread::sleep(Duration::from_millis(500));
        let before = rss();
        writeln!(self.input, "go").map_err(|error| error.to_string())?;
        let opened = self.next_line("OPEN")?;
        let opened: usize =
            opened.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        std::thread::sleep(Duration::from_millis(500));
        let after = rss();
        Ok((after.saturating_sub(before) as f64 * 1024.0 / opened.max(1) as f64, opened))
    }

    /// After the server stopped: its `RESULT` line (how many streams ended).
    pub(crate) fn count(mut self) -> Result<String, String> {
        writeln!(self.input, "count").map_err(|error| error.to_string())?;
        self.next_line("its result")
    }

    fn next_line(&mut self, what: &str) -> Result<String, String> {
        self.lines
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| format!("the load generator stopped before {what}"))
    }
}

impl Drop for IdleClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
