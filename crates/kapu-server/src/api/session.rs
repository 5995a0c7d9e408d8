//! Login, logout, the caller, and password flows that need no administrator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use kapu_core::access::grants::EffectiveRole;
use kapu_core::access::substitutions::{MySubstitutions, Principal};
use kapu_core::identity::links::Purpose;
use kapu_core::identity::password_policy::ExpiryStatus;
use kapu_core::identity::passwords::PasswordState;
use kapu_core::signon::login::{Identity, LoginStep};
use kapu_core::signon::second_step::{FactorAnswer, SecondFactorChallenge};
use kapu_core::{Error, Kapu, Mode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contract::{
    Forbidden, Gone, Internal, Items, Locked, TooManyRequests, Unauthorized, Unprocessable,
};
use super::{AnyApiActor, ApiActor, ApiJson};
use crate::context::Ctx;
use crate::error::ApiError;

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    /// `name@tenant`.
    #[schema(
        max_length = 105,
        pattern = "^[a-z0-9.]+@[a-z][a-z0-9]+$",
        example = "admin@kozpont"
    )]
    login: String,
    #[schema(max_length = 256, format = Password)]
    password: String,
    /// `normal` (default) reads; `secure` is needed for administrative changes.
    #[serde(default)]
    #[schema(pattern = "^(normal|secure)?$")]
    mode: Option<String>,
    /// A deputy acting for a principal: the principal's `name@tenant`.
    #[serde(default)]
    #[schema(max_length = 105)]
    act_for: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer …`.
    token: String,
    session_id: String,
    /// `name@tenant` of the identity the session acts in.
    login: String,
    full_name: String,
    mode: Mode,
    /// `name@tenant` of the principal a deputy acts for.
    acting_for: Option<String>,
    password: ExpiryStatus,
    /// The password has expired: only `PUT /me/password` is open to this session.
    password_change_required: bool,
    /// How the session was opened (RFC 8176: `pwd`, `otp`, `mfa`).
    amr: Vec<String>,
    /// The user must have a second factor and has none: only enrolling one
    /// (`/me/factors/...`) is open to this session.
    second_factor_enrolment_required: bool,
}

impl From<kapu_core::signon::login::LoginResult> for LoginResponse {
    fn from(r: kapu_core::signon::login::LoginResult) -> Self {
        LoginResponse {
            token: r.token,
            session_id: r.session_id,
            login: r.full_login,
            full_name: r.full_name,
            mode: r.mode,
            acting_for: r.acting_for,
            password: r.expiry,
            password_change_required: r.password_change_required,
            amr: r.amr,
            second_factor_enrolment_required: r.enrol_only,
        }
    }
}

/// A correct password of a user with a second factor: the login goes on at
/// `POST /session/second-factor`.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorRequired {
    /// Always `second_factor_required`.
    #[schema(pattern = "^second_factor_required$")]
    status: &'static str,
    #[serde(flatten)]
    challenge: SecondFactorChallenge,
}

pub(super) fn parse_mode(mode: Option<&str>) -> Result<Mode, Error> {
    match mode {
        None | Some("") => Ok(Mode::Normal),
        Some(m) => Mode::parse(m).ok_or_else(|| Error::field("mode", "mode.invalid")),
    }
}

/// Log in with `name@tenant` and a password; the answer carries a bearer token (201), or,
/// for a user with a second factor, a challenge to complete at `/session/second-factor` (200).
/// A connection presenting a valid client certificate bound to the user needs no second
/// step; a tenant may refuse a correct password without one (`client_certificate_required`).
///
/// Every refusal looks the same whether or not the account exists.
#[utoipa::path(post, path = "/session", tag = "session", security(()),
    request_body = LoginBody,
    responses((status = 201, body = LoginResponse), (status = 200, body = SecondFactorRequired),
        Unauthorized, Forbidden, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn login(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mode = parse_mode(body.mode.as_deref())?;
    let identity = match body.act_for.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Identity::ActFor(p),
        None => Identity::Own,
    };
    let step = kapu
        .login(&ctx, &body.login, &body.password, mode, identity)
        .await?;
    Ok(match step {
        LoginStep::Session(r) => {
            (StatusCode::CREATED, Json(LoginResponse::from(r))).into_response()
        }
        LoginStep::SecondFactor(challenge) => (
            StatusCode::OK,
            Json(SecondFactorRequired {
                status: "second_factor_required",
                challenge,
            }),
        )
            .into_response(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct SecondFactorBody {
    /// The challenge `POST /session` gave.
    #[schema(max_length = 100)]
    challenge: String,
    /// `totp`, `webauthn`, `certificate` (the one this connection presents),
    /// `recovery_code` or `temporary_permit`.
    #[schema(pattern = "^(totp|webauthn|certificate|recovery_code|temporary_permit)$")]
    method: String,
    /// `totp`: six digits of the authenticator app; `recovery_code`: `XXXX-XXXX-XXXX`.
    #[schema(max_length = 100)]
    code: Option<String>,
    /// `webauthn`: the `PublicKeyCredential` of `navigator.credentials.get()` for the
    /// challenge's `webauthn` options, as JSON.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// Complete a login with a second factor; the answer carries the bearer token.
///
/// A temporary permit in force passes without a code; the first login with a device ends
/// it. A wrong code answers `second_factor_invalid`; after 5 in a row the challenge ends and the
/// account's second step is locked for 10 minutes (`second_factor_locked`, with
/// `Retry-After`), while its password login stays open.
#[utoipa::path(post, path = "/session/second-factor", tag = "session", security(()),
    request_body = SecondFactorBody,
    responses((status = 201, body = LoginResponse), Unauthorized, Forbidden, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn second_factor(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<SecondFactorBody>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = FactorAnswer::parse(&body.method, body.code.as_deref(), body.credential.as_ref())?;
    let r = kapu.second_factor(&ctx, &body.challenge, &answer).await?;
    Ok((StatusCode::CREATED, Json(LoginResponse::from(r))))
}

/// Log out: end this session.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204, description = "Logged out"), Unauthorized, Internal))]
pub async fn logout(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
) -> Result<StatusCode, ApiError> {
    kapu.end_session(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    revoked_sessions: u64,
}

/// End every session of the caller, this one included.
#[utoipa::path(delete, path = "/sessions", tag = "session",
    responses((status = 200, body = Revoked), Unauthorized, Internal))]
pub async fn logout_everywhere(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
) -> Result<Json<Revoked>, ApiError> {
    let revoked_sessions = kapu.end_all_sessions(&actor).await?;
    Ok(Json(Revoked { revoked_sessions }))
}

#[derive(Serialize, ToSchema)]
pub struct MeTenant {
    code: String,
    name: String,
    central: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MeDeputy {
    /// `name@tenant` of the person really at the keyboard.
    login: String,
    full_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: String,
    /// `name@tenant`.
    login: String,
    full_name: String,
    tenant: MeTenant,
    mode: Mode,
    /// Every role in effect, as `service.role`.
    roles: Vec<String>,
    /// Set when a deputy acts for this user.
    deputy: Option<MeDeputy>,
    password: PasswordState,
    password_change_required: bool,
    /// How this session was opened (RFC 8176: `pwd`, `otp`, `mfa`).
    amr: Vec<String>,
    /// Only enrolling a second factor is open to this session.
    second_factor_enrolment_required: bool,
}

/// The caller: user, tenant, mode, roles and password expiry.
#[utoipa::path(get, path = "/me", tag = "session",
    responses((status = 200, body = Me), Unauthorized, Internal))]
pub async fn me(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
) -> Result<Json<Me>, ApiError> {
    let password = kapu.password_state(&actor).await?;
    let login = actor.full_login();
    Ok(Json(Me {
        deputy: actor.deputy.map(|d| MeDeputy {
            login: d.login,
            full_name: d.full_name,
        }),
        id: actor.user_id,
        login,
        full_name: actor.full_name,
        tenant: MeTenant {
            code: actor.tenant_code,
            name: actor.tenant_name,
            central: actor.central,
        },
        mode: actor.mode,
        roles: actor.role_ids,
        password,
        password_change_required: actor.restricted,
        amr: actor.amr,
        second_factor_enrolment_required: actor.enrol_only,
    }))
}

/// The caller's roles in effect, each with where it comes from.
#[utoipa::path(get, path = "/me/roles", tag = "session",
    responses((status = 200, body = Items<EffectiveRole>), Unauthorized, Forbidden, Internal))]
pub async fn my_roles(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Items<EffectiveRole>>, ApiError> {
    Ok(Json(Items::of(kapu.my_roles(&actor).await?)))
}

/// Substitutions where the caller is the deputy or the principal.
#[utoipa::path(get, path = "/me/substitutions", tag = "session",
    responses((status = 200, body = MySubstitutions), Unauthorized, Forbidden, Internal))]
pub async fn my_substitutions(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<Json<MySubstitutions>, ApiError> {
    Ok(Json(kapu.my_substitutions(&actor).await?))
}

/// Whom a deputy may act for in this session.
#[utoipa::path(get, path = "/me/identity-choices", tag = "session",
    responses((status = 200, body = Items<Principal>), Unauthorized, Forbidden, Internal))]
pub async fn identity_choices(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Items<Principal>>, ApiError> {
    Ok(Json(Items::of(kapu.identity_choices(&actor).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    #[schema(max_length = 256, format = Password)]
    current_password: String,
    /// Must meet the tenant's password rules (length, character classes, history).
    #[schema(max_length = 256, format = Password)]
    new_password: String,
}

/// Change one's own password; every outstanding one-time link of the user stops working.
#[utoipa::path(put, path = "/me/password", tag = "session", request_body = ChangePasswordBody,
    responses((status = 204, description = "Changed"), Unauthorized, Forbidden, Unprocessable, Locked, TooManyRequests, Internal))]
pub async fn change_password(
    State(kapu): State<Kapu>,
    AnyApiActor(actor): AnyApiActor,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<StatusCode, ApiError> {
    kapu.change_own_password(&actor, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Silence the early password-expiry warning until the mandatory one.
#[utoipa::path(post, path = "/me/password-warning/silence", tag = "session",
    responses((status = 204, description = "Silenced"), Unauthorized, Forbidden, Internal))]
pub async fn silence_warning(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<StatusCode, ApiError> {
    kapu.silence_expiry_warning(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct LinkBody {
    /// The `token` of the e-mailed link.
    #[schema(min_length = 1, max_length = 100)]
    token: String,
    #[schema(max_length = 256, format = Password)]
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LinkDone {
    /// `name@tenant` whose password was set.
    login: String,
}

/// Set the first password through an activation link.
#[utoipa::path(post, path = "/activation", tag = "password", security(()), request_body = LinkBody,
    responses((status = 200, body = LinkDone), Gone, Unprocessable, Internal))]
pub async fn activate(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<impl IntoResponse, ApiError> {
    let t = kapu
        .complete_link(&ctx, &body.token, Purpose::Activation, &body.password)
        .await?;
    Ok(Json(LinkDone {
        login: t.full_login,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequestBody {
    /// `name@tenant`.
    #[schema(max_length = 105)]
    login: String,
}

/// Ask for a forgotten-password link. The answer is the same for every login, known or not,
/// and for requests over the throttle limits.
#[utoipa::path(post, path = "/password-reset", tag = "password", security(()), request_body = ResetRequestBody,
    responses((status = 202, description = "Accepted: a link is mailed if the account exists"), Unprocessable, Internal))]
pub async fn request_reset(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<StatusCode, ApiError> {
    kapu.request_password_reset(&ctx, &body.login).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password through a forgotten-password link.
#[utoipa::path(post, path = "/password-reset/complete", tag = "password", security(()), request_body = LinkBody,
    responses((status = 200, body = LinkDone), Gone, Unprocessable, Internal))]
pub async fn complete_reset(
    State(kapu): State<Kapu>,
    Ctx(ctx, _): Ctx,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<impl IntoResponse, ApiError> {
    let t = kapu
        .complete_link(&ctx, &body.token, Purpose::PasswordReset, &body.password)
        .await?;
    Ok(Json(LinkDone {
        login: t.full_login,
    }))
}
