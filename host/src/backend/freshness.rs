//! How long a run trusts a section's snapshot, however long the run lives.
//!
//! A snapshot is fresh for the library TTL after it was taken, in a run of a second as in
//! a co-process kept open for a day. Three things keep a stale one in use for a while:
//!
//! - **This run just took it.** A snapshot this process stored is kept for at least
//!   [`MIN_HOLD`], so that `--library-ttl 0` costs one refresh per section per second,
//!   not one per path.
//! - **Another thread is bringing it up to date.** The other workers keep answering from
//!   the previous snapshot until the new one is in, rather than queueing behind the
//!   refresh.
//! - **Plex could not be asked (stale-while-error).** When the refresh of a snapshot that
//!   was fresh during this run fails, the run keeps answering from it, says so once, and
//!   tries again after the failure back-off; never past the stale limit, after which the
//!   paths that need the section get the Plex error. A snapshot already stale when the run
//!   began is not served this way: a new run with Plex down says so (and `--offline`
//!   answers from the caches on purpose).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::CachePolicy;
use crate::cache::SnapshotInfo;

/// The least time a snapshot this process stored stays in use, whatever the TTL.
pub const MIN_HOLD: Duration = Duration::from_secs(1);

/// Default [`super::CachePolicy::stale_limit`]: a day.
pub const DEFAULT_STALE_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// What this process knows of one section's snapshot beyond what the cache file says.
#[derive(Default)]
struct SectionRun {
    /// The snapshot version this process last stored, and when.
    stored: Option<(i64, Instant)>,
    /// Refreshes of this section under way in this process.
    refreshing: u32,
    /// Since when a failed refresh has left the previous snapshot in use (stale-while-error).
    serving_stale: Option<Instant>,
    /// Whether that has been said since the last successful refresh.
    warned: bool,
}

/// The run's view of every section's snapshot (see the module's doc).
pub struct RunFreshness {
    /// When the run began (Unix seconds): a snapshot fresh at any moment since may be
    /// served stale while Plex fails.
    started: i64,
    sections: Mutex<HashMap<u32, SectionRun>>,
}

/// Why a stale snapshot is still used, for the caller's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Stored by this process less than [`MIN_HOLD`] ago.
    JustStored,
    /// Another thread of this process is bringing it up to date.
    Refreshing,
    /// Its refresh failed; it is served until the back-off passes.
    PlexFailing,
}

impl RunFreshness {
    /// A run starting now.
    pub fn new() -> RunFreshness {
        RunFreshness {
            started: crate::cache::now(),
            sections: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, SectionRun>> {
        self.sections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the stale snapshot `info` of `section` is still used now, and why, under
    /// `policy` (its TTLs, failure back-off and stale limit); `refused`: Plex refused the
    /// token this run.
    pub fn keeps(
        &self,
        section: u32,
        info: &SnapshotInfo,
        policy: &CachePolicy,
        refused: bool,
    ) -> Option<Kept> {
        let map = self.lock();
        let run = map.get(&section)?;
        let empty = info.item_count == 0;
        if !empty
            && run.stored.is_some_and(|(v, at)| {
                v == info.version && at.elapsed() < policy.library_ttl.max(MIN_HOLD)
            })
        {
            return Some(Kept::JustStored);
        }
        if !self.may_serve_stale(info, policy) {
            return None;
        }
        if run.refreshing > 0 {
            return Some(Kept::Refreshing);
        }
        run.serving_stale
            .filter(|since| refused || since.elapsed() < policy.failure_backoff)
            .map(|_| Kept::PlexFailing)
    }

    /// Whether the snapshot `info` was fresh at some moment of this run (by `policy`'s TTL
    /// for it) and is younger than its stale limit.
    pub fn may_serve_stale(&self, info: &SnapshotInfo, policy: &CachePolicy) -> bool {
        let ttl = policy.ttl_for(info.item_count == 0);
        let age = crate::cache::now().saturating_sub(info.refreshed_at);
        info.refreshed_at.saturating_add(ttl.as_secs() as i64) > self.started
            && age < policy.stale_limit.as_secs() as i64
    }

    /// Marks a refresh of `section` as under way until the guard is dropped.
    pub fn refreshing(&self, section: u32) -> RefreshGuard<'_> {
        self.lock().entry(section).or_default().refreshing += 1;
        RefreshGuard { run: self, section }
    }

    /// Records that this process stored `version` of the section's snapshot now: Plex
    /// answered, so the stale-while-error episode (if any) is over.
    pub fn stored(&self, section: u32, version: i64) {
        let mut map = self.lock();
        let run = map.entry(section).or_default();
        run.stored = Some((version, Instant::now()));
        if run.serving_stale.take().is_some() {
            tracing::warn!("section {section}: Plex answered again; its snapshot is up to date");
        }
        run.warned = false;
    }

    /// Records that a refresh failed and the previous snapshot stays in use until the
    /// back-off passes; `true` the first time since the last success (say it then).
    pub fn failed(&self, section: u32) -> bool {
        let mut map = self.lock();
        let run = map.entry(section).or_default();
        run.serving_stale = Some(Instant::now());
        !std::mem::replace(&mut run.warned, true)
    }
}

impl Default for RunFreshness {
    fn default() -> Self {
        RunFreshness::new()
    }
}

/// Marks a section's refresh as under way ([`RunFreshness::refreshing`]).
pub struct RefreshGuard<'a> {
    run: &'a RunFreshness,
    section: u32,
}

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        if let Some(run) = self.run.lock().get_mut(&self.section) {
            run.refreshing = run.refreshing.saturating_sub(1);
        }
    }
}

