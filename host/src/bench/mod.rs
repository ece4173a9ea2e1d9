//! Benchmarks shipped with plexmatch (`plexmatch bench`): each starts the emulator with a
//! generated library itself and measures the real parts, so that figures can be
//! reproduced on any machine and compared between versions.

pub mod batch;
pub mod cache;
pub mod cold;
pub mod plugins;
pub mod refresh;

use std::time::Duration;

use serde::Serialize;

use crate::plex::PlexConfig;
use plexmatch_emulator::Emulator;

/// Latency percentiles of a set of samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub count: usize,
    #[serde(serialize_with = "micros")]
    pub p50: Duration,
    #[serde(serialize_with = "micros")]
    pub p99: Duration,
    #[serde(serialize_with = "micros")]
    pub max: Duration,
}

impl Latency {
    /// Percentiles of `samples` (sorted in place).
    pub fn of(samples: &mut [Duration]) -> Latency {
        samples.sort_unstable();
        let at = |q: f64| {
            samples
                .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
                .copied()
        };
        Latency {
            count: samples.len(),
            p50: at(0.50).unwrap_or_default(),
            p99: at(0.99).unwrap_or_default(),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// Latencies counted in 1 µs buckets up to 100 ms (and one bucket beyond), so that a
/// benchmark's memory does not grow with the number of samples.
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: Duration,
}

const HISTOGRAM_MICROS: usize = 100_000;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; HISTOGRAM_MICROS + 1],
            count: 0,
            max: Duration::ZERO,
        }
    }
}

impl Histogram {
    /// Counts one sample.
    pub fn add(&mut self, d: Duration) {
        self.buckets[(d.as_micros() as usize).min(HISTOGRAM_MICROS)] += 1;
        self.count += 1;
        self.max = self.max.max(d);
    }

    /// Percentiles (to the microsecond).
    pub fn latency(&self) -> Latency {
        let at = |q: f64| {
            let rank = ((self.count as f64 * q) as u64).min(self.count.saturating_sub(1));
            let mut seen = 0;
            for (us, n) in self.buckets.iter().enumerate() {
                seen += n;
                if seen > rank {
                    return Duration::from_micros(us as u64).min(self.max);
                }
            }
            self.max
        };
        Latency {
            count: self.count as usize,
            p50: at(0.5),
            p99: at(0.99),
            max: self.max,
        }
    }
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e6)
}

/// Connection settings for a benchmark's emulator.
fn plex_config(emulator: &Emulator, page_size: usize) -> PlexConfig {
    config_for(emulator.url(), emulator.token(), page_size)
}

/// Connection settings for an emulator at `url` (in this process or a child).
fn config_for(url: &str, token: &str, page_size: usize) -> PlexConfig {
    PlexConfig {
        url: url.to_owned(),
        token: token.to_owned(),
        client_id: "plexmatch-bench".into(),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(60),
        page_size,
        pages_in_flight: crate::plex::DEFAULT_PAGES_IN_FLIGHT,
        retry: crate::plex::RetryPolicy::default(),
        tls: crate::plex::TlsOptions::default(),
        offline: false,
    }
}
