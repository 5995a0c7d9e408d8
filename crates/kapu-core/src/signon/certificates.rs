//! Client certificates (the manual's "CA azonosítás" and software certificates): bound to a
//! user by fingerprint and subject like a device, one certificate to one user of a tenant.
//! A valid bound certificate presented on the connection is the possession factor.

use base64::Engine as _;
use serde_json::json;

use super::devices::{NewDevice, bind_device, refuse_bound_elsewhere};
use super::factors::Confirmed;
use super::login::AMR_CERT;
use super::second_step::FactorKind;
use super::webauthn::device_name;
use crate::Kapu;
use crate::actor::{Actor, ClientCert, RequestCtx, policy};
use crate::error::{Error, Result};
use crate::identity::users::UserRow;
use crate::platform::crypto::sha256_hex;
use crate::platform::db::WriteTx;

/// Reads a DER-encoded X.509 certificate.
pub fn parse_der(der: &[u8]) -> Result<ClientCert> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| Error::field("certificate", "certificate.invalid"))?;
    if !rest.is_empty() {
        return Err(Error::field("certificate", "certificate.invalid"));
    }
    let validity = cert.validity();
    Ok(ClientCert {
        fingerprint: sha256_hex(der),
        subject: cert.subject().to_string(),
        not_before: validity.not_before.timestamp().saturating_mul(1000),
        not_after: validity.not_after.timestamp().saturating_mul(1000),
    })
}

/// Reads a PEM-encoded certificate (the first block).
pub fn parse_pem(pem: &str) -> Result<ClientCert> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes())
        .map_err(|_| Error::field("certificate", "certificate.invalid"))?;
    if block.label != "CERTIFICATE" {
        return Err(Error::field("certificate", "certificate.invalid"));
    }
    parse_der(&block.contents)
}

/// A certificate as a reverse proxy forwards it: URL-encoded PEM (nginx's
/// `$ssl_client_escaped_cert`, Traefik) or bare base64 DER. None when unreadable or empty.
pub fn from_proxy_header(value: &str) -> Option<ClientCert> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    if decoded.contains("-----BEGIN") {
        return parse_pem(&decoded).ok();
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(decoded.as_bytes())
        .ok()?;
    parse_der(&der).ok()
}

impl ClientCert {
    pub fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// The name a binding gets when none is given: the subject.
    fn default_name(&self) -> String {
        self.subject.chars().take(64).collect()
    }
}

impl Kapu {
    /// Binds the certificate this connection presents to the session user, after a fresh
    /// password check.
    pub async fn bind_my_certificate(
        &self,
        actor: &Actor,
        password: &str,
        name: Option<&str>,
    ) -> Result<Confirmed> {
        self.may_enrol(actor).await?;
        self.recheck_password(actor, password).await?;
        let cert = actor
            .ctx
            .client_cert
            .clone()
            .ok_or(Error::Conflict("conflict.no_client_certificate"))?;
        let user = self.user_by_id(actor.session_user_id()).await?;
        self.bind_certificate(actor, &user, &cert, name).await
    }

    /// A user maintainer, in secure mode, binds a user's certificate given in PEM.
    pub async fn bind_user_certificate(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        pem: &str,
        name: Option<&str>,
    ) -> Result<Confirmed> {
        let user = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        let cert = parse_pem(pem)?;
        self.bind_certificate(actor, &user, &cert, name).await
    }

    async fn bind_certificate(
        &self,
        actor: &Actor,
        user: &UserRow,
        cert: &ClientCert,
        name: Option<&str>,
    ) -> Result<Confirmed> {
        let now = self.now();
        if !cert.valid_at(now) {
            return Err(Error::field("certificate", "certificate.not_valid_now"));
        }
        let name = match name.filter(|n| !n.trim().is_empty()) {
            Some(n) => device_name(n)?,
            None => cert.default_name(),
        };
        let mut tx = self.db().write().await?;
        refuse_bound_elsewhere(&mut tx, user, FactorKind::Certificate, &cert.fingerprint).await?;
        bind_device(
            tx,
            actor,
            user,
            NewDevice {
                kind: FactorKind::Certificate,
                name,
                credential_id: &cert.fingerprint,
                credential: &cert.subject,
                amr: AMR_CERT,
                details: json!({"subject": cert.subject, "fingerprint": cert.fingerprint}),
            },
            now,
        )
        .await
    }

    /// Whether the connection presents a valid certificate bound to the user.
    pub(crate) async fn presents_bound_certificate(
        &self,
        ctx: &RequestCtx,
        user_id: &str,
        now: i64,
    ) -> Result<bool> {
        let Some(cert) = ctx.client_cert.as_ref().filter(|c| c.valid_at(now)) else {
            return Ok(false);
        };
        let bound: Option<String> = sqlx::query_scalar(
            "SELECT id FROM second_factors WHERE user_id = $1 AND kind = 'certificate' AND credential_id = $2",
        )
        .bind(user_id)
        .bind(&cert.fingerprint)
        .fetch_optional(self.db().pool())
        .await?;
        Ok(bound.is_some())
    }
}

/// The certificate of the connection as a second step's answer: valid, and bound to the user.
pub(crate) async fn accept_certificate(
    tx: &mut WriteTx,
    ctx: &RequestCtx,
    user_id: &str,
    now: i64,
) -> Result<bool> {
    let Some(cert) = ctx.client_cert.as_ref().filter(|c| c.valid_at(now)) else {
        return Ok(false);
    };
    let used = sqlx::query(
        "UPDATE second_factors SET last_used_at = $1 \
         WHERE user_id = $2 AND kind = 'certificate' AND credential_id = $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(&cert.fingerprint)
    .execute(tx.conn())
    .await?;
    Ok(used.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_no_certificate() {
        assert!(parse_der(b"not a certificate").is_err());
        assert!(parse_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
        assert!(from_proxy_header("").is_none());
        assert!(from_proxy_header("%%%").is_none());
        assert!(from_proxy_header("bm90IGEgY2VydA==").is_none());
    }

    #[test]
    fn validity_includes_both_ends() {
        let c = ClientCert {
            fingerprint: String::new(),
            subject: "CN=x".into(),
            not_before: 10,
            not_after: 20,
        };
        assert!(!c.valid_at(9));
        assert!(c.valid_at(10) && c.valid_at(20));
        assert!(!c.valid_at(21));
    }
}
