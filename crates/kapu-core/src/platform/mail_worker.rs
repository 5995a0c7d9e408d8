//! Delivers queued e-mail and records each outcome in the business log.

use std::time::Duration;

use serde_json::json;

use super::audit::{self, AuditActor, AuditEvent};
use super::mail::Delivery;
use crate::Kapu;
use crate::actor::RequestCtx;
use crate::error::Result;

impl Kapu {
    /// One pass over the due messages; says whether more may be due.
    pub async fn deliver_mail_once(&self) -> Result<bool> {
        let (deliveries, more) = self.mailer().deliver_due(self.db(), self.now()).await?;
        if deliveries.is_empty() {
            return Ok(more);
        }
        let ctx = RequestCtx {
            client_addr: "mail-worker".into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            client_cert: None,
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        for d in &deliveries {
            let (action, outcome, id, recipient, tenant_id, details) = match d {
                Delivery::Sent {
                    id,
                    recipient,
                    subject,
                    tenant_id,
                } => (
                    "mail.send",
                    "success",
                    id,
                    recipient,
                    tenant_id,
                    json!({"subject": subject}),
                ),
                Delivery::Retry {
                    id,
                    recipient,
                    error,
                    tenant_id,
                } => (
                    "mail.send",
                    "retry",
                    id,
                    recipient,
                    tenant_id,
                    json!({"error": error}),
                ),
                Delivery::Failed {
                    id,
                    recipient,
                    error,
                    tenant_id,
                } => (
                    "mail.send",
                    "failed",
                    id,
                    recipient,
                    tenant_id,
                    json!({"error": error}),
                ),
            };
            metrics::counter!("kapu_mail_deliveries_total", "outcome" => outcome).increment(1);
            let mut event = AuditEvent::new(action, outcome)
                .target("mail", id, recipient)
                .details(details);
            if let Some(t) = tenant_id {
                event = event.tenant(t);
            }
            audit::record(&mut tx, now, &AuditActor::default(), &ctx, event).await?;
        }
        tx.commit().await?;
        Ok(more)
    }

    /// Messages still waiting to go out (neither sent nor given up on).
    pub async fn mail_queue_depth(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_queue WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(self.db().pool())
        .await?)
    }

    /// Runs until the process ends: wakes when a message is queued, or every second, and
    /// drains a long queue without pausing.
    pub async fn run_mail_worker(self) {
        loop {
            match self.deliver_mail_once().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "mail worker pass failed"),
            }
            self.mailer().wait(Duration::from_secs(1)).await;
        }
    }
}
