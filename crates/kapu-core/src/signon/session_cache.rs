//! Sessions as last read, so that an authenticated request needs no query. An entry counts
//! while the generation it was read under is current (see [`crate::platform::changes`]):
//! a logout, lock, password change, revoked role, group or substitution change made on any
//! node makes it stale for the next request. What time alone changes is checked on every
//! use: the session's timeouts, and the moment a substitution starts or ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::actor::Actor;
use crate::platform::changes::{Changes, StampedMap};

/// Entries kept at most; past it the cache starts afresh (it refills from the database).
const ENTRIES_MAX: usize = 100_000;

pub(crate) struct CachedSession {
    /// The actor as read, with an empty request context.
    pub actor: Actor,
    pub created_at: i64,
    pub last_seen_at: AtomicI64,
    /// Until when the roles cannot change by time alone (a substitution's start or end).
    pub until: i64,
}

/// By token digest.
pub(crate) struct SessionCache(StampedMap<Arc<CachedSession>>);

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache(StampedMap::new(ENTRIES_MAX))
    }
}

impl SessionCache {
    /// The entry for a token digest, when it is still current at `now`.
    pub(crate) fn get(
        &self,
        digest: &str,
        changes: &Changes,
        now: i64,
    ) -> Option<Arc<CachedSession>> {
        self.0.get(digest, changes).filter(|e| now < e.until)
    }

    /// Keeps what was read under `stamp` (the generation current before reading it).
    pub(crate) fn put(
        &self,
        digest: &str,
        stamp: Option<u64>,
        actor: &Actor,
        created_at: i64,
        last_seen_at: i64,
        until: i64,
    ) {
        let mut actor = actor.clone();
        actor.ctx = Default::default();
        let entry = Arc::new(CachedSession {
            actor,
            created_at,
            last_seen_at: AtomicI64::new(last_seen_at),
            until,
        });
        self.0.put(digest, stamp, entry);
    }

    pub(crate) fn forget(&self, digest: &str) {
        self.0.forget(digest);
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
