//! The one domain error. Each front door renders it its own way (JSON, page, SOAP status).

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A message key for one field of a refused input; the door translates the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
}

impl FieldError {
    pub fn new(field: &'static str, key: &'static str) -> Self {
        FieldError { field, key }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Temporary and administrative locks answer alike, and so do names without an account,
    /// so that the answer tells nothing about which accounts exist.
    #[error("account locked")]
    AccountLocked,
    #[error("password expired")]
    PasswordExpired,
    /// The second step of a login: the answer was wrong (the challenge goes on); what was
    /// answered says what to try next.
    #[error("second factor invalid")]
    SecondFactorInvalid(WrongAnswer),
    /// The second step's challenge is unknown, used, expired, or ended by wrong codes.
    #[error("login challenge invalid")]
    ChallengeInvalid,
    /// Too many wrong codes: the account's second step is locked for a while.
    #[error("second factor locked")]
    SecondFactorLocked { retry_after_secs: i64 },
    /// The tenant accepts a password only with a bound certificate on the connection.
    #[error("client certificate required")]
    ClientCertificateRequired,
    /// The user must have a second factor and has none.
    #[error("second factor enrolment required")]
    SecondFactorEnrolmentRequired,
    /// A session that may only add a second factor asked for something else.
    #[error("second factor enrolment first")]
    EnrolFirst,
    /// A login on a temporary permit asked for more than binding one replacement device.
    #[error("not on a temporary permit")]
    PermitSession,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("secure mode required")]
    SecureModeRequired,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The key names what collided (`conflict.login_taken`, …).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// One device, one user per tenant: the device is bound to the named user already.
    #[error("device bound to another user")]
    DeviceBound { holder: String },
    #[error("too many attempts")]
    Throttled { retry_after_secs: i64 },
    /// The account sent as many messages this hour (or as many bytes today) as it may.
    #[error("send limit reached")]
    SendLimit { retry_after_secs: i64, volume: bool },
    #[error("link invalid or expired")]
    LinkInvalid,
    #[error("not authenticated")]
    Unauthenticated,
    /// It existed, but is gone for good (the key names what: `gone.document_purged`, …).
    #[error("gone: {0}")]
    Gone(&'static str),
    /// An upload passed a size limit; nothing of it was kept.
    #[error("too large")]
    TooLarge,
    /// The vault must be unlocked (again) in this session before it is used.
    #[error("vault locked")]
    VaultLocked,
    /// Too many wrong vault PINs: only the password unlocks the vault.
    #[error("vault PIN locked")]
    VaultPinLocked,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn field(field: &'static str, key: &'static str) -> Self {
        Error::Validation(vec![FieldError::new(field, key)])
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidCredentials => "invalid_credentials",
            Error::AccountLocked => "account_locked",
            Error::PasswordExpired => "password_expired",
            Error::SecondFactorInvalid(_) => "second_factor_invalid",
            Error::ChallengeInvalid => "challenge_invalid",
            Error::SecondFactorLocked { .. } => "second_factor_locked",
            Error::SecondFactorEnrolmentRequired | Error::EnrolFirst => {
                "second_factor_enrolment_required"
            }
            Error::ClientCertificateRequired => "client_certificate_required",
            Error::PermitSession => "permit_session",
            Error::Validation(_) => "validation_failed",
            Error::SecureModeRequired => "secure_mode_required",
            Error::Forbidden => "forbidden",
            Error::NotFound => "not_found",
            Error::Conflict(_) => "conflict",
            Error::DeviceBound { .. } => "device_bound",
            Error::Throttled { .. } | Error::SendLimit { .. } => "too_many_requests",
            Error::LinkInvalid => "link_invalid",
            Error::Unauthenticated => "unauthenticated",
            Error::TooLarge => "payload_too_large",
            Error::VaultLocked => "vault_locked",
            Error::VaultPinLocked => "vault_pin_locked",
            Error::Gone(_) => "gone",
            e if e.is_unavailable() => "unavailable",
            Error::Database(_) | Error::Migration(_) | Error::Internal(_) => "internal",
        }
    }

