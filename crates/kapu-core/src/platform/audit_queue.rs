//! Business-log records that are a request's only write (a code revealed, a secret viewed)
//! are appended in groups: records that arrive together share one transaction, so the
//! chain's head is taken and the log made durable once per group instead of once per
//! record. Each caller is answered only after its group has committed: nothing is shown
//! that is not logged.

use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::audit::{self, AuditEvent};
use crate::Kapu;
use crate::actor::{AuditActor, RequestCtx};
use crate::error::{Error, Result};

/// Largest group appended in one transaction.
const GROUP_MAX: usize = 128;

/// One record, owned, as it waits for its group.
pub struct Record {
    pub at: i64,
    pub actor: AuditActor,
    pub ctx: RequestCtx,
    pub tenant_id: Option<String>,
    pub action: &'static str,
    pub outcome: &'static str,
    /// Type, id and label of what the record is about.
    pub target: Option<(&'static str, String, String)>,
    pub details: serde_json::Value,
}

type Request = (Record, oneshot::Sender<Result<()>>);

#[derive(Clone)]
pub(crate) struct AuditQueue {
    records: mpsc::Sender<Request>,
}

impl AuditQueue {
    /// Starts the appending task; it holds the service weakly and ends with it.
    pub(crate) fn start(inner: Weak<crate::Inner>) -> AuditQueue {
        let (tx, rx) = mpsc::channel::<Request>(4096);
        tokio::spawn(run(inner, rx));
        AuditQueue { records: tx }
    }

    pub(crate) async fn append(&self, record: Record) -> Result<()> {
        let (done, answer) = oneshot::channel();
        self.records
            .send((record, done))
            .await
            .map_err(|_| Error::Internal("audit queue stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("audit record lost".into()))?
    }
}

async fn run(inner: Weak<crate::Inner>, mut rx: mpsc::Receiver<Request>) {
    while let Some(group) = crate::platform::db::next_group(&mut rx, GROUP_MAX).await {
        let Some(inner) = inner.upgrade() else { return };
        let kapu = Kapu {
            inner: Arc::clone(&inner),
        };
        let (records, answers): (Vec<Record>, Vec<_>) = group.into_iter().unzip();
        let outcome = append_group(&kapu, &records).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, records = records.len(), "business-log records did not commit");
        }
        for done in answers {
            let _ = done.send(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Internal(e.to_string())),
            });
        }
    }
}

async fn append_group(kapu: &Kapu, records: &[Record]) -> Result<()> {
    let mut tx = kapu.db().write().await?;
    tx.hold_inserts();
    for r in records {
        let mut event = AuditEvent::new(r.action, r.outcome).details(r.details.clone());
        if let Some(t) = &r.tenant_id {
            event = event.tenant(t);
        }
        if let Some((kind, id, label)) = &r.target {
            event = event.target(kind, id, label);
        }
        audit::record(&mut tx, r.at, &r.actor, &r.ctx, event).await?;
    }
    tx.commit().await
}

impl Kapu {
    fn audit_queue(&self) -> &AuditQueue {
        self.inner
            .audit_queue
            .get_or_init(|| AuditQueue::start(Arc::downgrade(&self.inner)))
    }

    /// Appends a record that is its request's only write, grouped with others arriving
    /// together; returns once it is durable.
    pub(crate) async fn record_alone(&self, record: Record) -> Result<()> {
        self.audit_queue().append(record).await
    }
}
