//! System variables as actors see and change them.

use serde_json::json;

use crate::Kapu;
use crate::access::{Actor, policy};
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::settings::{SettingView, definition, normalise};

impl Kapu {
    /// The variables as seen from `tenant_code` (the actor's own tenant when `None`).
    pub async fn list_settings(
        &self,
        actor: &Actor,
        tenant_code: Option<&str>,
    ) -> Result<Vec<SettingView>> {
        policy::read_settings(actor)?;
        let tenant_id = self.settings_tenant(actor, tenant_code).await?;
        self.settings().list(Some(&tenant_id)).await
    }

    pub async fn get_setting(
        &self,
        actor: &Actor,
        name: &str,
        tenant_code: Option<&str>,
    ) -> Result<SettingView> {
        policy::read_settings(actor)?;
        let tenant_id = self.settings_tenant(actor, tenant_code).await?;
        self.settings().view(name, Some(&tenant_id)).await
    }

    async fn settings_tenant(&self, actor: &Actor, tenant_code: Option<&str>) -> Result<String> {
        match tenant_code {
            None => Ok(actor.tenant_id.clone()),
            Some(code) => {
                let t = self.tenant_by_code(code).await?;
                policy::read_tenant(actor, &t.id)?;
                Ok(t.id)
            }
        }
    }

    /// Changes the central value; tenant values of an overridable variable follow it.
    pub async fn set_global_setting(
        &self,
        actor: &Actor,
        name: &str,
        value: &str,
    ) -> Result<SettingView> {
        policy::write_global_settings(actor)?;
        let def = definition(name).ok_or(Error::NotFound)?;
        let value = normalise(def, value).map_err(|k| Error::field("value", k))?;
        let before = self.settings().view(name, None).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        self.settings()
            .set_global(&mut tx, name, &value, now)
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("setting.set_global", "success")
                .target("setting", name, name)
                .details(json!({"old": before.global_value, "new": value})),
        )
        .await?;
        tx.commit().await?;
        self.settings().invalidate();
        self.settings().view(name, Some(&actor.tenant_id)).await
    }

    /// Sets (or with `None` clears) a tenant's own value of an overridable variable.
    pub async fn set_tenant_setting(
        &self,
        actor: &Actor,
        tenant_code: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<SettingView> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_tenant_settings(actor, &tenant.id)?;
        let def = definition(name).ok_or(Error::NotFound)?;
        if !def.overridable {
            return Err(Error::field("value", "setting.not_overridable"));
        }
        let value = match value {
            Some(v) => Some(normalise(def, v).map_err(|k| Error::field("value", k))?),
            None => None,
        };
        let before = self.settings().view(name, Some(&tenant.id)).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        self.settings()
            .set_tenant(&mut tx, name, &tenant.id, value.as_deref(), now)
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("setting.set_tenant", "success")
                .tenant(&tenant.id)
                .target("setting", name, name)
                .details(json!({"old": before.tenant_value, "new": value})),
        )
        .await?;
        tx.commit().await?;
        self.settings().invalidate();
        self.settings().view(name, Some(&tenant.id)).await
    }
}
