//! Sessions as last read, so that an authenticated request needs no query. An entry counts
//! while the generation it was read under is current (see [`crate::platform::changes`]):
//! a logout, lock, password change, revoked role, group or substitution change made on any
//! node makes it stale for the next request. What time alone changes is checked on every
//! use: the session's timeouts, and the moment a substitution starts or ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::actor::Actor;
use crate::platform::changes::Changes;

/// Entries kept at most; past it the cache starts afresh (it refills from the database).
const ENTRIES_MAX: usize = 100_000;

pub(crate) struct CachedSession {
    /// The actor as read, with an empty request context.
    pub actor: Actor,
    pub created_at: i64,
    pub last_seen_at: AtomicI64,
    /// Until when the roles cannot change by time alone (a substitution's start or end).
    pub until: i64,
    stamp: u64,
}

#[derive(Default)]
pub(crate) struct SessionCache {
    entries: RwLock<HashMap<String, Arc<CachedSession>>>,
}

impl SessionCache {
    /// The entry for a token digest, when it is still current at `now`.
    pub(crate) fn get(
        &self,
        digest: &str,
        changes: &Changes,
        now: i64,
    ) -> Option<Arc<CachedSession>> {
        let entry = self.entries.read().ok()?.get(digest)?.clone();
        (changes.still(entry.stamp) && now < entry.until).then_some(entry)
    }

    /// Keeps what was read under `stamp` (the generation current before reading it).
    pub(crate) fn put(
        &self,
        digest: String,
        stamp: Option<u64>,
        actor: &Actor,
        created_at: i64,
        last_seen_at: i64,
        until: i64,
    ) {
        let Some(stamp) = stamp else { return };
        let mut actor = actor.clone();
        actor.ctx = Default::default();
        let entry = Arc::new(CachedSession {
            actor,
            created_at,
            last_seen_at: AtomicI64::new(last_seen_at),
            until,
            stamp,
        });
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= ENTRIES_MAX {
                entries.clear();
            }
            entries.insert(digest, entry);
        }
    }

    pub(crate) fn forget(&self, digest: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(digest);
        }
    }
}

impl CachedSession {
    pub(crate) fn last_seen(&self) -> i64 {
        self.last_seen_at.load(Ordering::Relaxed)
    }

    pub(crate) fn seen(&self, at: i64) {
        self.last_seen_at.fetch_max(at, Ordering::Relaxed);
    }
}
