//! Who may open a mailbox. Office mailbox rights are roles of the built-in `hkp` service
//! (`hkp.<SHORT>.read|send|manage`), so grants, groups and substitutions give them like any
//! other role. A personal mailbox is its owner's alone; a deputy acting for someone does not
//! open the principal's personal mail. A mailbox the caller may not open is reported missing.

use crate::actor::Actor;
use crate::error::{Error, Result};

pub const SERVICE: &str = "hkp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Read,
    Send,
    Manage,
}

impl Right {
    pub const ALL: [Right; 3] = [Right::Read, Right::Send, Right::Manage];

    pub fn code(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Send => "send",
            Right::Manage => "manage",
        }
    }
}

pub fn role_id(short_name: &str, right: Right) -> String {
    format!("{SERVICE}.{short_name}.{}", right.code())
}

/// Whether `id` is [`role_id`]`(short_name, right)`, without building it.
fn is_role(id: &str, short_name: &str, right: Right) -> bool {
    id.strip_prefix(SERVICE)
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_prefix(short_name))
        .and_then(|r| r.strip_prefix('.'))
        == Some(right.code())
}

/// What the check needs of a mailbox.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Office {
        tenant_id: &'a str,
        short_name: &'a str,
    },
    Person {
        user_id: &'a str,
    },
}

pub fn holds(actor: &Actor, owner: Owner<'_>, right: Right) -> bool {
    match owner {
        Owner::Person { user_id } => actor.deputy.is_none() && actor.user_id == user_id,
        Owner::Office {
            tenant_id,
            short_name,
        } => {
            actor.tenant_id == tenant_id
                && actor.role_ids.iter().any(|r| is_role(r, short_name, right))
        }
    }
}

pub fn check(actor: &Actor, owner: Owner<'_>, right: Right) -> Result<()> {
    if holds(actor, owner, right) {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Deputy, Mode, RequestCtx};

    fn actor(tenant: &str, roles: &[&str]) -> Actor {
        let mut role_ids: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        role_ids.sort();
        Actor {
            user_id: "u1".into(),
            login: "a.b".into(),
            full_name: "A B".into(),
            tenant_id: tenant.into(),
            tenant_code: tenant.into(),
            tenant_name: tenant.into(),
            central: false,
            mode: Mode::Normal,
            roles: vec![],
            role_ids,
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
    fn an_office_mailbox_opens_with_its_role_in_its_tenant_only() {
        let office = Owner::Office {
            tenant_id: "t1",
            short_name: "MEH-EKK",
        };
        let clerk = actor("t1", &["hkp.MEH-EKK.read"]);
        assert!(check(&clerk, office, Right::Read).is_ok());
        assert!(matches!(
            check(&clerk, office, Right::Send),
            Err(Error::NotFound)
        ));
        let elsewhere = actor("t2", &["hkp.MEH-EKK.read"]);
        assert!(check(&elsewhere, office, Right::Read).is_err());
    }

    #[test]
    fn a_personal_mailbox_is_its_owners_and_not_a_deputys() {
        let mut a = actor("t1", &[]);
        assert!(check(&a, Owner::Person { user_id: "u1" }, Right::Read).is_ok());
        assert!(check(&a, Owner::Person { user_id: "u2" }, Right::Read).is_err());
        a.deputy = Some(Deputy {
            user_id: "u9".into(),
            login: "d@t1".into(),
            full_name: "D".into(),
        });
        assert!(check(&a, Owner::Person { user_id: "u1" }, Right::Read).is_err());
    }
}
