//! The profile's second factors: authenticator app, security keys, recovery codes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::signon::factors::{Confirmed, FactorView, TotpEnrolment};
use kapu_core::signon::second_step::FactorKind;
use kapu_core::signon::webauthn::WebauthnEnrolment;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Frame, Tr, local_time, render};
use super::login_pages::frame_for;
use super::session::{WebActor, check_csrf};
use crate::context::Ctx;

pub(super) struct FactorRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub added: String,
    pub bound_by: String,
    pub last_used: String,
}

impl FactorRow {
    pub(super) fn new(t: Tr, x: FactorView) -> FactorRow {
        FactorRow {
            kind: t
                .t(match x.kind {
                    FactorKind::Webauthn => "factors.webauthn",
                    FactorKind::Certificate => "factors.certificate",
                    _ => "factors.totp",
                })
                .to_string(),
            added: local_time(&x.created_at),
            bound_by: x.bound_by.unwrap_or_default(),
            last_used: x
                .last_used_at
                .as_deref()
                .map(local_time)
                .unwrap_or_else(|| t.t("factors.never").to_string()),
            name: x.name,
            id: x.id,
        }
    }
}

/// A security-key registration under way: its id and the options for the page's script.
pub(super) struct KeyEnrolment {
    pub id: String,
    pub options: String,
}

impl From<WebauthnEnrolment> for KeyEnrolment {
    fn from(e: WebauthnEnrolment) -> Self {
        KeyEnrolment {
            id: e.id,
            options: e.options.to_string(),
        }
    }
}

/// What the last action produced, shown once on the page.
#[derive(Default)]
struct Shown {
    totp: Option<TotpEnrolment>,
    key: Option<WebauthnEnrolment>,
    codes: Vec<String>,
    /// The form an error belongs to (`key`, `cert`, `codes`; the app's form by default):
    /// its fields are named after it, so that the error shows beside the fields typed in.
    form: &'static str,
}

impl Shown {
    fn failed(form: &'static str) -> Shown {
        Shown {
            form,
            ..Shown::default()
        }
    }
}

struct Enrolment {
    id: String,
    /// The key in groups of four, as people read and type it.
    secret: String,
    /// The QR code as SVG markup inside the page: the policy allows no `data:` images, and
    /// markup of Kapu's own needs no source at all.
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "factors.html")]
struct FactorsPage {
    f: Frame,
    factors: Vec<FactorRow>,
    codes_left: i64,
    has_totp: bool,
    self_enrolment: bool,
    required: bool,
    enrol_only: bool,
    can_remove: bool,
    enrolment: Option<Enrolment>,
    key_enrolment: Option<KeyEnrolment>,
    new_codes: Vec<String>,
    /// The new codes as a text file to keep, and its name.
    codes_file: String,
    codes_file_name: String,
    /// A login on a temporary permit: one replacement device, no recovery codes.
    on_permit: bool,
    permit_until: Option<String>,
    /// The subject of the certificate this connection presents, which could be bound.
    presented: Option<String>,
}

/// The profile's factor page, with what the last action produced, or its error.
async fn factors_page(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    shown: Shown,
    error: Option<Error>,
) -> Response {
    let mut f = frame_for(ctx, Some(actor), actor.csrf.clone());
    let t = f.t;
    let mine = match kapu.my_factors(actor).await {
        Ok(m) => m,
        Err(e) => return super::table::error_page(f, &e),
    };
    let status = match &error {
        Some(e) => f.fail(e),
        None => StatusCode::OK,
    };
    if !shown.form.is_empty() {
        for item in &mut f.errors.items {
            if matches!(item.0.as_str(), "password" | "name") {
                item.0 = format!("{}-{}", shown.form, item.0);
            }
        }
    }
    let page = FactorsPage {
        has_totp: mine.factors.iter().any(|x| x.kind == FactorKind::Totp),
        factors: mine
            .factors
            .into_iter()
            .map(|x| FactorRow::new(t, x))
            .collect(),
        codes_left: mine.recovery_codes_left,
        self_enrolment: mine.self_enrolment || actor.enrol_only,
        required: mine.required_for_secure_mode,
        enrol_only: actor.enrol_only,
        can_remove: actor.amr.iter().any(|a| a == "mfa"),
        enrolment: shown.totp.map(|e| Enrolment {
            qr_svg: e.qr_svg,
            id: e.id,
            secret: kapu_core::signon::totp::grouped(&e.secret),
        }),
        key_enrolment: shown.key.map(KeyEnrolment::from),
        codes_file: codes_file(t, &actor.full_login(), &shown.codes),
        codes_file_name: format!("{}-{}.txt", t.t("factors.codes_file"), actor.full_login()),
        new_codes: shown.codes,
        on_permit: actor.on_permit(),
        permit_until: mine.temporary_permit.map(|p| local_time(&p.valid_until)),
        presented: actor.ctx.client_cert.as_ref().map(|c| c.subject.clone()),
        f,
    };
    render(status, &page)
}

