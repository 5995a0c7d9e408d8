//! Who acts: the [`Actor`], its roles, and the rules that say what it may do.

pub mod policy;
mod role;

pub use role::Role;

use crate::platform::audit::AuditActor;

/// Where a request came from; stamped on every audit record.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub client_addr: String,
    pub request_id: String,
}

/// Normal mode reads administrative data; writes need a secure-mode login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Normal,
    Secure,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Secure => "secure",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "normal" => Some(Mode::Normal),
            "secure" => Some(Mode::Secure),
            _ => None,
        }
    }
}

/// An authenticated caller, resolved from a session on every request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub login: String,
    pub full_name: String,
    pub tenant_id: String,
    pub tenant_code: String,
    pub tenant_name: String,
    /// Central-tenant administrators act across all tenants.
    pub central: bool,
    pub mode: Mode,
    pub roles: Vec<Role>,
    pub session_id: String,
    pub csrf: String,
    /// An expired password: only changing it, reading oneself and logging out are allowed.
    pub restricted: bool,
    pub ctx: RequestCtx,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        role == Role::FrameworkUser || self.roles.contains(&role)
    }

    pub fn full_login(&self) -> String {
        format!("{}@{}", self.login, self.tenant_code)
    }

    pub fn audit(&self) -> AuditActor {
        AuditActor {
            user_id: Some(self.user_id.clone()),
            login: Some(self.full_login()),
            on_behalf_of: None,
        }
    }
}
