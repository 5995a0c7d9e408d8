//! Using an entry: its current code (any level), or its secret, recovery code and earlier
//! keys (view and up). Every reveal is in the business log, in the same transaction as
//! nothing else: a reveal that cannot be logged is not made.

use serde::Serialize;

use super::entries::{recovery_context, secret_context};
use super::levels::Level;
use super::otp::{self, Codes, OtpAlgorithm, OtpParams};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::Result;
use crate::platform::audit_queue::Record;
use crate::platform::time_fmt;

/// An entry's key material, for `view` and `manage`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntrySecret {
    /// Base32, without padding.
    pub secret: String,
    pub recovery_code: Option<String>,
    pub otpauth_uri: String,
    /// The address as a QR code (SVG), for moving the key to a phone.
    pub qr_svg: String,
    /// Earlier keys, newest first, read-only.
    pub history: Vec<EarlierKey>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarlierKey {
    pub secret: String,
    pub recovery_code: Option<String>,
    pub algorithm: OtpAlgorithm,
    pub digits: u8,
    pub period: u32,
    pub valid_from: String,
    pub replaced_at: String,
}

/// An earlier key as stored: id, parameters, sealed secrets and its dates.
type HistoryRow = (String, String, i64, i64, String, Option<String>, i64, i64);

impl Kapu {
    /// A reveal's record: its request's only write, so it joins others in one transaction.
    async fn audit_reveal(
        &self,
        actor: &Actor,
        action: &'static str,
        id: &str,
        label: String,
    ) -> Result<()> {
        self.record_alone(Record {
            at: self.now(),
            actor: actor.audit(),
            ctx: actor.ctx.clone(),
            tenant_id: Some(actor.tenant_id.clone()),
            action,
            outcome: "success",
            target: Some(("vault_entry", id.to_string(), label)),
            details: serde_json::Value::Null,
        })
        .await
    }

    /// The code of now and of the next step. Logged as `vault.code`.
    pub async fn vault_code(&self, actor: &Actor, id: &str) -> Result<Codes> {
        let (entry, _) = self.entry_for(actor, id, Level::Code).await?;
        let secret = self
            .master_key()
            .open(&entry.secret_sealed, &secret_context(id))?;
        self.audit_reveal(actor, "vault.code", id, entry.label())
            .await?;
        Ok(otp::codes(&secret, entry.params(), self.now()))
    }

    /// The key, the recovery code and the earlier keys. Logged as `vault.secret`.
    pub async fn vault_secret(&self, actor: &Actor, id: &str) -> Result<EntrySecret> {
        let (entry, _) = self.entry_for(actor, id, Level::View).await?;
        let key = self.master_key();
        let secret = key.open(&entry.secret_sealed, &secret_context(id))?;
        let recovery = entry
            .recovery_sealed
            .as_deref()
            .map(|s| key.open(s, &recovery_context(id)))
            .transpose()?
            .map(|r| String::from_utf8_lossy(&r).into_owned());
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT id, algorithm, digits, period, secret_sealed, recovery_sealed, valid_from, replaced_at \
             FROM vault_key_history WHERE entry_id = $1 ORDER BY replaced_at DESC",
        )
        .bind(id)
        .fetch_all(self.db().pool())
        .await?;
        let mut history = Vec::with_capacity(rows.len());
        for (hid, algorithm, digits, period, sealed, recovery_sealed, from, replaced) in rows {
            history.push(EarlierKey {
                secret: otp::secret_base32(&key.open(&sealed, &secret_context(&hid))?),
                recovery_code: recovery_sealed
                    .as_deref()
                    .map(|s| key.open(s, &recovery_context(&hid)))
                    .transpose()?
                    .map(|r| String::from_utf8_lossy(&r).into_owned()),
                algorithm: OtpAlgorithm::parse(&algorithm).unwrap_or_default(),
                digits: digits as u8,
                period: period as u32,
                valid_from: time_fmt::rfc3339(from),
                replaced_at: time_fmt::rfc3339(replaced),
            });
        }
        let params: OtpParams = entry.params();
        let uri = otp::otpauth_uri(&secret, params, &entry.issuer, &entry.account);
        let qr_svg = crate::signon::totp::qr_svg(&uri)?;
        self.audit_reveal(actor, "vault.secret", id, entry.label())
            .await?;
        Ok(EntrySecret {
            secret: otp::secret_base32(&secret),
            recovery_code: recovery,
            otpauth_uri: uri,
            qr_svg,
            history,
        })
    }
}