/// The recovery codes as a file to download or print: whose they are, one per line.
fn codes_file(t: Tr, login: &str, codes: &[String]) -> String {
    let mut file = format!("{} – {login}\r\n\r\n", t.t("factors.new_codes"));
    for c in codes {
        file.push_str(c);
        file.push_str("\r\n");
    }
    file
}

pub async fn factors(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    factors_page(&kapu, &ctx, &actor, Shown::default(), None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

pub async fn begin_totp(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.begin_totp(&actor, &form.password).await {
        Ok(e) => {
            factors_page(
                &kapu,
                &ctx,
                &actor,
                Shown {
                    totp: Some(e),
                    ..Shown::default()
                },
                None,
            )
            .await
        }
        Err(e) => factors_page(&kapu, &ctx, &actor, Shown::default(), Some(e)).await,
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: String,
}

pub async fn confirm_totp(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.confirm_totp(&actor, &form.id, &form.code).await {
        Ok(c) => enrolled(&kapu, &ctx, actor, c, "otp").await,
        Err(e) => factors_page(&kapu, &ctx, &actor, Shown::default(), Some(e)).await,
    }
}

pub async fn recovery_codes(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.regenerate_recovery_codes(&actor, &form.password).await {
        Ok(codes) => {
            factors_page(
                &kapu,
                &ctx,
                &actor,
                Shown {
                    codes,
                    ..Shown::default()
                },
                None,
            )
            .await
        }
        Err(e) => factors_page(&kapu, &ctx, &actor, Shown::failed("codes"), Some(e)).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn remove(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.remove_my_factor(&actor, &id).await {
        Ok(()) => Redirect::to("/profile/factors").into_response(),
        Err(e) => factors_page(&kapu, &ctx, &actor, Shown::default(), Some(e)).await,
    }
}

/// The page after a factor was added: its recovery codes shown once, and an enrol-only
/// session shown as the full one it became (`factor`: the amr value it was proved with).
async fn enrolled(
    kapu: &Kapu,
    ctx: &Ctx,
    mut actor: Actor,
    c: Confirmed,
    factor: &str,
) -> Response {
    if actor.enrol_only {
        actor.enrol_only = false;
        actor.amr = vec!["pwd".into(), factor.into(), "mfa".into()];
    }
    let shown = Shown {
        codes: c.recovery_codes.unwrap_or_default(),
        ..Shown::default()
    };
    factors_page(kapu, ctx, &actor, shown, None).await
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
}

pub async fn begin_webauthn(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<KeyForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let (shown, error) = match kapu
        .begin_my_webauthn(&actor, &form.password, &form.name)
        .await
    {
        Ok(e) => (
            Shown {
                key: Some(e),
                ..Shown::default()
            },
            None,
        ),
        Err(e) => (Shown::failed("key"), Some(e)),
    };
    factors_page(&kapu, &ctx, &actor, shown, error).await
}

#[derive(Deserialize)]
pub struct FinishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    credential: String,
}

impl FinishForm {
    /// The answer of the page's script; unreadable JSON is refused like a wrong answer.
    pub(super) fn credential(&self) -> serde_json::Value {
        serde_json::from_str(&self.credential).unwrap_or_default()
    }
    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }
    pub(super) fn id(&self) -> &str {
        &self.id
    }
}

pub async fn finish_webauthn(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<FinishForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu
        .finish_my_webauthn(&actor, &form.id, &form.credential())
        .await
    {
        Ok(c) => enrolled(&kapu, &ctx, actor, c, "hwk").await,
        Err(e) => factors_page(&kapu, &ctx, &actor, Shown::default(), Some(e)).await,
    }
}

pub async fn bind_certificate(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.bind_my_certificate(&actor, &form.password, None).await {
        Ok(c) => enrolled(&kapu, &ctx, actor, c, "swk").await,
        Err(e) => factors_page(&kapu, &ctx, &actor, Shown::failed("cert"), Some(e)).await,
    }
}
