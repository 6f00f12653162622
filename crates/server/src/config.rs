use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The server's settings, from its command line.
///
/// # Examples
///
/// ```
/// use clap::Parser;
/// use tidings_server::Config;
///
/// let config = Config::parse_from(["tidings-server", "--addr", "127.0.0.1:4000", "--retry-ms", "500"]);
/// assert_eq!(config.addr.port(), 4000);
/// assert_eq!(config.retry(), std::time::Duration::from_millis(500));
/// assert!(Config::try_parse_from(["tidings-server", "--tick-interval-ms", "0"]).is_err());
/// ```
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tidings-server",
    version,
    about = "Serves the Tidings demo: its event streams, its REST routes and the built app.",
    long_about = "Serves the Tidings demo: its event streams (resumable, with heartbeats), its REST \
        routes (comments, typing, a task board, long jobs) and the app Trunk built. Prints the \
        address it listens on, and the admin token for POST /api/admin/drop.",
    args_override_self = true
)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Folder with the built demo app (Trunk's output); `index.html` is served for unknown paths.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,

    /// Reconnection delay suggested to browsers with the SSE `retry:` field, in milliseconds.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub retry_ms: u64,

    /// Interval between two ticker events, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub tick_interval_ms: u64,

    /// Ticks per second, for rates past what `--tick-interval-ms` can say (benchmarks): the
    /// ticker publishes every tick due at each wake-up (at most one a millisecond). Overrides
    /// `--tick-interval-ms`.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub ticks_per_second: Option<f64>,

    /// How many of the newest events the in-memory log keeps for resuming clients.
    #[arg(long, default_value_t = 10_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub log_capacity: usize,

    /// Interval between two `heartbeat` events on every stream, in milliseconds (default 15 s).
    #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub heartbeat_ms: u64,

    /// How long a connection's writes may stay blocked (the client stopped reading) before the
    /// connection is closed, in milliseconds. The client then resumes by id.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub write_deadline_ms: u64,

    /// Requests that change things (POST, PATCH, DELETE) one client may make at once.
    #[arg(long, default_value_t = 20, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=100_000))]
    pub rate_burst: u32,

    /// After the burst, how many such requests per second one client may make.
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..=1_000_000))]
    pub rate_per_second: u32,

    /// How many event streams one client may have open at once (a client is an IPv4 address or
    /// an IPv6 /64; see `--trusted-proxy`). Past it a stream is answered with a `retry:` of
    /// 10 s and closed, so a browser tries again later rather than giving up.
    #[arg(long, default_value_t = 32, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub streams_per_client: usize,

    /// How many boards one client may have created that still have tasks (a board whose last
    /// task is deleted is gone).
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100))]
    pub boards_per_client: usize,

    /// A proxy whose `X-Forwarded-For` names the client (an address, or a network such as
    /// `10.0.0.0/8`; repeat the flag for several). Requests from it count against the address it
    /// forwarded; the header is ignored from every other peer.
    #[arg(long = "trusted-proxy", value_name = "ADDRESS", value_parser = crate::client::parse_trusted)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Time between two steps of a demo job, in milliseconds (a job has 10 steps).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub job_step_ms: u64,

    /// Answer event streams on the engine's lean HTTP/1.1 path (an idle stream costs about a
    /// quarter of hyper's memory); `false` leaves every request to hyper.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lean_streams: bool,

    /// Keep the event log in Redis Streams, shared by every server started with the same URL
    /// (and prefix), so that any of them can serve any client: `redis://host:port/db` or
    /// `unix:///path/to/redis.sock`. Without it, the log is in this process's memory.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// The prefix of the Redis keys (`{prefix}:events`, `{prefix}:seq`, `{prefix}:epoch`).
    #[arg(long, default_value = "tidings", value_name = "PREFIX")]
    pub redis_prefix: String,

    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate chain: a PEM file, the leaf
    /// first. Needs `--tls-key`.
    #[arg(long, value_name = "PEM", requires = "tls_key", conflicts_with = "tls_self_signed")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (a PEM file).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate made at start for localhost, 127.0.0.1 and ::1, for
    /// development (browsers warn about it); its SHA-256 fingerprint is printed.
    #[arg(long)]
    pub tls_self_signed: bool,

    /// An origin allowed to read the API from another site, e.g. `https://app.example.com`
    /// (repeat the flag for several). By default none: the app is served from the same origin.
    #[arg(long = "cors-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
}

