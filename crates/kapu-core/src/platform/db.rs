//! One storage code path for SQLite and PostgreSQL through sqlx's `Any` driver.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

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
        let pool = Self::pool_options(backend, 16).connect(url).await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let writer = match backend {
            Backend::Sqlite => Some(Self::pool_options(backend, 1).connect(url).await?),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            writer,
        })
    }

    fn pool_options(backend: Backend, size: u32) -> AnyPoolOptions {
        let mut options = AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // A local file does not drop connections: checking each one before use only
            // costs a round trip to its worker thread.
            options = options.test_before_acquire(false).after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA synchronous = NORMAL")
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

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
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
        })
    }
}

pub struct WriteTx {
    tx: Transaction<'static, Any>,
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

    /// Marks a point the transaction can return to (and the audit chain's head with it).
    pub async fn savepoint(&mut self) -> Result<Savepoint> {
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
        if self.dirty {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.head_seq)
                .bind(self.head_hash.clone())
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
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
