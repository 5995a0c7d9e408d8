//! Importing another authenticator's file: a preview first (what is new, what is already in
//! the vault, what cannot be read and why), nothing stored until it is confirmed; then the
//! entries are stored in batches, with progress to show for files of thousands.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;

use super::entries::{CleanEntry, insert_entry, secret_context};
use super::formats::{self, Format};
use super::levels::{self, Level};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::clock::MINUTE;

/// A preview waits this long for its confirmation.
const PREVIEW_TTL: i64 = 30 * MINUTE;
/// An import still running after this long was cut short by its process stopping.
const STALLED_AFTER: i64 = 60 * MINUTE;
/// Entries stored per transaction while an import runs.
const BATCH: usize = 200;
/// More than this in one file is refused before anything is parsed further.
pub const MAX_ITEMS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    New,
    /// Same issuer, account and secret as an entry of the vault or earlier in the file.
    Duplicate,
    Invalid,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewItem {
    pub index: usize,
    pub label: String,
    pub issuer: String,
    pub account: String,
    pub status: ItemStatus,
    /// Message key of why an item is invalid.
    pub reason: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportView {
    pub id: String,
    pub format: Format,
    /// `preview`, `running`, `done` or `failed`.
    pub state: String,
    /// Entries that will be (or were) stored.
    pub total: i64,
    pub done: i64,
    pub duplicates: i64,
    pub invalid: i64,
    /// Only in the answer to the upload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<PreviewItem>,
}

/// An import as stored between its preview and its end.
struct ImportRow {
    format: String,
    folder_id: Option<String>,
    state: String,
    total: i64,
    done: i64,
    duplicates: i64,
    invalid: i64,
    payload_sealed: String,
    expires_at: i64,
}

impl ImportRow {
    fn view(self, id: &str) -> ImportView {
        ImportView {
            id: id.to_string(),
            format: Format::parse(&self.format).unwrap_or(Format::Otpauth),
            state: self.state,
            total: self.total,
            done: self.done,
            duplicates: self.duplicates,
            invalid: self.invalid,
            items: Vec::new(),
        }
    }
}

fn payload_context(id: &str) -> String {
    format!("vault-import:{id}")
}

fn dedup_key(issuer: &str, account: &str, secret: &[u8]) -> (String, String, Vec<u8>) {
    (
        issuer.to_lowercase(),
        account.to_lowercase(),
        secret.to_vec(),
    )
}

impl Kapu {
    async fn may_import(&self, actor: &Actor, folder_id: Option<&str>) -> Result<()> {
        self.vault_gate(actor).await?;
        levels::secure_for(actor, Level::Manage)?;
        match folder_id {
            _ if levels::is_vault_admin(actor) => Ok(()),
            None => Err(Error::Forbidden),
            Some(f) => {
                levels::require(self.folder_level(actor, f).await?, Level::Manage)
                    .map_err(|_| Error::Forbidden)?;
                Ok(())
            }
        }
    }

    /// Reads a file and keeps what it would add, sealed, until confirmed or 30 minutes pass.
    pub async fn preview_vault_import(
        &self,
        actor: &Actor,
        file: Vec<u8>,
        password: Option<String>,
        folder_id: Option<String>,
    ) -> Result<ImportView> {
        let folder_id = folder_id.filter(|f| !f.is_empty());
        self.may_import(actor, folder_id.as_deref()).await?;
        if let Some(f) = &folder_id {
            self.folder_name(&actor.tenant_id, f)
                .await
                .map_err(|_| Error::field("folder_id", "vault.folder_unknown"))?;
        }
        // Key derivation can take a second: off the request threads, within the file's
        // budget, and stopped when the request goes away (the guard cancels on drop).
        let cancel = formats::Cancel::default();
        let _stop = CancelOnDrop(cancel.clone());
        let (format, items) = tokio::task::spawn_blocking(move || {
            formats::read_within(&file, password.as_deref(), &formats::Budget::new(&cancel))
        })
        .await
        .map_err(|e| Error::Internal(format!("import: {e}")))?
        .map_err(|e| Error::field("file", e.0))?;
        if items.len() > MAX_ITEMS {
            return Err(Error::field("file", "vault.import_too_many"));
        }
        let mut known = self.known_keys(actor).await?;
        let mut preview = Vec::with_capacity(items.len());
        let mut fresh = Vec::new();
        let (mut duplicates, mut invalid) = (0, 0);
        for (index, item) in items.into_iter().enumerate() {
            match item {
                Ok(entry) => {
                    let new = known.insert(dedup_key(&entry.issuer, &entry.account, &entry.secret));
                    let status = if new {
                        ItemStatus::New
                    } else {
                        ItemStatus::Duplicate
                    };
                    preview.push(PreviewItem {
                        index,
                        label: entry.client_name.clone(),
                        issuer: entry.issuer.clone(),
                        account: entry.account.clone(),
                        status,
                        reason: None,
                    });
                    if new {
                        fresh.push(entry);
                    } else {
                        duplicates += 1;
                    }
                }
                Err(bad) => {
                    invalid += 1;
                    preview.push(PreviewItem {
                        index,
                        label: bad.label,
                        issuer: String::new(),
                        account: String::new(),
                        status: ItemStatus::Invalid,
                        reason: Some(bad.reason),
                    });
                }
            }
        }
        let id = uuid::Uuid::now_v7().to_string();
        let total = fresh.len() as i64;
        let plain = serde_json::to_vec(&fresh).map_err(|e| Error::Internal(e.to_string()))?;
        let now = self.now();
        sqlx::query(
            "INSERT INTO vault_imports (id, tenant_id, user_id, format, folder_id, payload_sealed, total, \
             duplicates, invalid, done, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'preview', $10, $11)",
        )
        .bind(&id)
        .bind(&actor.tenant_id)
        .bind(actor.session_user_id())
        .bind(format.as_str())
        .bind(folder_id.as_deref())
        .bind(self.master_key().seal(&plain, &payload_context(&id))?)
        .bind(total)
        .bind(duplicates)
        .bind(invalid)
        .bind(now)
        .bind(now + PREVIEW_TTL)
        .execute(self.db().pool())
        .await?;
        sqlx::query("DELETE FROM vault_imports WHERE expires_at < $1 AND state <> 'running'")
            .bind(now)
            .execute(self.db().pool())
            .await?;
        // An import that was running when its process stopped never ends by itself: the
        // largest takes seconds, so one still running after an hour is reported failed
        // (what it stored stays) and its sealed entries are dropped.
        sqlx::query(
            "UPDATE vault_imports SET state = 'failed', payload_sealed = '' \
             WHERE state = 'running' AND created_at < $1",
        )
        .bind(now - STALLED_AFTER)
        .execute(self.db().pool())
        .await?;
        Ok(ImportView {
            id,
            format,
            state: "preview".into(),
            total,
            done: 0,
            duplicates,
            invalid,
            items: preview,
        })
    }

    /// Issuer, account and secret of every entry of the tenant, for finding duplicates.
    /// The entries a preview compares with: those the importer can see. Compared with every
    /// entry of the tenant, "duplicate" would confirm a guessed key of a folder they may not
    /// open.
    async fn known_keys(&self, actor: &Actor) -> Result<HashSet<(String, String, Vec<u8>)>> {
        let rows: Vec<(String, Option<String>, String, String, String)> = sqlx::query_as(
            "SELECT id, folder_id, issuer, account, secret_sealed FROM vault_entries WHERE tenant_id = $1",
        )
        .bind(&actor.tenant_id)
        .fetch_all(self.db().pool())
        .await?;
        let grants = if levels::is_vault_admin(actor) {
            None
        } else {
            Some(self.my_grants(actor).await?)
        };
        let mut out = HashSet::with_capacity(rows.len());
        for (id, folder_id, issuer, account, sealed) in rows {
            let visible = grants.as_ref().is_none_or(|g| {
                g.iter().any(|r| {
                    r.entry_id.as_deref() == Some(id.as_str())
                        || (r.folder_id.is_some() && r.folder_id == folder_id)
                })
            });
            if !visible {
                continue;
            }
            let secret = self.master_key().open(&sealed, &secret_context(&id))?;
            out.insert(dedup_key(&issuer, &account, &secret));
        }
        Ok(out)
    }

    async fn import_row(&self, actor: &Actor, id: &str) -> Result<ImportRow> {
        type Raw = (
            String,
            Option<String>,
            String,
            i64,
            i64,
            i64,
            i64,
            String,
            i64,
        );
        let row: Option<Raw> = sqlx::query_as(
            "SELECT format, folder_id, state, total, done, duplicates, invalid, payload_sealed, expires_at \
             FROM vault_imports WHERE id = $1 AND tenant_id = $2 AND user_id = $3",
        )
        .bind(id)
        .bind(&actor.tenant_id)
        .bind(actor.session_user_id())
        .fetch_optional(self.db().pool())
        .await?;
        let (
            format,
            folder_id,
            state,
            total,
            done,
            duplicates,
            invalid,
            payload_sealed,
            expires_at,
        ) = row.ok_or(Error::NotFound)?;
        Ok(ImportRow {
            format,
            folder_id,
            state,
            total,
            done,
            duplicates,
            invalid,
            payload_sealed,
            expires_at,
        })
    }

    /// How an import stands.
    pub async fn vault_import(&self, actor: &Actor, id: &str) -> Result<ImportView> {
        self.vault_gate(actor).await?;
        Ok(self.import_row(actor, id).await?.view(id))
    }

    /// Stores what a preview found new, in the background; progress is read with
    /// [`Kapu::vault_import`].
    pub async fn confirm_vault_import(&self, actor: &Actor, id: &str) -> Result<ImportView> {
        let row = self.import_row(actor, id).await?;
        if row.state != "preview" {
            return Err(Error::Conflict("conflict.vault_import_started"));
        }
        if row.expires_at < self.now() {
            return Err(Error::Gone("gone.vault_import_expired"));
        }
        self.may_import(actor, row.folder_id.as_deref()).await?;
        let entries: Vec<CleanEntry> = serde_json::from_slice(
            &self
                .master_key()
                .open(&row.payload_sealed, &payload_context(id))?,
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
        let claimed = sqlx::query(
            "UPDATE vault_imports SET state = 'running' WHERE id = $1 AND state = 'preview'",
        )
        .bind(id)
        .execute(self.db().pool())
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(Error::Conflict("conflict.vault_import_started"));
        }
        let (kapu, task_actor, import_id) = (self.clone(), actor.clone(), id.to_string());
        let (format, folder_id) = (row.format.clone(), row.folder_id.clone());
        tokio::spawn(async move {
            let outcome = kapu
                .run_import(
                    &task_actor,
                    &import_id,
                    &format,
                    folder_id.as_deref(),
                    &entries,
                )
                .await;
            if let Err(e) = &outcome {
                tracing::error!(import = %import_id, error = %e, "vault import failed");
            }
            let state = if outcome.is_ok() { "done" } else { "failed" };
            // The secrets are not kept once stored: what remains is the counts.
            let _ = sqlx::query(
                "UPDATE vault_imports SET state = $1, payload_sealed = '' WHERE id = $2",
            )
            .bind(state)
            .bind(&import_id)
            .execute(kapu.db().pool())
            .await;
        });
        let mut view = row.view(id);
        view.state = "running".into();
        Ok(view)
    }

    async fn run_import(
        &self,
        actor: &Actor,
        id: &str,
        format: &str,
        folder_id: Option<&str>,
        entries: &[CleanEntry],
    ) -> Result<()> {
        let mut done = 0i64;
        for batch in entries.chunks(BATCH) {
            let now = self.now();
            let mut tx = self.db().write().await?;
            for entry in batch {
                let entry_id = insert_entry(self, &mut tx, actor, entry, folder_id, now).await?;
                audit::record(
                    &mut tx,
                    now,
                    &actor.audit(),
                    &actor.ctx,
                    AuditEvent::new("vault.create", "success")
                        .tenant(&actor.tenant_id)
                        .target("vault_entry", &entry_id, &entry.client_name)
                        .details(json!({"import": id, "format": format, "issuer": entry.issuer, "account": entry.account})),
                )
                .await?;
            }
            done += batch.len() as i64;
            sqlx::query("UPDATE vault_imports SET done = $1 WHERE id = $2")
                .bind(done)
                .bind(id)
                .execute(tx.conn())
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Stops a file's reader when the request that asked for it is dropped.
struct CancelOnDrop(formats::Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