    /// Message key of the catalogue that explains the error to a person.
    pub fn message_key(&self) -> &'static str {
        match self {
            Error::InvalidCredentials => "error.invalid_credentials",
            Error::AccountLocked => "error.account_locked",
            Error::PasswordExpired => "error.password_expired",
            Error::SecondFactorInvalid(WrongAnswer::Code) => "error.second_factor_invalid",
            Error::SecondFactorInvalid(WrongAnswer::RecoveryCode) => "error.recovery_code_invalid",
            Error::SecondFactorInvalid(WrongAnswer::SecurityKey) => "error.security_key_failed",
            Error::SecondFactorInvalid(WrongAnswer::Other) => "error.second_step_failed",
            Error::ChallengeInvalid => "error.challenge_invalid",
            Error::SecondFactorLocked { .. } => "error.second_factor_locked",
            Error::SecondFactorEnrolmentRequired => "error.second_factor_enrolment_required",
            Error::EnrolFirst => "error.enrol_first",
            Error::PermitSession => "error.permit_session",
            Error::ClientCertificateRequired => "error.client_certificate_required",
            Error::Validation(_) => "error.validation_failed",
            Error::SecureModeRequired => "error.secure_mode_required",
            Error::Forbidden => "error.forbidden",
            Error::NotFound => "error.not_found",
            Error::Conflict(key) => key,
            Error::DeviceBound { .. } => "error.device_bound",
            Error::Throttled { .. } => "error.throttled",
            Error::SendLimit { volume: false, .. } => "error.send_rate",
            Error::SendLimit { volume: true, .. } => "error.send_volume",
            Error::LinkInvalid => "error.link_invalid",
            Error::Unauthenticated => "error.unauthenticated",
            Error::TooLarge => "error.too_large",
            Error::VaultLocked => "error.vault_locked",
            Error::VaultPinLocked => "error.vault_pin_locked",
            Error::Gone(key) => key,
            e if e.is_unavailable() => "error.unavailable",
            Error::Database(_) | Error::Migration(_) | Error::Internal(_) => "error.internal",
        }
    }

    pub fn is_unexpected(&self) -> bool {
        matches!(
            self,
            Error::Database(_) | Error::Migration(_) | Error::Internal(_)
        ) && !self.is_unavailable()
    }

    /// The database could not be reached, or dropped the connection: a passing state (a
    /// restart, a fail-over) that the caller may retry, not a fault of the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Database(e) => connection_lost(e),
            _ => false,
        }
    }

    /// Maps a unique-constraint violation to `Conflict(key)`; passes other errors through.
    pub fn on_unique(e: sqlx::Error, key: &'static str) -> Error {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return Error::Conflict(key);
        }
        Error::Database(e)
    }

    /// [`Error::on_unique`] for an error already turned into an [`Error`].
    pub fn unique_as(self, key: &'static str) -> Error {
        match self {
            Error::Database(e) => Error::on_unique(e, key),
            e => e,
        }
    }
}

/// Whether a database error means the connection, not the statement, failed.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        // PostgreSQL's connection exceptions (class 08), its shutdown and start-up refusals
        // (57P01–57P03), and too many connections (53300).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_unavailable_and_a_bad_statement_is_not() {
        let lost = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for e in [sqlx::Error::Io(lost), sqlx::Error::PoolTimedOut] {
            let e = Error::Database(e);
            assert!(e.is_unavailable() && !e.is_unexpected());
            assert_eq!(e.code(), "unavailable");
        }
        let e = Error::Database(sqlx::Error::RowNotFound);
        assert!(!e.is_unavailable() && e.is_unexpected());
        assert_eq!(e.code(), "internal");
    }
}

/// What a wrong second-step answer was, for the message that says what to try next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongAnswer {
    Code,
    RecoveryCode,
    SecurityKey,
    Other,
}
