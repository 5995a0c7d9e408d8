//! Security keys and passkeys (WebAuthn) in place of the eID card and the token. A key is
//! bound by its user from the profile (where the tenant allows it) or by a user maintainer
//! with the user present; one key serves one user of a tenant. At login the key answers
//! the challenge of the second step.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::devices::{NewDevice, bind_device, refuse_bound_elsewhere};
use super::factors::Confirmed;
use super::login::AMR_HWK;
use super::second_step::FactorKind;
use crate::Kapu;
use crate::actor::{Actor, policy};
use crate::error::{Error, Result};
use crate::identity::users::UserRow;
use crate::platform::db::WriteTx;

/// How long a registration waits for the key.
const REGISTRATION_TTL_MS: i64 = 5 * 60_000;
const MAX_NAME_CHARS: usize = 64;

/// The relying party for the public address; none where that address is an IP address,
/// which browsers do not accept as a WebAuthn relying party.
pub(crate) fn relying_party(public_url: &str) -> Option<Webauthn> {
    let url = Url::parse(public_url).ok()?;
    let host = url.domain()?.to_string();
    let built = WebauthnBuilder::new(&host, &url).and_then(|b| b.rp_name("Kapu").build());
    match built {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, public_url, "security keys are unavailable");
            None
        }
    }
}

/// A device's name as its owner will recognise it in lists.
pub fn device_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::field("name", "factor.name_invalid"));
    }
    Ok(name.to_string())
}

/// A registration waiting for the key: the options for `navigator.credentials.create()`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebauthnEnrolment {
    pub id: String,
    /// `CredentialCreationOptions` (WebAuthn Level 3 JSON: binary fields in base64url).
    #[schema(value_type = Object)]
    pub options: Value,
}

fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("webauthn: {e}"))
}

impl Kapu {
    fn webauthn(&self) -> Result<&Webauthn> {
        self.inner
            .webauthn
            .as_ref()
            .ok_or(Error::Conflict("conflict.webauthn_unavailable"))
    }

    /// Starts binding a key of one's own, after a fresh password check.
    pub async fn begin_my_webauthn(
        &self,
        actor: &Actor,
        password: &str,
        name: &str,
    ) -> Result<WebauthnEnrolment> {
        self.may_enrol(actor).await?;
        self.recheck_password(actor, password).await?;
        let user = self.user_by_id(actor.session_user_id()).await?;
        self.begin_webauthn(actor, &user, name).await
    }

    pub async fn finish_my_webauthn(
        &self,
        actor: &Actor,
        id: &str,
        credential: &Value,
    ) -> Result<Confirmed> {
        self.may_enrol(actor).await?;
        let user = self.user_by_id(actor.session_user_id()).await?;
        self.finish_webauthn(actor, &user, id, credential).await
    }

    /// A user maintainer, in secure mode, starts binding a key for a user who is present.
    pub async fn begin_user_webauthn(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        name: &str,
    ) -> Result<WebauthnEnrolment> {
        let user = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        self.begin_webauthn(actor, &user, name).await
    }

    pub async fn finish_user_webauthn(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        id: &str,
        credential: &Value,
    ) -> Result<Confirmed> {
        let user = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        self.finish_webauthn(actor, &user, id, credential).await
    }

    async fn begin_webauthn(
        &self,
        actor: &Actor,
        user: &UserRow,
        name: &str,
    ) -> Result<WebauthnEnrolment> {
        let name = device_name(name)?;
        let rp = self.webauthn()?;
        let own: Vec<String> = sqlx::query_scalar(
            "SELECT credential_id FROM second_factors WHERE user_id = $1 AND kind = 'webauthn'",
        )
        .bind(&user.id)
        .fetch_all(self.db().pool())
        .await?;
        // The user's own keys are excluded by the browser; another user's key is refused
        // on finishing, with that user's name.
        let exclude = own
            .iter()
            .filter_map(|c| URL_SAFE_NO_PAD.decode(c).ok())
            .collect();
        let handle = Uuid::parse_str(&user.id).map_err(internal)?;
        let (options, state) = rp
            .start_passkey_registration(handle, &user.full_login(), &user.full_name, Some(exclude))
            .map_err(internal)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("DELETE FROM webauthn_registrations WHERE expires_at < $1")
            .bind(now)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO webauthn_registrations (id, user_id, tenant_id, name, state, started_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&user.id)
        .bind(&user.tenant_id)
        .bind(&name)
        .bind(serde_json::to_string(&state).map_err(internal)?)
        .bind(actor.session_user_id())
        .bind(now + REGISTRATION_TTL_MS)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(WebauthnEnrolment {
            id,
            options: serde_json::to_value(options).map_err(internal)?,
        })
    }

