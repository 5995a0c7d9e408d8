//! How a domain error looks to an API client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kapu_core::Error;
use kapu_core::platform::i18n::{self, Lang};

use crate::api::contract::{ErrorBody, ErrorDetail, FieldProblem};

use crate::context::current;

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::InvalidCredentials
        | Error::Unauthenticated
        | Error::SecondFactorInvalid(_)
        | Error::ChallengeInvalid => StatusCode::UNAUTHORIZED,
        Error::AccountLocked | Error::SecondFactorLocked { .. } | Error::VaultPinLocked => {
            StatusCode::LOCKED
        }
        Error::PasswordExpired
        | Error::SecureModeRequired
        | Error::Forbidden
        | Error::SecondFactorEnrolmentRequired
        | Error::EnrolFirst
        | Error::PermitSession
        | Error::ClientCertificateRequired
        | Error::VaultLocked => StatusCode::FORBIDDEN,
        Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Conflict(_) | Error::DeviceBound { .. } => StatusCode::CONFLICT,
        Error::Throttled { .. } | Error::SendLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::LinkInvalid | Error::Gone(_) => StatusCode::GONE,
        Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        e if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        Error::Database(_) | Error::Migration(_) | Error::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// How long a client waits before trying again while the database is unreachable: about
/// the time a database restart takes.
pub const UNAVAILABLE_RETRY_SECS: i64 = 2;

/// Seconds to put in `Retry-After`, where the error has them.
pub fn retry_after(e: &Error) -> Option<i64> {
    match e {
        Error::Throttled { retry_after_secs }
        | Error::SecondFactorLocked { retry_after_secs }
        | Error::SendLimit {
            retry_after_secs, ..
        } => Some(*retry_after_secs),
        e if e.is_unavailable() => Some(UNAVAILABLE_RETRY_SECS),
        _ => None,
    }
}

/// The message a person reads for this error.
pub fn message(e: &Error, lang: Lang, request_id: &str) -> String {
    match e {
        e if e.is_unexpected() => format!("{} ({request_id})", i18n::text(lang, "error.internal")),
        Error::DeviceBound { holder } => {
            i18n::text(lang, "error.device_bound").replace("{holder}", holder)
        }
        e => i18n::text(lang, e.message_key()).to_string(),
    }
}

pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let info = current();
        let e = self.0;
        if e.is_unexpected() {
            tracing::error!(request_id = %info.id, error = %e, "request failed");
        } else if e.is_unavailable() {
            tracing::warn!(request_id = %info.id, error = %e, "database unavailable");
        }
        let fields = match &e {
            Error::Validation(fields) => Some(
                fields
                    .iter()
                    .map(|f| FieldProblem {
                        field: f.field,
                        code: f.key,
                        message: i18n::text(info.lang, f.key).to_string(),
                    })
                    .collect(),
            ),
            _ => None,
        };
        let retry = retry_after(&e);
        let body = ErrorBody {
            error: ErrorDetail {
                code: e.code(),
                message: message(&e, info.lang, &info.id),
                request_id: info.id,
                fields,
                retry_after_seconds: retry,
            },
        };
        let mut response = (status_of(&e), Json(body)).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
