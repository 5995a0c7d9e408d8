//! Filing accepted messages with group commit: sends that arrive together are filed in one
//! write transaction, each inside its own savepoint, so that one refused send does not
//! affect the others and the pages every message touches (arrival counter, audit head,
//! indexes) are written once per group instead of once per message. Every caller still
//! gets its answer only after the group has committed.

use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::messages::Ledger;
use crate::Kapu;
use crate::error::{Error, Result};
use crate::platform::db::WriteTx;

/// Largest group of sends filed in one transaction.
const GROUP_MAX: usize = 64;

/// One send's writes, run inside the group's transaction.
pub(crate) type Job = Box<
    dyn for<'a> FnOnce(
            &'a Kapu,
            &'a mut WriteTx,
            &'a mut Ledger,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Filed>> + Send + 'a>,
        > + Send,
>;

/// What filing gave a send: its message and its submission receipt.
pub(crate) struct Filed {
    pub message: super::messages::MessageDetail,
    pub receipt: String,
}

type Request = (Job, oneshot::Sender<Result<Filed>>);

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

    pub(crate) async fn file(&self, job: Job) -> Result<Filed> {
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
    let mut tx = match kapu.db().write().await {
        Ok(tx) => tx,
        Err(e) => {
            let text = e.to_string();
            for (_, done) in group {
                let _ = done.send(Err(Error::Internal(text.clone())));
            }
            return;
        }
    };
    let mut ledger = Ledger::default();
    let mut answers = Vec::with_capacity(group.len());
    for (job, done) in group {
        let result = async {
            let point = tx.savepoint().await?;
            let counts = ledger.counts_snapshot();
            match job(kapu, &mut tx, &mut ledger).await {
                Ok(filed) => {
                    tx.release().await?;
                    Ok(filed)
                }
                Err(e) => {
                    tx.rollback_to(point).await?;
                    ledger.restore_counts(counts);
                    Err(e)
                }
            }
        }
        .await;
        answers.push((result, done));
    }
    let committed = match ledger.flush(&mut tx).await {
        Ok(()) => tx.commit().await,
        Err(e) => Err(e),
    };
    match committed {
        Ok(()) => {
            kapu.mailer().wake();
            for (result, done) in answers {
                let _ = done.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "a group of sends did not commit");
            let text = e.to_string();
            for (_, done) in answers {
                let _ = done.send(Err(Error::Internal(text.clone())));
            }
        }
    }
}
