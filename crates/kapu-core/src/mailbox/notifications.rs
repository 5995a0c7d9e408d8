//! Arrival notices: an e-mail, without the document or its content, to everyone who reads
//! the mailbox and has not switched notices off, and to the office's notification address.

use sqlx::Row;

use super::mailboxes::{MailboxKind, MailboxRow};
use super::messages::Ledger;
use super::rights::{self, Right};
use crate::Kapu;
use crate::error::Result;
use crate::platform::db::WriteTx;
use crate::platform::mail;

fn notice(mailbox: &str, arrival_number: &str, link: &str) -> (String, String) {
    (
        "Kapu – új üzenet érkezett / a new message arrived".to_string(),
        format!(
            "Új üzenet érkezett a(z) {mailbox} postafiókba.\n\
             Érkeztetési szám: {arrival_number}\n\n\
             Megtekintés bejelentkezés után:\n{link}\n\n\
             Az értesítést a profiloldalon kapcsolhatja ki.\n\n\
             ---\n\n\
             A new message arrived in the mailbox {mailbox}.\n\
             Arrival number: {arrival_number}\n\n\
             Read it after logging in:\n{link}\n\n\
             You can switch these notices off on your profile page.\n"
        ),
    )
}

/// Who is told of an arrival in a mailbox: its users who want notices, and the office's
/// own address.
async fn notice_addresses(tx: &mut WriteTx, recipient: &MailboxRow) -> Result<Vec<String>> {
    let mut to: Vec<String> = match recipient.kind {
        MailboxKind::Personal => sqlx::query_scalar(
            "SELECT email FROM users WHERE id = $1 AND notify_mail = 1 AND deleted_at IS NULL AND admin_locked = 0",
        )
        .bind(recipient.user_id.as_deref().unwrap_or(""))
        .fetch_all(tx.conn())
        .await?,
        MailboxKind::Office => {
            let role = rights::role_id(&recipient.address, Right::Read);
            let rows = sqlx::query(
                "SELECT u.email FROM users u WHERE u.tenant_id = $1 AND u.notify_mail = 1 \
                 AND u.deleted_at IS NULL AND u.admin_locked = 0 AND u.password_hash IS NOT NULL AND (\
                 EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = $2) OR \
                 EXISTS (SELECT 1 FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
                 WHERE gm.user_id = u.id AND gr.role_id = $2))",
            )
            .bind(&recipient.tenant_id)
            .bind(&role)
            .fetch_all(tx.conn())
            .await?;
            rows.iter()
                .map(|r| r.try_get("email"))
                .collect::<std::result::Result<Vec<String>, _>>()?
        }
    };
    if let Some(office) = &recipient.notify_email {
        to.push(office.clone());
    }
    to.sort();
    to.dedup();
    Ok(to)
}

impl Kapu {
    pub(crate) async fn notify_arrival(
        &self,
        tx: &mut WriteTx,
        ledger: &mut Ledger,
        recipient: &MailboxRow,
        message_id: &str,
        arrival_number: &str,
        now: i64,
    ) -> Result<()> {
        if !ledger.notice_addresses.contains_key(&recipient.id) {
            let to = notice_addresses(tx, recipient).await?;
            ledger.notice_addresses.insert(recipient.id.clone(), to);
        }
        let to = &ledger.notice_addresses[&recipient.id];
        if to.is_empty() {
            return Ok(());
        }
        let address = match recipient.kind {
            MailboxKind::Personal => "me",
            MailboxKind::Office => recipient.address.as_str(),
        };
        let link = self
            .config()
            .link(&format!("/mail/{address}/messages/{message_id}"));
        let (subject, body) = notice(&recipient.name, arrival_number, &link);
        for email in to {
            mail::enqueue(tx, Some(&recipient.tenant_id), email, &subject, &body, now).await?;
        }
        Ok(())
    }
}

/// One's arrival-notice setting.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NoticeSettings {
    /// An e-mail when a message arrives in a mailbox one reads.
    pub arrival_mail: bool,
}

impl Kapu {
    pub async fn notice_settings(&self, actor: &crate::actor::Actor) -> Result<NoticeSettings> {
        let on: i64 = sqlx::query_scalar("SELECT notify_mail FROM users WHERE id = $1")
            .bind(actor.session_user_id())
            .fetch_one(self.db().pool())
            .await?;
        Ok(NoticeSettings {
            arrival_mail: on != 0,
        })
    }

    /// Switches one's own arrival notices on or off (the person behind the session, also
    /// when acting for someone).
    pub async fn set_notice_settings(
        &self,
        actor: &crate::actor::Actor,
        arrival_mail: bool,
    ) -> Result<NoticeSettings> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE users SET notify_mail = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(arrival_mail))
            .bind(now)
            .bind(actor.session_user_id())
            .execute(tx.conn())
            .await?;
        crate::platform::audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            crate::platform::audit::AuditEvent::new("user.notices", "success")
                .tenant(&actor.tenant_id)
                .target("user", actor.session_user_id(), &actor.full_login())
                .details(serde_json::json!({"arrival_mail": arrival_mail})),
        )
        .await?;
        tx.commit().await?;
        Ok(NoticeSettings { arrival_mail })
    }
}
