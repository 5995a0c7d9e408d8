//! Small writes of the hot paths that record nothing in the business log (a code spent and
//! its refresh token kept) are written in groups: writes that arrive together share one
//! transaction, each in its own savepoint, so one refused write does not affect the others
//! and the database is made durable once per group. Each caller is answered only after its
//! group has committed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::db::{WriteTx, next_group};
use crate::Kapu;
use crate::error::{Error, Result};

/// Largest group written in one transaction.
const GROUP_MAX: usize = 128;

/// One caller's writes. `Ok(false)` means "refused": its savepoint is rolled back and the
/// caller told so (a code spent already, say).
pub(crate) type Job = Box<
    dyn for<'a> FnOnce(&'a mut WriteTx) -> Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>>
        + Send,
>;

type Request = (Job, oneshot::Sender<Result<bool>>);

#[derive(Clone)]
pub(crate) struct GroupWriter {
    jobs: mpsc::Sender<Request>,
}

impl GroupWriter {
    /// Starts the writing task; it holds the service weakly and ends with it.
    pub(crate) fn start(inner: Weak<crate::Inner>) -> GroupWriter {
        let (tx, rx) = mpsc::channel::<Request>(4096);
        tokio::spawn(run(inner, rx));
        GroupWriter { jobs: tx }
    }

    pub(crate) async fn write(&self, job: Job) -> Result<bool> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send((job, done))
            .await
            .map_err(|_| Error::Internal("group writer stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("grouped write lost".into()))?
    }
}

async fn run(inner: Weak<crate::Inner>, mut rx: mpsc::Receiver<Request>) {
    while let Some(group) = next_group(&mut rx, GROUP_MAX).await {
        let Some(inner) = inner.upgrade() else { return };
        let kapu = Kapu {
            inner: Arc::clone(&inner),
        };
        write_group(&kapu, group).await;
    }
}

async fn write_group(kapu: &Kapu, group: Vec<Request>) {
    let mut tx = match kapu.db().write_unaudited().await {
        Ok(tx) => tx,
        Err(e) => {
            let text = e.to_string();
            for (_, done) in group {
                let _ = done.send(Err(Error::Internal(text.clone())));
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(group.len());
    for (job, done) in group {
        let result = async {
            let point = tx.savepoint().await?;
            match job(&mut tx).await {
                Ok(true) => {
                    tx.release().await?;
                    Ok(true)
                }
                Ok(false) => {
                    tx.rollback_to(point).await?;
                    Ok(false)
                }
                Err(e) => {
                    tx.rollback_to(point).await?;
                    Err(e)
                }
            }
        }
        .await;
        answers.push((result, done));
    }
    match tx.commit().await {
        Ok(()) => {
            for (result, done) in answers {
                let _ = done.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "a group of writes did not commit");
            let text = e.to_string();
            for (_, done) in answers {
                let _ = done.send(Err(Error::Internal(text.clone())));
            }
        }
    }
}

impl Kapu {
    /// Runs `job` in the next group transaction; `Ok(false)` when the job refused itself.
    pub(crate) async fn write_grouped(&self, job: Job) -> Result<bool> {
        self.inner
            .group_writer
            .get_or_init(|| GroupWriter::start(Arc::downgrade(&self.inner)))
            .write(job)
            .await
    }
}
