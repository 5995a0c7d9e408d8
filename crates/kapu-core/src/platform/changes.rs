//! When what a process holds in memory may be stale. The database keeps a change epoch that
//! triggers move forward on every change to sessions, users, roles, groups, substitutions,
//! contracts, system variables and OpenID Connect clients (migration 0009). A process turns
//! each move it learns of into a new *generation*; whatever it caches is stamped with the
//! generation it was read under and counts only while that is still the current one.
//!
//! A process learns of a move in three ways: its own write transactions read the epoch
//! just before they commit (so its own changes apply to its very next request); on
//! PostgreSQL every authenticated request first reads the epoch (`Db::catch_up`, one small
//! read in place of the session, roles and settings), so that another process's change
//! applies to the next request here too; and a listener hears every other process's commits
//! through `NOTIFY`, which keeps the other caches current. While the listener is down,
//! nothing is served from memory: every request reads the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// The channel the triggers notify on PostgreSQL.
const CHANNEL: &str = "kapu_changes";

pub struct Changes {
    generation: AtomicU64,
    /// The epoch as this process last read it after its own writes.
    seen_epoch: AtomicI64,
    /// This process hears every change (always on SQLite, which one process owns; on
    /// PostgreSQL while the listener is connected).
    hearing: AtomicBool,
}

impl Changes {
    fn new(hearing: bool) -> Arc<Changes> {
        Arc::new(Changes {
            generation: AtomicU64::new(1),
            seen_epoch: AtomicI64::new(i64::MIN),
            hearing: AtomicBool::new(hearing),
        })
    }

    /// For a database only this process writes (SQLite).
    pub(crate) fn single_process() -> Arc<Changes> {
        Changes::new(true)
    }

    /// For a database other processes may write (PostgreSQL): deaf until the listener is up.
    pub(crate) fn shared(url: &str) -> Arc<Changes> {
        let changes = Changes::new(false);
        tokio::spawn(listen(url.to_string(), Arc::downgrade(&changes)));
        changes
    }

    /// The current generation, or `None` while changes elsewhere may go unheard (nothing
    /// may then be served from memory).
    pub fn current(&self) -> Option<u64> {
        if self.hearing.load(Ordering::Acquire) {
            Some(self.generation.load(Ordering::Acquire))
        } else {
            None
        }
    }

    /// Whether something stamped with `stamp` still counts.
    pub fn still(&self, stamp: u64) -> bool {
        self.current() == Some(stamp)
    }

    /// Everything cached so far is stale.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Called with an epoch read after a commit or at the start of a request. The epoch
    /// only grows, and requests read it concurrently: one that read it a moment earlier
    /// must not count as a change.
    pub(crate) fn saw_epoch(&self, epoch: i64) {
        if self.seen_epoch.fetch_max(epoch, Ordering::AcqRel) < epoch {
            self.bump();
        }
    }

    fn set_hearing(&self, on: bool) {
        // Whatever was cached before a gap may have missed a change in it.
        self.bump();
        self.hearing.store(on, Ordering::Release);
    }
}

/// Values by key, each with the generation it was read under.
type Stamped<V> = std::collections::HashMap<String, (u64, V)>;

/// Values read from the database, by key, each stamped with the generation it was read
/// under: a value counts while that generation is current.
pub(crate) struct StampedMap<V> {
    /// The newest stamp kept, and the entries. Generations only grow, so an entry older
    /// than the newest stamp can never count again: they are dropped when a newer one comes.
    entries: std::sync::RwLock<(u64, Stamped<V>)>,
    /// Past this many entries the map starts afresh (it refills from the database).
    max: usize,
}

impl<V: Clone> StampedMap<V> {
    pub(crate) fn new(max: usize) -> StampedMap<V> {
        StampedMap {
            entries: Default::default(),
            max,
        }
    }

    pub(crate) fn get(&self, key: &str, changes: &Changes) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (stamp, value) = entries.1.get(key)?;
        changes.still(*stamp).then(|| value.clone())
    }

    /// Keeps what was read under `stamp` (the generation current *before* reading), so
    /// that a change committed meanwhile leaves it stale.
    pub(crate) fn put(&self, key: &str, stamp: Option<u64>, value: V) {
        let Some(stamp) = stamp else { return };
        if let Ok(mut guard) = self.entries.write() {
            let (newest, entries) = &mut *guard;
            if stamp < *newest {
                return;
            }
            if stamp > *newest || entries.len() >= self.max {
                entries.clear();
                *newest = stamp;
            }
            entries.insert(key.to_string(), (stamp, value));
        }
    }

    /// The value for `key`, read with `read` (and kept) when none counts.
    pub(crate) async fn get_or_read<F, Fut>(
        &self,
        key: &str,
        changes: &Changes,
        read: F,
    ) -> crate::error::Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = crate::error::Result<V>>,
    {
        if let Some(value) = self.get(key, changes) {
            return Ok(value);
        }
        let stamp = changes.current();
        let value = read().await?;
        self.put(key, stamp, value.clone());
        Ok(value)
    }

    pub(crate) fn forget(&self, key: &str) {
        if let Ok(mut guard) = self.entries.write() {
            guard.1.remove(key);
        }
    }
}

/// Listens on PostgreSQL for other processes' changes; reconnects after a lost connection,
/// with caches bypassed meanwhile. Ends when the service is dropped.
async fn listen(url: String, changes: std::sync::Weak<Changes>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut l = sqlx::postgres::PgListener::connect(&url).await?;
            l.ignore_pool_close_event(true);
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        }
        .await;
        let Some(c) = changes.upgrade() else { return };
        let mut listener = match connected {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; caches are bypassed");
                drop(c);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        c.set_hearing(true);
        drop(c);
        loop {
            let heard = listener.try_recv().await;
            let Some(c) = changes.upgrade() else { return };
            match heard {
                Ok(Some(_)) => c.bump(),
                Ok(None) | Err(_) => {
                    tracing::warn!(
                        "the change listener lost its connection; caches are bypassed until it is back"
                    );
                    c.set_hearing(false);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_epoch_or_a_gap_makes_everything_stale() {
        let c = Changes::single_process();
        let g = c.current().unwrap();
        c.saw_epoch(5);
        let g2 = c.current().unwrap();
        assert_ne!(g, g2);
        c.saw_epoch(5);
        c.saw_epoch(4);
        assert!(c.still(g2), "the same or an older epoch changes nothing");
        c.set_hearing(false);
        assert_eq!(c.current(), None);
        assert!(!c.still(g2));
        c.set_hearing(true);
        assert!(!c.still(g2), "what was cached before the gap stays stale");
    }

    #[test]
    fn a_newer_generation_drops_the_older_entries() {
        let c = Changes::single_process();
        let map = StampedMap::new(10);
        let old = c.current();
        map.put("a", old, 1);
        c.bump();
        map.put("b", c.current(), 2);
        assert_eq!(map.get("b", &c), Some(2));
        assert_eq!(map.entries.read().unwrap().1.len(), 1, "a is gone");
        map.put("a", old, 1);
        assert_eq!(
            map.get("a", &c),
            None,
            "a late read under an old stamp is not kept"
        );
    }
}
