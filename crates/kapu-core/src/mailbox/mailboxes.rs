//! Mailboxes as the other parts see them: found by address (`me` for one's personal mailbox,
//! or an office's short name), with the caller's rights on them.

use serde::Serialize;
use sqlx::Row;

use super::rights::{self, Owner, Right};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::db::WriteTx;
use crate::platform::fold::fold;

/// The address of one's own personal mailbox.
pub const ME: &str = "me";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailboxKind {
    Office,
    Personal,
}

#[derive(Debug, Clone)]
pub struct MailboxRow {
    pub id: String,
    pub kind: MailboxKind,
    pub tenant_id: String,
    pub short_name: Option<String>,
    pub user_id: Option<String>,
    pub address: String,
    pub name: String,
    pub notify_email: Option<String>,
    pub public_key: Option<String>,
    pub closed_at: Option<i64>,
    pub long_term_count: i64,
    /// Messages in the inbox (receipts included), sent, and receipts.
    pub counts: (i64, i64, i64),
}

pub(crate) const MAILBOX_COLUMNS: &str = "id, kind, tenant_id, short_name, user_id, address, name, \
     notify_email, public_key, closed_at, long_term_count, inbox_count, sent_count, receipt_count";

impl MailboxRow {
    pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<MailboxRow> {
        let kind: String = r.try_get("kind")?;
        Ok(MailboxRow {
            id: r.try_get("id")?,
            kind: if kind == "office" {
                MailboxKind::Office
            } else {
                MailboxKind::Personal
            },
            tenant_id: r.try_get("tenant_id")?,
            short_name: r.try_get("short_name")?,
            user_id: r.try_get("user_id")?,
            address: r.try_get("address")?,
            name: r.try_get("name")?,
            notify_email: r.try_get("notify_email")?,
            public_key: r.try_get("public_key")?,
            closed_at: r.try_get("closed_at")?,
            long_term_count: r.try_get("long_term_count")?,
            counts: (
                r.try_get("inbox_count")?,
                r.try_get("sent_count")?,
                r.try_get("receipt_count")?,
            ),
        })
    }

    pub fn owner(&self) -> Owner<'_> {
        match (&self.short_name, &self.user_id) {
            (Some(short_name), _) => Owner::Office {
                tenant_id: &self.tenant_id,
                short_name,
            },
            (None, user_id) => Owner::Person {
                user_id: user_id.as_deref().unwrap_or(""),
            },
        }
    }
}

/// A mailbox the caller may open, with what they may do in it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyMailbox {
    /// `me`, or the office's short name: the `{mailbox}` of the message paths.
    pub address: String,
    pub kind: MailboxKind,
    pub name: String,
    /// Of `read`, `send`, `manage`.
    pub rights: Vec<&'static str>,
    pub closed: bool,
}

impl Kapu {
    pub(crate) async fn mailbox_by_id(&self, id: &str) -> Result<MailboxRow> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        MailboxRow::from_row(&row)
    }

    pub(crate) async fn office_by_short_name(&self, short_name: &str) -> Result<MailboxRow> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE short_name = $1"
        )))
        .bind(short_name)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        MailboxRow::from_row(&row)
    }

    /// One's personal mailbox, made on first use.
    pub(crate) async fn personal_mailbox(&self, actor: &Actor) -> Result<MailboxRow> {
        if actor.deputy.is_some() {
            return Err(Error::NotFound);
        }
        let find = || async {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1"
            )))
            .bind(&actor.user_id)
            .fetch_optional(self.db().pool())
            .await?;
            row.as_ref().map(MailboxRow::from_row).transpose()
        };
        if let Some(m) = find().await? {
            return Ok(m);
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        create_personal(
            &mut tx,
            &actor.user_id,
            &actor.tenant_id,
            &actor.full_login(),
            &actor.full_name,
            now,
        )
        .await?;
        tx.commit().await?;
        find().await?.ok_or(Error::NotFound)
    }

    /// The mailbox at `address` if the caller holds `right` on it; otherwise not found.
    pub async fn open_mailbox(
        &self,
        actor: &Actor,
        address: &str,
        right: Right,
    ) -> Result<MailboxRow> {
        let mailbox = if address == ME {
            self.personal_mailbox(actor).await?
        } else {
            self.office_by_short_name(address).await?
        };
        rights::check(actor, mailbox.owner(), right)?;
        Ok(mailbox)
    }

    /// [`Kapu::open_mailbox`] with the right to send, from memory while nothing changed.
    pub(crate) async fn open_mailbox_to_send(
        &self,
        actor: &Actor,
        address: &str,
    ) -> Result<MailboxRow> {
        let mailbox = if address == ME {
            let key = format!("u:{}", actor.user_id);
            self.remembered(&key, || self.personal_mailbox(actor))
                .await?
        } else {
            self.office_to_send(address).await?
        };
        rights::check(actor, mailbox.owner(), Right::Send)?;
        Ok(mailbox)
    }

    /// An office mailbox to send to, from memory while nothing changed.
    pub(crate) async fn office_to_send(&self, short_name: &str) -> Result<MailboxRow> {
        let key = format!("o:{short_name}");
        self.remembered(&key, || self.office_by_short_name(short_name))
            .await
    }

    /// A mailbox as last read under the current change generation (every change to what
    /// identifies it moves the change epoch, migration 0010). Its folder counters change with
    /// every message and move no epoch: a remembered row has them at zero, so that nothing
    /// takes them for current.
    async fn remembered<F, Fut>(&self, key: &str, read: F) -> Result<MailboxRow>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<MailboxRow>>,
    {
        self.inner
            .mailbox
            .mailboxes
            .get_or_read(key, self.db().changes(), || async {
                let mut row = read().await?;
                row.long_term_count = 0;
                row.counts = (0, 0, 0);
                Ok(row)
            })
            .await
    }

    /// Every mailbox the caller may open: the personal one, then the offices of their tenant
    /// they hold a right on.
    pub async fn my_mailboxes(&self, actor: &Actor) -> Result<Vec<MyMailbox>> {
        let mut out = Vec::new();
        if actor.deputy.is_none() {
            let me = self.personal_mailbox(actor).await?;
            out.push(MyMailbox {
                address: ME.into(),
                kind: MailboxKind::Personal,
                name: me.name,
                rights: Right::ALL.iter().map(|r| r.code()).collect(),
                closed: false,
            });
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE tenant_id = $1 AND kind = 'office' \
             ORDER BY short_name"
        )))
        .bind(&actor.tenant_id)
        .fetch_all(self.db().pool())
        .await?;
        for row in rows {
            let m = MailboxRow::from_row(&row)?;
            let held: Vec<&'static str> = Right::ALL
                .iter()
                .filter(|r| rights::holds(actor, m.owner(), **r))
                .map(|r| r.code())
                .collect();
            if !held.is_empty() {
                out.push(MyMailbox {
                    address: m.short_name.clone().unwrap_or_default(),
                    kind: MailboxKind::Office,
                    name: m.name,
                    rights: held,
                    closed: m.closed_at.is_some(),
                });
            }
        }
        Ok(out)
    }
}

pub(crate) async fn create_personal(
    tx: &mut WriteTx,
    user_id: &str,
    tenant_id: &str,
    full_login: &str,
    full_name: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mailboxes (id, kind, tenant_id, user_id, address, name, name_key, created_at, updated_at) \
         VALUES ($1, 'personal', $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(tenant_id)
    .bind(user_id)
    .bind(full_login)
    .bind(full_name)
    .bind(fold(full_name))
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}
