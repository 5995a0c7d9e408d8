//! Filing accepted messages with group commit: sends that arrive together are filed in one
//! write transaction whose rows go to each table a few statements at a time, so that the
//! pages every message touches (arrival counter, audit head, indexes) are written once per
//! group instead of once per message. When a group fails as a whole (a client message id
//! taken by a concurrent send, say), each of its sends is filed again in a transaction of
//! its own, so one refused send does not affect the others. Every caller gets its answer
//! only after its transaction has committed.

use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::messages::Ledger;
use crate::Kapu;
use crate::error::{Error, Result};
use crate::platform::db::WriteTx;

/// Largest group of sends filed in one transaction.
const GROUP_MAX: usize = 64;

/// One send's writes, run inside a transaction: may run twice (in its group, then alone).
pub(crate) trait Job: Send + Sync {
    fn file<'a>(
        &'a self,
        kapu: &'a Kapu,
        tx: &'a mut WriteTx,
        ledger: &'a mut Ledger,
    ) -> BoxFuture<'a, Result<Filed>>;
}

/// What filing gave a send: its message and its submission receipt.
pub(crate) struct Filed {
    pub message: super::messages::MessageDetail,
    pub receipt: String,
}

type Request = (Box<dyn Job>, oneshot::Sender<Result<Filed>>);

#[derive(Clone)]
pub(crate) struct Filer {
    jobs: mpsc::Sender<Request>,
}

impl Filer {
    /// Starts the filing task. It holds the service only weakly, so it ends when the service
    /// is dropped (its sender with it).
    pub(crate) fn start(inner: Weak<crate::Inner>) -> Filer {
        let (tx, rx) = mpsc::channel::<Request>(1024);
        tokio::spawn(run(inner, rx));
        Filer { jobs: tx }
    }

    pub(crate) async fn file(&self, job: Box<dyn Job>) -> Result<Filed> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send((job, done))
            .await
            .map_err(|_| Error::Internal("filer stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("filing lost".into()))?
    }
}

async fn run(inner: Weak<crate::Inner>, mut rx: mpsc::Receiver<Request>) {
    while let Some(group) = crate::platform::db::next_group(&mut rx, GROUP_MAX).await {
        let Some(inner) = inner.upgrade() else { return };
        let kapu = Kapu {
            inner: Arc::clone(&inner),
        };
        file_group(&kapu, group).await;
    }
}

async fn file_group(kapu: &Kapu, group: Vec<Request>) {
    if group.len() > 1 {
        let jobs: Vec<&dyn Job> = group.iter().map(|(job, _)| job.as_ref()).collect();
        match file_together(kapu, &jobs).await {
            Ok(filed) => {
                kapu.mailer().wake();
                for ((_, done), filed) in group.into_iter().zip(filed) {
                    let _ = done.send(Ok(filed));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, sends = group.len(), "a group of sends is filed again one by one");
            }
        }
    }
    for (job, done) in group {
        let filed = file_together(kapu, &[job.as_ref()]).await;
        if filed.is_ok() {
            kapu.mailer().wake();
        }
        let _ = done.send(filed.map(|mut f| f.remove(0)));
    }
}

/// Files the sends in one transaction: all of them, or (on any error) none.
async fn file_together(kapu: &Kapu, jobs: &[&dyn Job]) -> Result<Vec<Filed>> {
    let mut tx = kapu.db().write().await?;
    tx.hold_inserts();
    let mut ledger = Ledger::default();
    let mut filed = Vec::with_capacity(jobs.len());
    for job in jobs {
        filed.push(job.file(kapu, &mut tx, &mut ledger).await?);
    }
    ledger.flush(&mut tx).await?;
    // The one unique key a send can break: its client message id, taken meanwhile.
    tx.commit()
        .await
        .map_err(|e| e.unique_as("conflict.idempotency_key_reused"))?;
    Ok(filed)
}