impl Config {
    /// The `retry` hint as a duration.
    ///
    /// ```
    /// use clap::Parser;
    /// let config = tidings_server::Config::parse_from(["tidings-server"]);
    /// assert_eq!(config.retry().as_millis(), 3000);
    /// ```
    pub fn retry(&self) -> Duration {
        Duration::from_millis(self.retry_ms)
    }

    /// The heartbeat interval as a duration.
    ///
    /// ```
    /// use clap::Parser;
    /// let config = tidings_server::Config::parse_from(["tidings-server"]);
    /// assert_eq!(config.heartbeat().as_secs(), 15);
    /// ```
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    /// The write deadline as a duration.
    ///
    /// ```
    /// use clap::Parser;
    /// let config = tidings_server::Config::parse_from(["tidings-server"]);
    /// assert_eq!(config.write_deadline().as_secs(), 10);
    /// ```
    pub fn write_deadline(&self) -> Duration {
        Duration::from_millis(self.write_deadline_ms)
    }

    /// The time between two steps of a job.
    ///
    /// ```
    /// use clap::Parser;
    /// let config = tidings_server::Config::parse_from(["tidings-server", "--job-step-ms", "5"]);
    /// assert_eq!(config.job_step().as_millis(), 5);
    /// ```
    pub fn job_step(&self) -> Duration {
        Duration::from_millis(self.job_step_ms)
    }

    /// The ticker's interval as a duration.
    ///
    /// ```
    /// use clap::Parser;
    /// let config = tidings_server::Config::parse_from(["tidings-server", "--tick-interval-ms", "50"]);
    /// assert_eq!(config.tick_interval().as_millis(), 50);
    /// let fast = tidings_server::Config::parse_from(["tidings-server", "--ticks-per-second", "4000"]);
    /// assert_eq!(fast.tick_interval().as_micros(), 250);
    /// assert!(tidings_server::Config::try_parse_from(["tidings-server", "--ticks-per-second", "0"]).is_err());
    /// ```
    pub fn tick_interval(&self) -> Duration {
        match self.ticks_per_second {
            Some(rate) => Duration::from_secs_f64(1.0 / rate),
            None => Duration::from_millis(self.tick_interval_ms),
        }
    }
}

/// A rate of ticks: a number from 0.001 to 100,000 per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.001..=100_000.0).contains(&rate) => Ok(rate),
        _ => Err(format!("{text:?} is not a rate from 0.001 to 100000 ticks per second")),
    }
}

/// `scheme://host[:port]` with scheme http or https, nothing after: what browsers send in
/// `Origin`.
fn parse_origin(text: &str) -> Result<String, String> {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")).ok_or_else(
        || format!("{text:?} is not an origin: it must start with http:// or https://"),
    )?;
    let valid = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        && !rest.ends_with(':');
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not an origin: `scheme://host[:port]`, with no path or trailing slash"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_at_start() {
        let config = Config::try_parse_from([
            "tidings-server",
            "--cors-origin",
            "https://App.example.com",
            "--cors-origin",
            "http://localhost:8080",
        ])
        .unwrap();
        assert_eq!(config.cors_origins, ["https://app.example.com", "http://localhost:8080"]);
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://a.com/path",
            "ftp://a.com",
            "https://",
            "http://a.com:",
        ] {
            assert!(
                Config::try_parse_from(["tidings-server", "--cors-origin", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
