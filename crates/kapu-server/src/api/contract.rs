//! The API contract's shared parts: the error body, the error responses operations list, the
//! list envelope and query parameters. The OpenAPI document is assembled from these and from
//! each handler's `#[utoipa::path]`, so it cannot drift from the code.

use kapu_core::identity::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code clients switch on.
    #[schema(value_type = ErrorCode)]
    pub code: &'static str,
    /// The explanation for a person, in the request's language.
    pub message: String,
    /// Also in the `x-request-id` header, the server log and the business log.
    pub request_id: String,
    /// With `validation_failed`: which fields were refused and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldProblem>>,
    /// With `too_many_requests` and a temporary lock: also in `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: &'static str,
    /// Message key, stable like `code`.
    pub code: &'static str,
    pub message: String,
}

/// The codes of [`ErrorDetail::code`].
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the values of a `&'static str`
pub enum ErrorCode {
    InvalidCredentials,
    AccountLocked,
    PasswordExpired,
    SecondFactorInvalid,
    ChallengeInvalid,
    SecondFactorLocked,
    SecondFactorEnrolmentRequired,
    ClientCertificateRequired,
    /// A login on a temporary permit binds one replacement device and nothing else.
    PermitSession,
    ValidationFailed,
    SecureModeRequired,
    Forbidden,
    NotFound,
    Conflict,
    DeviceBound,
    TooManyRequests,
    LinkInvalid,
    VaultLocked,
    VaultPinLocked,
    Unauthenticated,
    PayloadTooLarge,
    Gone,
    Unavailable,
    Internal,
}

/// No valid session: send a bearer token from `POST /session`.
#[derive(IntoResponses)]
#[response(status = 401)]
#[allow(dead_code)]
pub struct Unauthorized(ErrorBody);

/// Refused: a role is missing, secure mode is required, or the password has expired.
#[derive(IntoResponses)]
#[response(status = 403)]
#[allow(dead_code)]
pub struct Forbidden(ErrorBody);

/// No such object, or one the caller may not see (another tenant's objects look absent).
#[derive(IntoResponses)]
#[response(status = 404)]
#[allow(dead_code)]
pub struct NotFound(ErrorBody);

/// The change collides with existing data or a rule that keeps the tenant usable.
#[derive(IntoResponses)]
#[response(status = 409)]
#[allow(dead_code)]
pub struct Conflict(ErrorBody);

/// The one-time link is unknown, used or expired; or a document was deleted after its
/// retention period.
#[derive(IntoResponses)]
#[response(status = 410)]
#[allow(dead_code)]
pub struct Gone(ErrorBody);

/// The input breaks a rule; `fields` names each refused field.
#[derive(IntoResponses)]
#[response(status = 422)]
#[allow(dead_code)]
pub struct Unprocessable(ErrorBody);

/// Locked, for a while after failed logins or by an administrator. The answer is the same
/// for both, and for a name without an account, so it tells nothing about which exist.
#[derive(IntoResponses)]
#[response(status = 423)]
#[allow(dead_code)]
pub struct Locked(ErrorBody);

/// Too many attempts from this address: wait and try again.
#[derive(IntoResponses)]
#[response(status = 429, headers(("Retry-After" = i64, description = "Seconds to wait")))]
#[allow(dead_code)]
pub struct TooManyRequests(ErrorBody);

/// An upload passed the size limit of a document or a message; nothing of it was kept.
#[derive(IntoResponses)]
#[response(status = 413)]
#[allow(dead_code)]
pub struct TooLarge(ErrorBody);

/// An unexpected failure; the message carries the request id.
#[derive(IntoResponses)]
#[response(status = 500)]
#[allow(dead_code)]
pub struct Internal(ErrorBody);

/// The database is briefly unreachable (a restart, a fail-over); nothing was changed. A
/// read was already retried once on a fresh connection. Every operation can answer so.
#[derive(IntoResponses)]
#[response(status = 503, headers(("Retry-After" = i64, description = "Seconds to wait")))]
#[allow(dead_code)]
pub struct Unavailable(ErrorBody);

/// A whole (unpaged) list.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

impl<T> Items<T> {
    pub fn of(items: Vec<T>) -> Self {
        Items { items }
    }
}

/// Filtering, sorting, paging and export of a list.
#[derive(Debug, Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Filter text; accents and case do not matter.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Column to sort by (each list names its own; an unknown one is refused).
    #[param(max_length = 40)]
    pub sort: Option<String>,
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Capped by the `list_max_page_size` system variable.
    #[param(minimum = 1)]
    pub per_page: Option<i64>,
    /// Users only: `all`, `active` or `locked`.
    #[param(pattern = "^(all|active|locked)?$")]
    pub status: Option<String>,
    /// `csv` for a download (UTF-8 with byte-order mark) instead of JSON.
    #[param(pattern = "^(json|csv)?$")]
    pub format: Option<String>,
    /// With `format=csv`: `1` for every recorded field, not just the visible columns.
    #[param(pattern = "^(0|1|true|false)?$")]
    pub detailed: Option<String>,
}

impl ListParams {
    pub fn csv(&self) -> Option<bool> {
        crate::exports::wants_csv(self.format.as_deref(), self.detailed.as_deref())
    }

    pub fn paging(&self) -> ListQuery {
        ListQuery {
            q: self.q.clone(),
            sort: self.sort.clone(),
            desc: self.order.as_deref() == Some("desc"),
            page: self.page,
            per_page: self.per_page,
        }
    }
}
