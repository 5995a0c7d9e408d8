//! Statistics of second factors (manual 12.2.4, FW-08): per tenant, who has a factor of each
//! kind, who logged in with one in a period, and the temporary permits in force.

use std::collections::HashMap;

use serde::Serialize;

use crate::Kapu;
use crate::access::{Actor, policy};
use crate::error::{Error, Result};
use crate::platform::clock::DAY;
use crate::platform::time_fmt;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct TenantFactorStatistics {
    pub tenant: String,
    pub name: String,
    pub users: i64,
    /// Users with at least one factor, and with one of each kind.
    pub with_any_factor: i64,
    pub with_totp: i64,
    pub with_webauthn: i64,
    pub with_certificate: i64,
    /// Distinct users who logged in within the period with each kind.
    pub logins_with_totp: i64,
    pub logins_with_webauthn: i64,
    pub logins_with_certificate: i64,
    pub logins_with_permit: i64,
    pub permits_in_force: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FactorStatistics {
    /// RFC 3339; the period of the login counts, `from` included, `to` excluded.
    pub from: String,
    pub to: String,
    pub tenants: Vec<TenantFactorStatistics>,
}

/// Tenant id, code, name; users; holders of any factor, of TOTP, keys, certificates.
type HolderRow = (String, String, String, i64, i64, i64, i64, i64);

/// The amr a login was opened with, as its audit record's details hold it.
const LOGIN_AMR: [&str; 4] = [
    "%\"amr\":\"pwd otp mfa\"%",
    "%\"amr\":\"pwd hwk mfa\"%",
    "%\"amr\":\"pwd swk mfa\"%",
    "%\"amr\":\"pwd permit\"%",
];

impl Kapu {
    /// Central framework administrators see every tenant; others their own. The period
    /// defaults to the last 30 days.
    pub async fn factor_statistics(
        &self,
        actor: &Actor,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<FactorStatistics> {
        policy::read_settings(actor)?;
        let now = self.now();
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - 30 * DAY);
        if from >= to {
            return Err(Error::field("from", "stats.period_invalid"));
        }
        let only: Option<&str> = (!actor.central).then_some(actor.tenant_id.as_str());
        let holders: Vec<HolderRow> = sqlx::query_as(
            "SELECT t.id, t.code, t.name, COUNT(DISTINCT u.id), COUNT(DISTINCT f.user_id), \
             COUNT(DISTINCT CASE WHEN f.kind = 'totp' THEN f.user_id END), \
             COUNT(DISTINCT CASE WHEN f.kind = 'webauthn' THEN f.user_id END), \
             COUNT(DISTINCT CASE WHEN f.kind = 'certificate' THEN f.user_id END) \
             FROM tenants t LEFT JOIN users u ON u.tenant_id = t.id AND u.deleted_at IS NULL \
             LEFT JOIN second_factors f ON f.user_id = u.id AND f.confirmed_at IS NOT NULL \
             WHERE ($1 IS NULL OR t.id = $1) GROUP BY t.id, t.code, t.name ORDER BY t.code",
        )
        .bind(only)
        .fetch_all(self.db().pool())
        .await?;
        let logins: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT tenant_id, \
             COUNT(DISTINCT CASE WHEN details LIKE $4 THEN actor_id END), \
             COUNT(DISTINCT CASE WHEN details LIKE $5 THEN actor_id END), \
             COUNT(DISTINCT CASE WHEN details LIKE $6 THEN actor_id END), \
             COUNT(DISTINCT CASE WHEN details LIKE $7 THEN actor_id END) \
             FROM audit_log WHERE action = 'login' AND outcome IN ('success', 'password_expired') \
             AND at >= $1 AND at < $2 AND tenant_id IS NOT NULL AND ($3 IS NULL OR tenant_id = $3) \
             GROUP BY tenant_id",
        )
        .bind(from)
        .bind(to)
        .bind(only)
        .bind(LOGIN_AMR[0])
        .bind(LOGIN_AMR[1])
        .bind(LOGIN_AMR[2])
        .bind(LOGIN_AMR[3])
        .fetch_all(self.db().pool())
        .await?;
        let permits: Vec<(String, i64)> = sqlx::query_as(
            "SELECT tenant_id, COUNT(*) FROM temporary_permits \
             WHERE revoked_at IS NULL AND valid_until > $1 GROUP BY tenant_id",
        )
        .bind(now)
        .fetch_all(self.db().pool())
        .await?;
        let logins: HashMap<String, [i64; 4]> = logins
            .into_iter()
            .map(|(t, a, b, c, d)| (t, [a, b, c, d]))
            .collect();
        let permits: HashMap<String, i64> = permits.into_iter().collect();
        let tenants = holders
            .into_iter()
            .map(
                |(id, code, name, users, any, totp, webauthn, certificate)| {
                    let [l_totp, l_webauthn, l_certificate, l_permit] =
                        logins.get(&id).copied().unwrap_or_default();
                    TenantFactorStatistics {
                        tenant: code,
                        name,
                        users,
                        with_any_factor: any,
                        with_totp: totp,
                        with_webauthn: webauthn,
                        with_certificate: certificate,
                        logins_with_totp: l_totp,
                        logins_with_webauthn: l_webauthn,
                        logins_with_certificate: l_certificate,
                        logins_with_permit: l_permit,
                        permits_in_force: permits.get(&id).copied().unwrap_or(0),
                    }
                },
            )
            .collect();
        Ok(FactorStatistics {
            from: time_fmt::rfc3339(from),
            to: time_fmt::rfc3339(to),
            tenants,
        })
    }
}
