//! One storage code path for SQLite and PostgreSQL through sqlx's `Any` driver.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use super::changes::Changes;
use super::rows::{Cell, HeldRows, Table};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer: write transactions queue for one dedicated connection, which
    /// avoids SQLite's busy-wait back-off and keeps that connection's page cache warm (a
    /// connection's cache is dropped whenever another connection wrote).
    writer: Option<AnyPool>,
    changes: Arc<Changes>,
    renewal: Arc<Renewal>,
}

/// The change epoch (see `changes`).
const EPOCH: &str = "SELECT epoch FROM change_epoch WHERE id = 1";

/// After a connection was found lost, connections opened before then are not handed out
/// again: a database restart ends them all, also those a ping found alive a moment before.
struct Renewal {
    started: Instant,
    /// Milliseconds after `started` of the last loss; 0 while none was seen.
    lost_at: AtomicU64,
}

impl Renewal {
    fn new() -> Renewal {
        Renewal {
            started: Instant::now(),
            lost_at: AtomicU64::new(0),
        }
    }

    fn note_loss(&self) {
        let now = self.started.elapsed().as_millis() as u64 + 1;
        self.lost_at.store(now, Ordering::Relaxed);
    }

    /// Whether a connection of this age was opened before the last loss.
    fn outdated(&self, age: Duration) -> bool {
        let lost_at = self.lost_at.load(Ordering::Relaxed);
        let opened_at = self.started.elapsed().saturating_sub(age).as_millis() as u64 + 1;
        lost_at != 0 && opened_at <= lost_at
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else if url.starts_with("sqlite") {
            Backend::Sqlite
        } else {
            return Err(Error::Internal(
                "database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let renewal = Arc::new(Renewal::new());
        let readers = match backend {
            // Each SQLite connection is a thread of its own that works without waiting on a
            // network: two per core keep every core busy. More would only hold more page
            // caches and allocator arenas (about 2 MB and more each).
            Backend::Sqlite => std::thread::available_parallelism().map_or(4, |n| 2 * n.get()),
            // A PostgreSQL connection spends most of its time waiting on the network.
            Backend::Postgres => 16,
        } as u32;
        // Readers write only bookkeeping (a session's last use): a power cut may lose that.
        let pool = Self::pool_options(backend, readers, &renewal, "NORMAL")
            .connect(url)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let writer = match backend {
            // What the writer commits was answered as done (a message accepted, a receipt
            // issued): its commits reach the disk before they count, also across a power cut.
            Backend::Sqlite => Some(
                Self::pool_options(backend, 1, &renewal, "FULL")
                    .connect(url)
                    .await?,
            ),
            Backend::Postgres => None,
        };
        let changes = match backend {
            Backend::Sqlite => Changes::single_process(),
            Backend::Postgres => Changes::shared(url),
        };
        Ok(Db {
            pool,
            backend,
            writer,
            changes,
            renewal,
        })
    }

    /// Options of a pool; `synchronous` is SQLite's setting of that name for its connections.
    fn pool_options(
        backend: Backend,
        size: u32,
        renewal: &Arc<Renewal>,
        synchronous: &'static str,
    ) -> AnyPoolOptions {
        let mut options = AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Postgres {
            let renewal = renewal.clone();
            options = options.before_acquire(move |_, meta| {
                let fresh = !renewal.outdated(meta.age);
                Box::pin(async move { Ok(fresh) })
            });
        } else {
            // A local file does not drop connections: checking each one before use only
            // costs a round trip to its worker thread.
            options = options
                .test_before_acquire(false)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        let pragma = format!("PRAGMA synchronous = {synchronous}");
                        sqlx::query(sqlx::AssertSqlSafe(pragma))
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        Ok(())
                    })
                });
        }
        options
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What tells whether something held in memory is still current.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Learns of every change other processes committed so far (one small read, on a
    /// database they share), so that nothing cached before them counts any more. The
    /// listener hears of them too, but a moment later: an authenticated request calls this
    /// first, so that a change made on another node applies to it without that moment.
    pub async fn catch_up(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            let epoch: i64 = sqlx::query_scalar(EPOCH).fetch_one(&self.pool).await?;
            self.changes.saw_epoch(epoch);
        }
        Ok(())
    }