/// An age for people: `42s`, `7m12s`, `3h05m`, `2d04h`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(300);
    const LIMIT: Duration = DEFAULT_STALE_LIMIT;

    /// A snapshot at `version` taken at `refreshed_at`, empty or not.
    fn info(version: i64, refreshed_at: i64, empty: bool) -> SnapshotInfo {
        SnapshotInfo {
            item_count: if empty { 0 } else { 10 },
            refreshed_at,
            newest_update: None,
            listed_at: refreshed_at,
            incrementals: 0,
            version,
        }
    }

    /// The policy with this TTL (empty answers too) and stale limit.
    fn policy(ttl: Duration, stale_limit: Duration) -> CachePolicy {
        CachePolicy {
            library_ttl: ttl,
            negative_ttl: ttl,
            stale_limit,
            ..CachePolicy::default()
        }
    }

    #[test]
    fn a_snapshot_stale_before_the_run_began_is_never_served_stale() {
        let run = RunFreshness::new();
        let old = crate::cache::now() - 400;
        assert!(run.failed(1));
        assert_eq!(
            run.keeps(1, &info(7, old, false), &policy(TTL, LIMIT), false),
            None
        );
        let recent = crate::cache::now() - 290;
        assert_eq!(
            run.keeps(1, &info(7, recent, false), &policy(TTL, LIMIT), false),
            Some(Kept::PlexFailing)
        );
    }

    #[test]
    fn the_stale_limit_ends_stale_while_error() {
        let run = RunFreshness::new();
        let taken = crate::cache::now() - 100;
        run.failed(1);
        let limit = Duration::from_secs(50);
        assert_eq!(
            run.keeps(1, &info(7, taken, false), &policy(TTL, limit), true),
            None
        );
    }

    #[test]
    fn a_failure_is_said_once_until_plex_answers_again() {
        let run = RunFreshness::new();
        assert!(run.failed(3));
        assert!(!run.failed(3));
        run.stored(3, 9);
        assert!(run.failed(3));
    }

    #[test]
    fn a_just_stored_empty_snapshot_follows_the_negative_ttl() {
        let run = RunFreshness::new();
        run.stored(2, 5);
        let now = crate::cache::now();
        let zero = policy(Duration::ZERO, LIMIT);
        assert_eq!(
            run.keeps(2, &info(5, now, false), &zero, false),
            Some(Kept::JustStored)
        );
        assert_eq!(run.keeps(2, &info(5, now, true), &zero, false), None);
        assert_eq!(
            run.keeps(2, &info(6, now, false), &zero, false),
            None,
            "another version (stored by another process) is not this run's"
        );
    }

    #[test]
    fn ages_read_as_people_write_them() {
        assert_eq!(age(42), "42s");
        assert_eq!(age(432), "7m12s");
        assert_eq!(age(3 * 3600 + 300), "3h05m");
        assert_eq!(age(2 * 86400 + 4 * 3600), "2d04h");
    }
}
