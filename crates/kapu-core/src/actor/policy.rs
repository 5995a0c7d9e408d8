//! Authorisation rules as plain functions of the actor and the object's tenant.
//! Another tenant's objects are reported as missing, never as forbidden, so their existence
//! does not leak.

use super::{Actor, Mode, Role};
use crate::error::{Error, Result};

fn same_tenant_or_central(actor: &Actor, tenant_id: &str) -> Result<()> {
    if actor.central || actor.tenant_id == tenant_id {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

fn secure(actor: &Actor) -> Result<()> {
    if actor.mode == Mode::Secure {
        Ok(())
    } else {
        Err(Error::SecureModeRequired)
    }
}

fn any_role(actor: &Actor, roles: &[Role]) -> Result<()> {
    if roles.iter().any(|r| actor.has(*r)) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub fn read_users(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)?;
    any_role(actor, &[Role::UserMaintainer, Role::RightsAdmin])
}

pub fn write_users(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)?;
    any_role(actor, &[Role::UserMaintainer])?;
    secure(actor)
}

/// Deleting a user is open to user maintainers and rights administrators (manual 9.12).
pub fn delete_users(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)?;
    any_role(actor, &[Role::UserMaintainer, Role::RightsAdmin])?;
    secure(actor)
}

/// Role and group assignments: user maintainers and rights administrators (manual 9.4–9.6).
pub fn manage_rights(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)?;
    any_role(actor, &[Role::UserMaintainer, Role::RightsAdmin])?;
    secure(actor)
}

/// The service catalogue is the centre's.
pub fn manage_catalog(actor: &Actor) -> Result<()> {
    if !actor.central {
        return Err(Error::Forbidden);
    }
    any_role(actor, &[Role::FrameworkAdmin])?;
    secure(actor)
}

/// Temporary permits are the centre's word alone (manual 5.4): central user maintainers
/// and framework administrators, in secure mode.
pub fn issue_permits(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)?;
    if !actor.central {
        return Err(Error::Forbidden);
    }
    any_role(actor, &[Role::UserMaintainer, Role::FrameworkAdmin])?;
    secure(actor)
}

pub fn read_tenant(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)
}

pub fn manage_tenants(actor: &Actor) -> Result<()> {
    if !actor.central {
        return Err(Error::Forbidden);
    }
    any_role(actor, &[Role::FrameworkAdmin, Role::UserMaintainer])?;
    secure(actor)
}

pub fn read_audit(actor: &Actor, tenant_id: Option<&str>) -> Result<()> {
    if let Some(t) = tenant_id {
        same_tenant_or_central(actor, t)?;
    }
    any_role(actor, &[Role::LogReader])
}

pub fn read_settings(actor: &Actor) -> Result<()> {
    any_role(actor, &[Role::FrameworkAdmin])
}

pub fn write_global_settings(actor: &Actor) -> Result<()> {
    if !actor.central {
        return Err(Error::Forbidden);
    }
    any_role(actor, &[Role::FrameworkAdmin])?;
    secure(actor)
}

pub fn write_tenant_settings(actor: &Actor, tenant_id: &str) -> Result<()> {
    same_tenant_or_central(actor, tenant_id)?;
    any_role(actor, &[Role::FrameworkAdmin])?;
    secure(actor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::RequestCtx;

    fn actor(tenant: &str, central: bool, mode: Mode, roles: &[Role]) -> Actor {
        Actor {
            user_id: "u".into(),
            login: "a.b".into(),
            full_name: "A B".into(),
            tenant_id: tenant.into(),
            tenant_code: tenant.into(),
            tenant_name: tenant.into(),
            central,
            mode,
            roles: roles.to_vec(),
            role_ids: roles.iter().map(|r| r.id()).collect(),
            deputy: None,
            identity_pending: false,
            session_id: "s".into(),
            csrf: "c".into(),
            restricted: false,
            enrol_only: false,
            amr: vec!["pwd".into()],
            technical: false,
            ctx: RequestCtx::default(),
        }
    }

    #[test]
    fn another_tenants_users_are_invisible_not_forbidden() {
        let a = actor("t1", false, Mode::Secure, &[Role::UserMaintainer]);
        assert!(matches!(read_users(&a, "t2"), Err(Error::NotFound)));
        assert!(read_users(&a, "t1").is_ok());
    }

    #[test]
    fn writes_need_secure_mode_and_the_role() {
        let normal = actor("t1", false, Mode::Normal, &[Role::UserMaintainer]);
        assert!(matches!(
            write_users(&normal, "t1"),
            Err(Error::SecureModeRequired)
        ));
        let clerk = actor("t1", false, Mode::Secure, &[]);
        assert!(matches!(write_users(&clerk, "t1"), Err(Error::Forbidden)));
    }

    #[test]
    fn central_administrators_reach_every_tenant_but_tenant_admins_cannot_make_tenants() {
        let central = actor("c", true, Mode::Secure, &Role::CENTRAL_ADMIN);
        assert!(write_users(&central, "t9").is_ok());
        assert!(manage_tenants(&central).is_ok());
        let tenant_admin = actor("t1", false, Mode::Secure, &Role::PRIMARY_ADMIN);
        assert!(matches!(
            manage_tenants(&tenant_admin),
            Err(Error::Forbidden)
        ));
    }
}