    /// A connection was found lost: from now on only connections opened after this moment
    /// are handed out, so that a retry meets none that died with the same restart.
    pub fn renew_connections(&self) {
        self.renewal.note_loss();
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits, for at most `within`, until a connection opened after the last loss answers.
    /// A restart refuses connections for a moment and may reset one in the middle of its
    /// opening; this outlasts both, where a single attempt to connect would not.
    pub async fn reachable(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut pause = Duration::from_millis(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ping()).await {
                Ok(Ok(())) => return true,
                Ok(Err(e)) if e.is_unavailable() => {}
                Ok(Err(_)) | Err(_) => return false,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Begins a transaction that changes data and appends to the audit chain. It takes the
    /// chain's head row first, so writers line up behind each other and the chain never forks.
    pub async fn write(&self) -> Result<WriteTx> {
        let mut tx = self.writer.as_ref().unwrap_or(&self.pool).begin().await?;
        let row: (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *tx)
                .await?;
        Ok(WriteTx {
            tx,
            head_seq: row.0,
            head_hash: row.1,
            dirty: false,
            audited: true,
            held: None,
            changes: self.changes.clone(),
        })
    }

    /// A write transaction that records nothing in the business log (token bookkeeping on
    /// the hot path): it does not take the chain's head, and recording into it fails.
    pub async fn write_unaudited(&self) -> Result<WriteTx> {
        let tx = self.writer.as_ref().unwrap_or(&self.pool).begin().await?;
        Ok(WriteTx {
            tx,
            head_seq: 0,
            head_hash: String::new(),
            dirty: false,
            audited: false,
            held: None,
            changes: self.changes.clone(),
        })
    }
}

pub struct WriteTx {
    tx: Transaction<'static, Any>,
    /// Inserts held back until the end (see [`WriteTx::hold_inserts`]).
    held: Option<HeldRows>,
    changes: Arc<Changes>,
    pub(crate) head_seq: i64,
    pub(crate) head_hash: String,
    pub(crate) dirty: bool,
    /// Took the chain's head: records may be appended.
    pub(crate) audited: bool,
}

/// Where a transaction stood, to go back to after a part of it failed.
pub struct Savepoint {
    head_seq: i64,
    head_hash: String,
    dirty: bool,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// From now on, rows given to [`WriteTx::insert`] are sent when the transaction commits,
    /// many to a statement. Nothing in the transaction may read them back before that, and a
    /// constraint they break fails the commit.
    pub(crate) fn hold_inserts(&mut self) {
        self.held.get_or_insert_with(HeldRows::default);
    }

    async fn send_held(&mut self) -> Result<()> {
        match self.held.as_mut() {
            Some(held) => held.flush(&mut self.tx).await,
            None => Ok(()),
        }
    }

    /// Inserts a row, now or (when inserts are held) at commit.
    pub(crate) async fn insert(&mut self, table: &'static Table, row: Vec<Cell>) -> Result<()> {
        match self.held.as_mut() {
            Some(held) => {
                held.push(table, row);
                Ok(())
            }
            None => table.insert(&mut self.tx, row).await,
        }
    }

    /// Marks a point the transaction can return to (and the audit chain's head with it).
    /// Held rows are sent first, so that going back undoes exactly what came after.
    pub async fn savepoint(&mut self) -> Result<Savepoint> {
        self.send_held().await?;
        sqlx::query("SAVEPOINT part").execute(&mut *self.tx).await?;
        Ok(Savepoint {
            head_seq: self.head_seq,
            head_hash: self.head_hash.clone(),
            dirty: self.dirty,
        })
    }

    pub async fn release(&mut self) -> Result<()> {
        sqlx::query("RELEASE SAVEPOINT part")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Undoes everything since the savepoint, audit records included.
    pub async fn rollback_to(&mut self, point: Savepoint) -> Result<()> {
        sqlx::query("ROLLBACK TO SAVEPOINT part")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("RELEASE SAVEPOINT part")
            .execute(&mut *self.tx)
            .await?;
        self.head_seq = point.head_seq;
        self.head_hash = point.head_hash;
        self.dirty = point.dirty;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        self.send_held().await?;
        if self.dirty {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.head_seq)
                .bind(self.head_hash.clone())
                .execute(&mut *self.tx)
                .await?;
        }
        // Read last, so that it covers every change this transaction made; applied only
        // once they are committed, before the caller answers anyone.
        let epoch: i64 = sqlx::query_scalar(EPOCH).fetch_one(&mut *self.tx).await?;
        self.tx.commit().await?;
        self.changes.saw_epoch(epoch);
        Ok(())
    }
}

/// Waits for the next piece of work and takes whatever else is already waiting, up to
/// `max`: the group one transaction will write (group commit). `None` once the senders
/// are gone.
pub(crate) async fn next_group<T>(
    rx: &mut tokio::sync::mpsc::Receiver<T>,
    max: usize,
) -> Option<Vec<T>> {
    let first = rx.recv().await?;
    let mut group = vec![first];
    while group.len() < max {
        match rx.try_recv() {
            Ok(r) => group.push(r),
            Err(_) => break,
        }
    }
    Some(group)
}

/// `0`/`1` integer flags, the portable boolean.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connections_opened_after_a_loss_are_handed_out() {
        let r = Renewal::new();
        assert!(!r.outdated(Duration::from_secs(3600)), "no loss seen yet");
        std::thread::sleep(Duration::from_millis(5));
        r.note_loss();
        assert!(
            r.outdated(Duration::from_millis(4)),
            "opened before the loss"
        );
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            !r.outdated(Duration::from_millis(1)),
            "opened after the loss"
        );
    }
}
