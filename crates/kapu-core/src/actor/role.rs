//! Kapu's own roles (manual 4.4).

use serde::{Serialize, Serializer};

/// Kapu's own service in the catalogue; always in effect, whatever a tenant's contract.
pub const KAPU_SERVICE: &str = "kapu";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Every user holds it without a grant.
    FrameworkUser,
    LogReader,
    FrameworkAdmin,
    UserMaintainer,
    RightsAdmin,
    VirAdmin,
    VirReader,
    PartnerRecorder,
    PartnerCorrector,
    PartnerMerger,
    PartnerCertifier,
    PartnerReader,
    /// Manages every entry of the tenant's two-factor vault.
    VaultAdmin,
}

impl Role {
    pub const ALL: [Role; 13] = [
        Role::FrameworkUser,
        Role::LogReader,
        Role::FrameworkAdmin,
        Role::UserMaintainer,
        Role::RightsAdmin,
        Role::VirAdmin,
        Role::VirReader,
        Role::PartnerRecorder,
        Role::PartnerCorrector,
        Role::PartnerMerger,
        Role::PartnerCertifier,
        Role::PartnerReader,
        Role::VaultAdmin,
    ];

    /// The administrative roles a central tenant's first administrator receives.
    pub const CENTRAL_ADMIN: [Role; 4] = [
        Role::LogReader,
        Role::FrameworkAdmin,
        Role::UserMaintainer,
        Role::RightsAdmin,
    ];

    /// What a tenant's primary user administrator receives (manual 4.6).
    pub const PRIMARY_ADMIN: [Role; 3] =
        [Role::UserMaintainer, Role::LogReader, Role::FrameworkAdmin];

    pub fn code(self) -> &'static str {
        match self {
            Role::FrameworkUser => "framework_user",
            Role::LogReader => "log_reader",
            Role::FrameworkAdmin => "framework_admin",
            Role::UserMaintainer => "user_maintainer",
            Role::RightsAdmin => "rights_admin",
            Role::VirAdmin => "vir_admin",
            Role::VirReader => "vir_reader",
            Role::PartnerRecorder => "partner_recorder",
            Role::PartnerCorrector => "partner_corrector",
            Role::PartnerMerger => "partner_merger",
            Role::PartnerCertifier => "partner_certifier",
            Role::PartnerReader => "partner_reader",
            Role::VaultAdmin => "vault_admin",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The role's id in the role catalogue: Kapu's own service is `kapu`.
    pub fn id(self) -> String {
        format!("{KAPU_SERVICE}.{}", self.code())
    }

    pub fn from_id(id: &str) -> Option<Role> {
        id.strip_prefix("kapu.").and_then(Role::parse)
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
