//! Who acts: the request context, the [`Actor`] resolved from a session, Kapu's own roles and
//! the authorisation rules over them. The bottom room: every other room may use it, it uses
//! none of them.

pub mod policy;
mod role;

pub use role::{KAPU_SERVICE, Role};

/// Who acted, as recorded. Empty for anonymous requests (a failed login names only the address).
#[derive(Debug, Clone, Default)]
pub struct AuditActor {
    pub user_id: Option<String>,
    pub login: Option<String>,
    pub on_behalf_of: Option<String>,
}

/// Where a request came from; stamped on every audit record.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub client_addr: String,
    pub request_id: String,
    /// The client certificate the connection presented (TLS, or a trusted proxy's header).
    pub client_cert: Option<ClientCert>,
}

/// A client certificate as the connection presented it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// SHA-256 of the DER encoding, lower-case hex: what a binding keeps.
    pub fingerprint: String,
    pub subject: String,
    /// Its validity, UTC milliseconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// Normal mode reads administrative data; writes need a secure-mode login.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
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
    /// Kapu's own roles in effect.
    pub roles: Vec<Role>,
    /// Every role in effect, of every service (`service.role`).
    pub role_ids: Vec<String>,
    /// Set when a deputy acts for the principal named above.
    pub deputy: Option<Deputy>,
    /// A deputy has yet to choose whose identity the session acts in.
    pub identity_pending: bool,
    pub session_id: String,
    pub csrf: String,
    /// An expired password: only changing it, reading oneself and logging out are allowed.
    pub restricted: bool,
    /// The user must have a second factor and has none: only enrolling one is allowed.
    pub enrol_only: bool,
    /// How the session was opened (RFC 8176: `pwd`, `otp`, `mfa`, ...).
    pub amr: Vec<String>,
    /// A technical user (a back office's program): machine doors only, never pages, never
    /// OpenID Connect.
    pub technical: bool,
    pub ctx: RequestCtx,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        role == Role::FrameworkUser || self.roles.contains(&role)
    }

    pub fn full_login(&self) -> String {
        format!("{}@{}", self.login, self.tenant_code)
    }

    /// Who really holds the session: the deputy when acting for someone, else the user.
    /// A self-registered citizen (of the citizens' tenant): lower send limits, Kapu's own
    /// references, and pages without the framework's tools.
    pub fn citizen(&self) -> bool {
        self.tenant_code == crate::identity::registration::CITIZEN_CODE
    }

    /// The session was opened on a temporary permit instead of a device.
    pub fn on_permit(&self) -> bool {
        self.amr.iter().any(|a| a == "permit")
    }

    pub fn session_user_id(&self) -> &str {
        match &self.deputy {
            Some(d) => &d.user_id,
            None => &self.user_id,
        }
    }

    /// Audit records of a deputy's session name both the deputy and the principal.
    pub fn audit(&self) -> AuditActor {
        match &self.deputy {
            Some(d) => AuditActor {
                user_id: Some(d.user_id.clone()),
                login: Some(d.login.clone()),
                on_behalf_of: Some(self.full_login()),
            },
            None => AuditActor {
                user_id: Some(self.user_id.clone()),
                login: Some(self.full_login()),
                on_behalf_of: None,
            },
        }
    }
}

/// The person behind a session that acts for someone else.
#[derive(Debug, Clone)]
pub struct Deputy {
    pub user_id: String,
    /// `name@tenant`.
    pub login: String,
    pub full_name: String,
}
