//! Changing an entry: its names and folder, a re-enrolment that keeps the old key pair
//! dated and read-only, and deletion with its history and delegations.

use serde_json::json;

use super::entries::{
    EntryChange, EntryInput, MAX_NAME, MAX_NOTES, RekeyInput, VaultEntry, bounded, clean,
    recovery_context, seal_recovery, secret_context,
};
use super::levels::{self, Level};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::fold::fold;

impl Kapu {
    /// Changes what an entry is called and where it is filed. Managers only.
    pub async fn update_vault_entry(
        &self,
        actor: &Actor,
        id: &str,
        change: &EntryChange,
    ) -> Result<VaultEntry> {
        let (entry, _) = self.entry_for(actor, id, Level::Manage).await?;
        let mut problems = Vec::new();
        let client_name = change
            .client_name
            .as_deref()
            .map(|v| bounded(&mut problems, "client_name", v, MAX_NAME))
            .unwrap_or(entry.client_name.clone());
        if client_name.is_empty() {
            problems.push(FieldError::new("client_name", "vault.client_name_required"));
        }
        let account = change
            .account
            .as_deref()
            .map(|v| bounded(&mut problems, "account", v, MAX_NAME))
            .unwrap_or(entry.account.clone());
        let issuer = change
            .issuer
            .as_deref()
            .map(|v| bounded(&mut problems, "issuer", v, MAX_NAME))
            .unwrap_or(entry.issuer.clone());
        let notes = change
            .notes
            .as_deref()
            .map(str::trim)
            .unwrap_or(&entry.notes)
            .to_string();
        if notes.chars().count() > MAX_NOTES {
            problems.push(FieldError::new("notes", "vault.text_invalid"));
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        let folder = match change.folder_id.as_deref() {
            None => entry.folder_id.clone(),
            Some("") => None,
            Some(f) => {
                self.folder_name(&actor.tenant_id, f)
                    .await
                    .map_err(|_| Error::field("folder_id", "vault.folder_unknown"))?;
                // Filing an entry in a folder opens it to the folder's delegates: only its
                // managers may.
                if entry.folder_id.as_deref() != Some(f) {
                    levels::require(self.folder_level(actor, f).await?, Level::Manage)
                        .map_err(|_| Error::field("folder_id", "vault.folder_not_managed"))?;
                }
                Some(f.to_string())
            }
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE vault_entries SET client_name = $1, client_fold = $2, account = $3, issuer = $4, \
             notes = $5, folder_id = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(&client_name)
        .bind(fold(&client_name))
        .bind(&account)
        .bind(&issuer)
        .bind(&notes)
        .bind(folder.as_deref())
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.update", "success")
                .tenant(&actor.tenant_id)
                .target("vault_entry", id, &client_name)
                .details(json!({"client_name": client_name, "issuer": issuer, "account": account, "folder": folder})),
        )
        .await?;
        tx.commit().await?;
        self.vault_entry(actor, id).await
    }

    /// A client re-enrolled: the new key becomes current, the old pair is kept, dated.
    pub async fn rekey_vault_entry(
        &self,
        actor: &Actor,
        id: &str,
        input: &RekeyInput,
    ) -> Result<VaultEntry> {
        let (entry, _) = self.entry_for(actor, id, Level::Manage).await?;
        let fresh = clean(&EntryInput {
            client_name: entry.client_name.clone(),
            secret: input.secret.clone(),
            algorithm: input.algorithm,
            digits: input.digits,
            period: input.period,
            recovery_code: input.recovery_code.clone(),
            ..Default::default()
        })?;
        let now = self.now();
        let history_id = uuid::Uuid::now_v7().to_string();
        let old_secret = self
            .master_key()
            .open(&entry.secret_sealed, &secret_context(id))?;
        let old_recovery = match &entry.recovery_sealed {
            Some(s) => Some(self.master_key().open(s, &recovery_context(id))?),
            None => None,
        };
        let mut tx = self.db().write().await?;
        sqlx::query(
            "INSERT INTO vault_key_history (id, entry_id, algorithm, digits, period, secret_sealed, \
             recovery_sealed, valid_from, replaced_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&history_id)
        .bind(id)
        .bind(&entry.algorithm)
        .bind(entry.digits)
        .bind(entry.period)
        .bind(self.master_key().seal(&old_secret, &secret_context(&history_id))?)
        .bind(match &old_recovery {
            Some(r) => Some(self.master_key().seal(r, &recovery_context(&history_id))?),
            None => None,
        })
        .bind(entry.key_since)
        .bind(now)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "UPDATE vault_entries SET algorithm = $1, digits = $2, period = $3, secret_sealed = $4, \
             recovery_sealed = $5, key_since = $6, updated_at = $6 WHERE id = $7",
        )
        .bind(fresh.algorithm.as_str())
        .bind(i64::from(fresh.digits))
        .bind(i64::from(fresh.period))
        .bind(self.master_key().seal(&fresh.secret, &secret_context(id))?)
        .bind(seal_recovery(self, id, fresh.recovery_code.as_deref())?)
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.rekey", "success")
                .tenant(&actor.tenant_id)
                .target("vault_entry", id, &entry.client_name)
                .details(json!({"kept": history_id})),
        )
        .await?;
        tx.commit().await?;
        self.vault_entry(actor, id).await
    }

    /// Deletes an entry with its history and grants. Managers only.
    pub async fn delete_vault_entry(&self, actor: &Actor, id: &str) -> Result<()> {
        let (entry, _) = self.entry_for(actor, id, Level::Manage).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        for sql in [
            "DELETE FROM vault_grants WHERE entry_id = $1",
            "DELETE FROM vault_key_history WHERE entry_id = $1",
            "DELETE FROM vault_entries WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(tx.conn()).await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.delete", "success")
                .tenant(&actor.tenant_id)
                .target("vault_entry", id, &entry.label()),
        )
        .await?;
        tx.commit().await
    }
}
