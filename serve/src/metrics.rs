//! What `GET /metrics` reports, in Prometheus' text format: answers by outcome and plugin,
//! Plex requests, requests in flight, HTTP requests by route and status, snapshot ages.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use plexmatch_engine::{Engine, PathMatch};

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    /// Answers by (outcome, plugin).
    answers: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// HTTP requests by (route, status).
    http: Mutex<BTreeMap<(String, u16), u64>>,
    /// Requests being handled now.
    pub in_flight: AtomicU64,
    /// Requests refused because too many were in flight.
    pub refused_busy: AtomicU64,
}

impl Metrics {
    /// Counts one answer.
    pub fn answer(&self, m: &PathMatch) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        *answers
            .entry((m.outcome.word(), m.plugin.clone()))
            .or_default() += 1;
    }

    /// Counts one HTTP request answered with `status`.
    pub fn http(&self, route: &str, status: u16) {
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        *http.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// Everything, in Prometheus' text format.
    pub fn render(&self, engine: &Engine) -> String {
        let mut out = String::new();
        out.push_str("# HELP plexmatch_answers_total Answers given, by outcome and plugin.\n");
        out.push_str("# TYPE plexmatch_answers_total counter\n");
        for ((outcome, plugin), n) in self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "plexmatch_answers_total{{outcome=\"{outcome}\",plugin=\"{}\"}} {n}",
                label(plugin)
            );
        }
        out.push_str("# HELP plexmatch_http_requests_total HTTP requests, by route and status.\n");
        out.push_str("# TYPE plexmatch_http_requests_total counter\n");
        for ((route, status), n) in self.http.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "plexmatch_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        out.push_str("# HELP plexmatch_plex_requests_total Requests sent to the Plex server.\n");
        out.push_str("# TYPE plexmatch_plex_requests_total counter\n");
        let _ = writeln!(out, "plexmatch_plex_requests_total {}", engine.requests());
        out.push_str("# HELP plexmatch_in_flight Requests being handled.\n");
        out.push_str("# TYPE plexmatch_in_flight gauge\n");
        let _ = writeln!(
            out,
            "plexmatch_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str("# HELP plexmatch_refused_busy_total Requests answered 503 because too many were in flight.\n");
        out.push_str("# TYPE plexmatch_refused_busy_total counter\n");
        let _ = writeln!(
            out,
            "plexmatch_refused_busy_total {}",
            self.refused_busy.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP plexmatch_snapshot_age_seconds Age of each chosen section's snapshot.\n",
        );
        out.push_str("# TYPE plexmatch_snapshot_age_seconds gauge\n");
        for s in engine.sections() {
            if let Some(state) = engine.server().snapshot(s.id) {
                let _ = writeln!(
                    out,
                    "plexmatch_snapshot_age_seconds{{section=\"{}\",title=\"{}\"}} {}",
                    s.id,
                    label(&s.title),
                    state.age_seconds
                );
            }
        }
        out
    }
}

/// A label value as Prometheus' text format escapes it.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