    async fn finish_webauthn(
        &self,
        actor: &Actor,
        user: &UserRow,
        id: &str,
        credential: &Value,
    ) -> Result<Confirmed> {
        let rp = self.webauthn()?;
        let now = self.now();
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT name, state, expires_at FROM webauthn_registrations \
             WHERE id = $1 AND user_id = $2 AND started_by = $3",
        )
        .bind(id)
        .bind(&user.id)
        .bind(actor.session_user_id())
        .fetch_optional(self.db().pool())
        .await?;
        let Some((name, state, expires_at)) = row else {
            return Err(Error::NotFound);
        };
        if expires_at <= now {
            return Err(Error::Gone("gone.enrolment_expired"));
        }
        let state: PasskeyRegistration = serde_json::from_str(&state).map_err(internal)?;
        let passkey = serde_json::from_value::<RegisterPublicKeyCredential>(credential.clone())
            .ok()
            .and_then(|reg| {
                rp.finish_passkey_registration(&reg, &state)
                    .inspect_err(|e| tracing::debug!(error = %e, "webauthn registration refused"))
                    .ok()
            })
            .ok_or_else(|| Error::field("credential", "factor.webauthn_invalid"))?;
        let credential_id = credential_key(passkey.cred_id());
        let mut tx = self.db().write().await?;
        refuse_bound_elsewhere(&mut tx, user, FactorKind::Webauthn, &credential_id).await?;
        let gone = sqlx::query("DELETE FROM webauthn_registrations WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        if gone.rows_affected() != 1 {
            return Err(Error::NotFound);
        }
        let credential = serde_json::to_string(&passkey).map_err(internal)?;
        bind_device(
            tx,
            actor,
            user,
            NewDevice {
                kind: FactorKind::Webauthn,
                name,
                credential_id: &credential_id,
                credential: &credential,
                amr: AMR_HWK,
                details: json!({}),
            },
            now,
        )
        .await
    }

    /// The request of a login's second step for the user's keys, and its state to keep.
    pub(crate) async fn webauthn_request(&self, user_id: &str) -> Result<Option<(Value, String)>> {
        let Ok(rp) = self.webauthn() else {
            return Ok(None);
        };
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT credential FROM second_factors WHERE user_id = $1 AND kind = 'webauthn'",
        )
        .bind(user_id)
        .fetch_all(self.db().pool())
        .await?;
        let keys: Vec<Passkey> = stored
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        let (request, state) = rp.start_passkey_authentication(&keys).map_err(internal)?;
        Ok(Some((
            serde_json::to_value(request).map_err(internal)?,
            serde_json::to_string(&state).map_err(internal)?,
        )))
    }

    /// A key's answer to the challenge kept with the login; its counter moves on.
    pub(crate) async fn accept_webauthn(
        &self,
        tx: &mut WriteTx,
        user_id: &str,
        state: Option<&str>,
        credential: &Value,
        now: i64,
    ) -> Result<bool> {
        let (Ok(rp), Some(state)) = (self.webauthn(), state) else {
            return Ok(false);
        };
        let state: PasskeyAuthentication = serde_json::from_str(state).map_err(internal)?;
        let Ok(answer) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
            return Ok(false);
        };
        let result = match rp.finish_passkey_authentication(&answer, &state) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "webauthn assertion refused");
                return Ok(false);
            }
        };
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT id, credential FROM second_factors \
             WHERE user_id = $1 AND kind = 'webauthn' AND credential_id = $2",
        )
        .bind(user_id)
        .bind(credential_key(result.cred_id()))
        .fetch_optional(tx.conn())
        .await?;
        let Some((id, stored)) = row else {
            return Ok(false);
        };
        let mut key: Passkey = serde_json::from_str(&stored).map_err(internal)?;
        key.update_credential(&result);
        sqlx::query("UPDATE second_factors SET credential = $1, last_used_at = $2 WHERE id = $3")
            .bind(serde_json::to_string(&key).map_err(internal)?)
            .bind(now)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_short_and_printable() {
        assert_eq!(
            device_name("  YubiKey 5 ").ok().as_deref(),
            Some("YubiKey 5")
        );
        assert!(device_name("").is_err());
        assert!(device_name("a\u{7}b").is_err());
        assert!(device_name(&"k".repeat(65)).is_err());
    }

    #[test]
    fn a_relying_party_needs_a_host_name() {
        assert!(relying_party("http://127.0.0.1:8080").is_none());
        assert!(relying_party("http://localhost:8080").is_some());
        assert!(relying_party("https://kapu.example.hu").is_some());
    }
}
