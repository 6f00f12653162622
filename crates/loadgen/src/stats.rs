//! Lags in a shared histogram (0.1 ms buckets up to 60 s), and CPU time read from `/proc`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (the servers' `at_ms` is on the same clock: loopback).
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}

const BUCKET_US: u64 = 100;
const BUCKETS: usize = 600_000;

/// Counts of lags by 0.1 ms, shared by every client (no list of samples: a run at a high rate
/// has hundreds of millions).
pub(crate) struct Histogram {
    buckets: Vec<AtomicU64>,
    max_us: AtomicU64,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, micros: u64) {
        let index = usize::try_from(micros / BUCKET_US).unwrap_or(usize::MAX).min(BUCKETS - 1);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(micros, Ordering::Relaxed);
    }

    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().map(|bucket| bucket.load(Ordering::Relaxed)).sum()
    }

    /// The lag at `fraction` (0.5, 0.99), in milliseconds (the bucket's upper edge).
    pub(crate) fn percentile_ms(&self, fraction: f64) -> f64 {
        let count = self.count();
        if count == 0 {
            return f64::NAN;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((count as f64 * fraction).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= rank {
                return ((index as u64 + 1) * BUCKET_US) as f64 / 1e3;
            }
        }
        f64::NAN
    }

    pub(crate) fn max_ms(&self) -> f64 {
        let max = self.max_us.load(Ordering::Relaxed) as f64;
        max / 1e3
    }
}

/// User plus system CPU seconds of `pids` so far (a process gone counts 0).
pub(crate) fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter().map(|pid| cpu_of(&format!("/proc/{pid}/stat"))).sum()
}

/// This process's CPU seconds.
pub(crate) fn own_cpu_seconds() -> f64 {
    cpu_of("/proc/self/stat")
}

fn cpu_of(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else { return 0.0 };
    // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |pair| pair.iter().filter_map(|f| f.parse::<u64>().ok()).sum());
    // USER_HZ is 100 on Linux.
    ticks as f64 / 100.0
}
