//! What binding a device (a security key or a certificate) has in common: one device, one
//! user per tenant; the row kept; recovery codes with one's own first factor; an enrol-only
//! session made whole; the business-log record.

use serde_json::{Value, json};

use super::factors::{Confirmed, FactorView, issue_recovery_codes_if_none};
use super::second_step::FactorKind;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::identity::users::UserRow;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::time_fmt;

/// A device about to be bound.
pub(crate) struct NewDevice<'a> {
    pub kind: FactorKind,
    pub name: String,
    /// What identifies the device across users: a key's credential id, a certificate's
    /// fingerprint.
    pub credential_id: &'a str,
    /// What the row keeps besides: a key's stored credential, a certificate's subject.
    pub credential: &'a str,
    /// How an enrol-only session is described once this device makes it whole.
    pub amr: &'static str,
    /// Extra fields of the business-log record.
    pub details: Value,
}

/// One device, one user per tenant: a device bound to someone else is refused with their
/// name, so the maintainer can sort it out.
pub(crate) async fn refuse_bound_elsewhere(
    tx: &mut WriteTx,
    user: &UserRow,
    kind: FactorKind,
    credential_id: &str,
) -> Result<()> {
    let holder: Option<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.full_name FROM second_factors f JOIN users u ON u.id = f.user_id \
         WHERE f.tenant_id = $1 AND f.kind = $2 AND f.credential_id = $3",
    )
    .bind(&user.tenant_id)
    .bind(kind.as_str())
    .bind(credential_id)
    .fetch_optional(tx.conn())
    .await?;
    match holder {
        None => Ok(()),
        Some((id, _)) if id == user.id => Err(Error::Conflict("conflict.device_already_yours")),
        Some((_, holder)) => Err(Error::DeviceBound { holder }),
    }
}

/// An enrol-only session becomes a full one: the factor just added proved itself.
pub(crate) async fn lift_enrol_only(tx: &mut WriteTx, actor: &Actor, amr: &str) -> Result<()> {
    if actor.enrol_only {
        sqlx::query("UPDATE sessions SET enrol_only = 0, amr = $1 WHERE id = $2")
            .bind(amr)
            .bind(&actor.session_id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Keeps a device bound to `user` by `actor` (the user, or a maintainer), and commits.
pub(crate) async fn bind_device(
    mut tx: WriteTx,
    actor: &Actor,
    user: &UserRow,
    device: NewDevice<'_>,
    now: i64,
) -> Result<Confirmed> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO second_factors (id, user_id, tenant_id, kind, name, credential_id, credential, \
         confirmed_at, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&user.tenant_id)
    .bind(device.kind.as_str())
    .bind(&device.name)
    .bind(device.credential_id)
    .bind(device.credential)
    .bind(now)
    .bind(actor.session_user_id())
    .execute(tx.conn())
    .await
    .map_err(|e| Error::on_unique(e, "conflict.device_bound"))?;
    let own = user.id == actor.session_user_id();
    super::permits::claim_replacement(&mut tx, actor, now).await?;
    // Recovery codes are the user's own to see: a maintainer's binding issues none, nor
    // does a login on a temporary permit.
    let codes = if own && !actor.on_permit() {
        issue_recovery_codes_if_none(&mut tx, &user.id, now).await?
    } else {
        None
    };
    if own {
        lift_enrol_only(&mut tx, actor, device.amr).await?;
    }
    let mut details =
        json!({"kind": device.kind, "user": user.full_login(), "by_maintainer": !own});
    if let (Some(map), Value::Object(extra)) = (details.as_object_mut(), device.details) {
        map.extend(extra);
    }
    audit::record(
        &mut tx,
        now,
        &actor.audit(),
        &actor.ctx,
        AuditEvent::new("factor.enrol", "success")
            .tenant(&user.tenant_id)
            .target("factor", &id, &device.name)
            .details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(Confirmed {
        factor: FactorView {
            id,
            kind: device.kind,
            name: device.name,
            created_at: time_fmt::rfc3339(now),
            bound_by: Some(actor.full_login()),
            last_used_at: None,
        },
        recovery_codes: codes,
    })
}
