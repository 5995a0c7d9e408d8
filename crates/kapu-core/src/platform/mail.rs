//! Outgoing e-mail through a transactional queue: a message is queued in the same transaction
//! as the change that causes it, then delivered by a worker — to an SMTP server, or as an
//! `.eml` file in the outbox directory when no SMTP server is configured.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::Row;
use tokio::sync::Notify;

use super::config::Config;
use super::db::{Db, WriteTx};
use crate::error::{Error, Result};

/// After this many failed attempts a message is given up and marked failed.
pub const MAX_ATTEMPTS: i64 = 6;
/// Messages one pass takes up; a worker that met a full batch goes on at once.
const BATCH: i64 = 20;

#[derive(Clone)]
enum Transport {
    Outbox(PathBuf),
    Smtp(Arc<AsyncSmtpTransport<Tokio1Executor>>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    wake: Arc<Notify>,
}

/// The outcome of one delivery attempt, for the caller to record.
#[derive(Debug)]
pub enum Delivery {
    Sent {
        id: String,
        recipient: String,
        subject: String,
        tenant_id: Option<String>,
    },
    Retry {
        id: String,
        recipient: String,
        error: String,
        tenant_id: Option<String>,
    },
    Failed {
        id: String,
        recipient: String,
        error: String,
        tenant_id: Option<String>,
    },
}

impl Mailer {
    pub fn new(config: &Config) -> Result<Mailer> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| Error::Internal(format!("mail_from is not an address: {e}")))?;
        let transport = match &config.smtp {
            None => Transport::Outbox(config.outbox_dir()),
            Some(smtp) => {
                let builder = match smtp.security.as_str() {
                    "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
                    "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
                    "none" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        &smtp.host,
                    )),
                    other => {
                        return Err(Error::Internal(format!(
                            "smtp.security must be none, starttls or tls, not {other}"
                        )));
                    }
                }
                .map_err(|e| Error::Internal(format!("smtp: {e}")))?;
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(20)));
                if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
                }
                Transport::Smtp(Arc::new(builder.build()))
            }
        };
        Ok(Mailer {
            transport,
            from,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Tells the worker that a message is waiting (call after the queuing transaction commits).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    /// The message of queue entry `id`. Its `Message-ID` comes from the entry, so that a
    /// message sent again after a crash between the relay's acceptance and the note of it
    /// is recognisable downstream as the same one.
    fn build(
        &self,
        id: &str,
        recipient: &str,
        subject: &str,
        body: &str,
    ) -> std::result::Result<Message, String> {
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| format!("bad recipient: {e}"))?;
        Message::builder()
            .message_id(Some(format!("<{id}@{}>", self.from.email.domain())))
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("cannot build message: {e}"))
    }

    async fn send(&self, message: Message, id: &str) -> std::result::Result<(), String> {
        match &self.transport {
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("outbox: {e}"))?;
                let tmp = dir.join(format!(".{id}.tmp"));
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|e| format!("outbox: {e}"))?;
                // Renamed into place so a reader never sees half a message.
                tokio::fs::rename(&tmp, dir.join(format!("{id}.eml")))
                    .await
                    .map_err(|e| format!("outbox: {e}"))
            }
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    /// Delivers up to a batch of the messages that are due; returns what happened to each,
    /// and whether the batch was full (more may be due).
    pub async fn deliver_due(&self, db: &Db, now: i64) -> Result<(Vec<Delivery>, bool)> {
        let rows = sqlx::query(
            "SELECT id, recipient, subject, body, attempts, tenant_id FROM mail_queue \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY created_at LIMIT $2",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
        let full = rows.len() as i64 == BATCH;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            // Claim it, so that another node does not send it too.
            let claimed = sqlx::query(
                "UPDATE mail_queue SET claimed_until = $1 WHERE id = $2 \
                 AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(now + 60_000)
            .bind(&id)
            .bind(now)
            .execute(db.pool())
            .await?;
            if claimed.rows_affected() != 1 {
                continue;
            }
            let recipient: String = row.try_get("recipient")?;
            let subject: String = row.try_get("subject")?;
            let body: String = row.try_get("body")?;
            let attempts: i64 = row.try_get("attempts")?;
            let tenant_id: Option<String> = row.try_get("tenant_id")?;
            let result = match self.build(&id, &recipient, &subject, &body) {
                Ok(message) => self.send(message, &id).await.map_err(|e| (e, true)),
                Err(e) => Err((e, false)),
            };
            match result {
                Ok(()) => {
                    sqlx::query("UPDATE mail_queue SET sent_at = $1, attempts = $2, claimed_until = NULL, body = '' WHERE id = $3")
                        .bind(now)
                        .bind(attempts + 1)
                        .bind(&id)
                        .execute(db.pool())
                        .await?;
                    tracing::info!(mail_id = %id, to = %recipient, subject = %subject, "mail delivered");
                    out.push(Delivery::Sent {
                        id,
                        recipient,
                        subject,
                        tenant_id,
                    });
                }
                Err((error, retryable)) => {
                    let attempts = attempts + 1;
                    if retryable && attempts < MAX_ATTEMPTS {
                        let backoff = 15_000 * (1i64 << attempts.min(10));
                        sqlx::query(
                            "UPDATE mail_queue SET attempts = $1, next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $4",
                        )
                        .bind(attempts)
                        .bind(now + backoff)
                        .bind(&error)
                        .bind(&id)
                        .execute(db.pool())
                        .await?;
                        tracing::warn!(mail_id = %id, to = %recipient, %error, attempts, "mail delivery failed, will retry");
                        out.push(Delivery::Retry {
                            id,
                            recipient,
                            error,
                            tenant_id,
                        });
                    } else {
                        sqlx::query(
                            "UPDATE mail_queue SET attempts = $1, failed_at = $2, claimed_until = NULL, last_error = $3, body = '' WHERE id = $4",
                        )
                        .bind(attempts)
                        .bind(now)
                        .bind(&error)
                        .bind(&id)
                        .execute(db.pool())
                        .await?;
                        tracing::error!(mail_id = %id, to = %recipient, %error, attempts, "mail delivery gave up");
                        out.push(Delivery::Failed {
                            id,
                            recipient,
                            error,
                            tenant_id,
                        });
                    }
                }
            }
        }
        Ok((out, full))
    }
}

/// Queues a message inside the caller's transaction.
static MAIL_QUEUE: super::rows::Table = super::rows::Table::new(
    "mail_queue",
    &[
        "id",
        "recipient",
        "subject",
        "body",
        "tenant_id",
        "created_at",
        "next_attempt_at",
    ],
);

pub async fn enqueue(
    tx: &mut WriteTx,
    tenant_id: Option<&str>,
    recipient: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    tx.insert(
        &MAIL_QUEUE,
        vec![
            id.as_str().into(),
            recipient.into(),
            subject.into(),
            body.into(),
            tenant_id.into(),
            now.into(),
            now.into(),
        ],
    )
    .await?;
    tracing::info!(mail_id = %id, to = %recipient, subject = %subject, "mail queued");
    Ok(id)
}
