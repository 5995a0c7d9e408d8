//! Exporting what one manages: an encrypted Aegis vault (the Aegis app imports it), or,
//! after an explicit confirmation, a plain `otpauth://` list. Only in secure mode, after the
//! password is given again, and always in the business log with every entry exported.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::entries::{
    CleanEntry, ENTRY_COLUMNS, ENTRY_FROM, EntryRow, RawRow, recovery_context, row, secret_context,
};
use super::formats::aegis;
use super::levels::{self, MY_GRANTS};
use super::otp;
use crate::Kapu;
use crate::actor::{Actor, Mode};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};

/// An encrypted export's own password: long enough to stand an offline guess.
const MIN_FILE_PASSWORD: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Encrypted Aegis vault (scrypt + AES-256-GCM).
    Aegis,
    /// Plain `otpauth://` addresses, one per line.
    Otpauth,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ExportInput {
    /// The user's own password, given again.
    pub password: String,
    pub format: ExportFormat,
    /// The encrypted file's password (`aegis`), at least 10 characters.
    pub file_password: Option<String>,
    /// Must be `true` for a plain export: the file will hold every secret readable.
    #[serde(default)]
    pub confirm_plain: bool,
}

pub struct ExportFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub entries: usize,
}

impl Kapu {
    /// Every entry the actor manages, secrets open.
    async fn managed_entries(&self, actor: &Actor) -> Result<Vec<(EntryRow, CleanEntry)>> {
        let rows: Vec<RawRow> = if levels::is_vault_admin(actor) {
            let sql = format!(
                "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE e.tenant_id = $1 ORDER BY e.client_fold, e.id"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&actor.tenant_id)
                .fetch_all(self.db().pool())
                .await?
        } else {
            let sql = format!(
                "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} JOIN ({MY_GRANTS}) m ON m.entry_id = e.id \
                 OR (m.folder_id IS NOT NULL AND m.folder_id = e.folder_id) WHERE e.tenant_id = $1 \
                 GROUP BY e.id, f.name HAVING MAX(m.level) = 3 ORDER BY e.client_fold, e.id"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&actor.tenant_id)
                .bind(&actor.user_id)
                .fetch_all(self.db().pool())
                .await?
        };
        let key = self.master_key();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let e = row(r);
            let secret = key.open(&e.secret_sealed, &secret_context(&e.id))?;
            let recovery_code = e
                .recovery_sealed
                .as_deref()
                .map(|s| key.open(s, &recovery_context(&e.id)))
                .transpose()?
                .map(|r| String::from_utf8_lossy(&r).into_owned());
            let params = e.params();
            let clean = CleanEntry {
                client_name: e.client_name.clone(),
                account: e.account.clone(),
                issuer: e.issuer.clone(),
                secret,
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
                recovery_code,
                notes: e.notes.clone(),
            };
            out.push((e, clean));
        }
        Ok(out)
    }

    pub async fn export_vault(&self, actor: &Actor, input: &ExportInput) -> Result<ExportFile> {
        self.vault_gate(actor).await?;
        if actor.mode != Mode::Secure {
            return Err(Error::SecureModeRequired);
        }
        let mut problems = Vec::new();
        match input.format {
            ExportFormat::Aegis => {
                if input
                    .file_password
                    .as_deref()
                    .map_or(0, |p| p.chars().count())
                    < MIN_FILE_PASSWORD
                {
                    problems.push(FieldError::new(
                        "file_password",
                        "vault.export_password_short",
                    ));
                }
            }
            ExportFormat::Otpauth => {
                if !input.confirm_plain {
                    problems.push(FieldError::new(
                        "confirm_plain",
                        "vault.export_confirm_plain",
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        self.recheck_password(actor, &input.password).await?;
        let entries = self.managed_entries(actor).await?;
        if entries.is_empty() {
            return Err(Error::NotFound);
        }
        let clean: Vec<CleanEntry> = entries.iter().map(|(_, c)| c.clone()).collect();
        let (bytes, file_name, content_type) = match input.format {
            ExportFormat::Aegis => {
                let password = input.file_password.clone().unwrap_or_default();
                let bytes =
                    tokio::task::spawn_blocking(move || aegis::write_encrypted(&clean, &password))
                        .await
                        .map_err(|e| Error::Internal(format!("export: {e}")))??;
                (bytes, "kapu-vault-aegis.json", "application/json")
            }
            ExportFormat::Otpauth => {
                let text: String = clean
                    .iter()
                    .map(|e| otp::otpauth_uri(&e.secret, e.params(), &e.issuer, &e.account) + "\n")
                    .collect();
                (
                    text.into_bytes(),
                    "kapu-vault-otpauth.txt",
                    "text/plain; charset=utf-8",
                )
            }
        };
        let ids: Vec<&str> = entries.iter().map(|(e, _)| e.id.as_str()).collect();
        let mut tx = self.db().write().await?;
        audit::record(
            &mut tx,
            self.now(),
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.export", "success")
                .tenant(&actor.tenant_id)
                .target("vault", &actor.tenant_id, &actor.tenant_code)
                .details(json!({"format": input.format, "entries": ids})),
        )
        .await?;
        tx.commit().await?;
        Ok(ExportFile {
            file_name: file_name.to_string(),
            content_type,
            bytes,
            entries: entries.len(),
        })
    }
}
