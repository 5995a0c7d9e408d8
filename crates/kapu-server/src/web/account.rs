//! Login, logout, the home page, the profile and the password pages.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::grants::Source;
use kapu_core::identity::links::Purpose;
use kapu_core::identity::login::Identity;
use kapu_core::identity::password_policy::ExpiryStatus;
use kapu_core::platform::i18n::Lang;
use kapu_core::{Actor, Error, Kapu, Mode, Role};
use serde::Deserialize;

use super::frame::{Field, FormPage, Frame, MessagePage, render};
use super::session::{
    SESSION_COOKIE, WebActor, anon_csrf, check_anon_csrf, check_csrf, set_cookie, with_cookie,
};
use crate::context::Ctx;
use crate::error::retry_after;

fn frame_for(ctx: &Ctx, actor: Option<&Actor>, csrf: String) -> Frame {
    Frame::new(ctx.1, actor, csrf, ctx.0.request_id.clone())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    f: Frame,
    login: String,
    mode: String,
    notice_text: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    mode: Option<String>,
}

pub async fn login_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let notice = kapu
        .settings()
        .snapshot("")
        .await
        .map(|s| s.text("system_notice").to_string())
        .unwrap_or_default();
    let page = LoginPage {
        f: frame_for(&ctx, None, csrf),
        login: String::new(),
        mode: q.mode.unwrap_or_default(),
        notice_text: notice,
    };
    with_cookie(set, render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    mode: String,
}

pub async fn login_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(r) = check_anon_csrf(&headers, &form.csrf) {
        return r.into_response();
    }
    let mode = Mode::parse(&form.mode).unwrap_or(Mode::Normal);
    match kapu
        .login(
            &ctx.0,
            &form.login,
            &form.password,
            mode,
            Identity::ChooseLater,
        )
        .await
    {
        Ok(r) => {
            let next = if r.password_change_required {
                "/password/change"
            } else if r.identity_pending {
                "/login/identity"
            } else if matches!(r.expiry, ExpiryStatus::Warning { .. }) {
                "/password/warning"
            } else {
                "/"
            };
            (
                [set_cookie(&kapu, SESSION_COOKIE, &r.token, None)],
                Redirect::to(next),
            )
                .into_response()
        }
        Err(e) => {
            let mut page = LoginPage {
                f: frame_for(&ctx, None, form.csrf.clone()),
                login: form.login.clone(),
                mode: form.mode.clone(),
                notice_text: String::new(),
            };
            if matches!(e, Error::InvalidCredentials | Error::AccountLocked { .. }) {
                // Point the summary at the field the person will retype.
                page.f.fail(&e);
                if let Some(first) = page.f.errors.items.first_mut() {
                    first.0 = "password".into();
                }
            } else {
                page.f.fail(&e);
            }
            let status = crate::error::status_of(&e);
            let mut resp = render(status, &page);
            if let Some(secs) = retry_after(&e)
                && let Ok(v) = secs.to_string().parse()
            {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(kapu): State<Kapu>,
    WebActor(actor): WebActor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    if let Err(e) = kapu.logout(&actor).await {
        tracing::error!(error = %e, "logout failed");
    }
    (
        [set_cookie(&kapu, SESSION_COOKIE, "", Some(0))],
        Redirect::to("/login"),
    )
        .into_response()
}

pub async fn logout_everywhere(
    State(kapu): State<Kapu>,
    WebActor(actor): WebActor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    if let Err(e) = kapu.logout_everywhere(&actor).await {
        tracing::error!(error = %e, "logout everywhere failed");
    }
    (
        [set_cookie(&kapu, SESSION_COOKIE, "", Some(0))],
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// Switches the language and returns to the page the switch was on (only a local path:
/// never an address elsewhere).
pub async fn switch_language(State(kapu): State<Kapu>, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or_default();
    let local = q.back.starts_with('/')
        && !q.back.starts_with("//")
        && !q.back.contains('\\')
        && !q.back.starts_with("/lang");
    let back = if local { q.back.as_str() } else { "/" };
    (
        [set_cookie(
            &kapu,
            "kapu_lang",
            lang.code(),
            Some(31_536_000),
        )],
        Redirect::to(back),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    f: Frame,
    full_name: String,
    tenant_name: String,
    tenant_code: String,
    warning: String,
    blocks: Vec<(&'static str, &'static str)>,
    services: Vec<(String, String)>,
}

fn warning_text(t: super::Tr, e: &ExpiryStatus) -> String {
    match e {
        ExpiryStatus::Warning { days_left, .. } => {
            format!("{} {days_left} {}", t.t("pw.expires_in"), t.t("pw.days"))
        }
        _ => String::new(),
    }
}

pub async fn home(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    let t = f.t;
    // The Maintenance block (manual 7.2): what the actor's roles open.
    let mut blocks = Vec::new();
    let user_admin = actor.has(Role::UserMaintainer) || actor.has(Role::RightsAdmin);
    if user_admin {
        blocks.push(("/admin/users", t.t("admin.users")));
        blocks.push(("/admin/groups", t.t("admin.groups")));
        blocks.push(("/admin/roles", t.t("admin.roles")));
    }
    if actor.has(Role::UserMaintainer) {
        blocks.push(("/admin/substitutions", t.t("admin.substitutions")));
    }
    if actor.has(Role::LogReader) {
        blocks.push(("/admin/audit", t.t("admin.audit")));
    }
    if actor.has(Role::FrameworkAdmin) {
        blocks.push(("/admin/settings", t.t("admin.settings")));
        blocks.push(("/admin/statistics", t.t("admin.statistics")));
    }
    if actor.central && (actor.has(Role::FrameworkAdmin) || actor.has(Role::UserMaintainer)) {
        blocks.push(("/admin/tenants", t.t("admin.tenants")));
        blocks.push(("/admin/services", t.t("admin.services")));
    }
    let (warning, services) = match (
        kapu.password_state(&actor).await,
        kapu.launchpad_services(&actor).await,
    ) {
        (Ok(s), Ok(services)) => (
            warning_text(t, &s.expiry),
            services
                .into_iter()
                .map(|s| (s.launch_url, s.name))
                .collect(),
        ),
        (Err(e), _) | (_, Err(e)) => {
            let status = f.fail(&e);
            return render(
                status,
                &MessagePage {
                    f,
                    title: t.t("error.internal").into(),
                    body: String::new(),
                    links: vec![],
                },
            );
        }
    };
    let page = HomePage {
        f,
        full_name: actor.full_name.clone(),
        tenant_name: actor.tenant_name.clone(),
        tenant_code: actor.tenant_code.clone(),
        warning,
        blocks,
        services,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    f: Frame,
    full_name: String,
    login: String,
    /// `(role, service, where it comes from)`.
    roles: Vec<(String, String, String)>,
    days_left: i64,
    /// `(person, roles, from, until)`.
    i_act_for: Vec<(String, String, String, String)>,
    my_deputies: Vec<(String, String, String, String)>,
}

fn source_text(t: super::Tr, s: &Source) -> String {
    match s {
        Source::Automatic => t.t("source.automatic").to_string(),
        Source::Individual => t.t("source.individual").to_string(),
        Source::Group { group } => format!("{}: {group}", t.t("source.group")),
        Source::Substitution { principal } => {
            format!("{}: {principal}", t.t("source.substitution"))
        }
    }
}

fn day(s: &str) -> String {
    s.replace('T', " ")
        .trim_end_matches('Z')
        .get(..16)
        .unwrap_or(s)
        .to_string()
}

pub async fn profile(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    let t = f.t;
    let data = async {
        let days = kapu.password_state(&actor).await?.expiry.days_left();
        let roles = kapu.my_roles(&actor).await?;
        let subs = kapu.my_substitutions(&actor).await?;
        Ok::<_, kapu_core::Error>((days, roles, subs))
    };
    let (days_left, roles, subs) = match data.await {
        Ok(d) => d,
        Err(e) => {
            let status = f.fail(&e);
            return render(
                status,
                &MessagePage {
                    f,
                    title: t.t("ui.profile").into(),
                    body: String::new(),
                    links: vec![],
                },
            );
        }
    };
    let row = |who: String, s: &kapu_core::access::substitutions::Substitution| {
        (
            who,
            s.roles.join(", "),
            day(&s.starts_at),
            s.ends_at.as_deref().map(day).unwrap_or_else(|| "–".into()),
        )
    };
    let page = ProfilePage {
        full_name: actor
            .deputy
            .as_ref()
            .map(|d| d.full_name.clone())
            .unwrap_or(actor.full_name.clone()),
        login: actor
            .deputy
            .as_ref()
            .map(|d| d.login.clone())
            .unwrap_or(actor.full_login()),
        roles: roles
            .iter()
            .map(|r| (r.name.clone(), r.service.clone(), source_text(t, &r.source)))
            .collect(),
        days_left,
        i_act_for: subs
            .i_act_for
            .iter()
            .map(|s| row(format!("{} ({})", s.principal_name, s.principal), s))
            .collect(),
        my_deputies: subs
            .my_deputies
            .iter()
            .map(|s| row(format!("{} ({})", s.deputy_name, s.deputy), s))
            .collect(),
        f,
    };
    render(StatusCode::OK, &page)
}

pub async fn warning_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
) -> Response {
    let f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    let t = f.t;
    let state = match kapu.password_state(&actor).await {
        Ok(s) => s.expiry,
        Err(_) => return Redirect::to("/").into_response(),
    };
    let ExpiryStatus::Warning { mandatory, .. } = state else {
        return Redirect::to("/").into_response();
    };
    let mut page = FormPage::new(
        f,
        t.t("pw.warning_title"),
        "/password/warning",
        t.t("pw.change_now"),
    );
    page.intro = warning_text(t, &state);
    page.secondary = t.t("pw.continue").into();
    if !mandatory {
        page.checks
            .push(("silence".into(), t.t("pw.silence").into()));
    }
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct WarningForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    silence: Option<String>,
}

pub async fn warning_submit(
    State(kapu): State<Kapu>,
    WebActor(actor): WebActor,
    Form(form): Form<WarningForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    if form.action == "submit" {
        return Redirect::to("/password/change").into_response();
    }
    if form.silence.is_some()
        && let Err(e) = kapu.silence_expiry_warning(&actor).await
    {
        tracing::error!(error = %e, "silencing the warning failed");
    }
    Redirect::to("/").into_response()
}

fn change_form(f: Frame) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("pw.change_title"),
        "/password/change",
        t.t("pw.change_submit"),
    );
    page.fields = vec![
        Field::new(
            "current_password",
            t.t("pw.current"),
            "",
            "password",
            "current-password",
        ),
        Field::new(
            "new_password",
            t.t("pw.new"),
            "",
            "password",
            "new-password",
        )
        .hint(t.t("pw.rules")),
        Field::new(
            "confirm_password",
            t.t("pw.confirm"),
            "",
            "password",
            "new-password",
        ),
    ];
    page
}

pub async fn change_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let mut page = change_form(frame_for(&ctx, Some(&actor), actor.csrf.clone()));
    if actor.restricted {
        page.intro = page.f.t.t("pw.expired_intro").into();
    }
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn change_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let result = if form.new_password != form.confirm_password {
        Err(Error::field("confirm_password", "password.mismatch"))
    } else {
        kapu.change_own_password(&actor, &form.current_password, &form.new_password)
            .await
    };
    let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    match result {
        Ok(()) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    f,
                    title: t.t("pw.changed_title").into(),
                    body: t.t("pw.changed_body").into(),
                    links: vec![("/".into(), t.t("home.title").into())],
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            render(status, &change_form(f))
        }
    }
}

fn forgot_form(f: Frame, login: &str) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(
        f,
        t.t("forgot.title"),
        "/password/forgot",
        t.t("forgot.submit"),
    );
    page.intro = t.t("forgot.intro").into();
    page.fields = vec![
        Field::new("login", t.t("login.login"), login, "text", "username")
            .hint(t.t("login.login_hint")),
    ];
    page
}

pub async fn forgot_page(State(kapu): State<Kapu>, ctx: Ctx, headers: HeaderMap) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    with_cookie(
        set,
        render(
            StatusCode::OK,
            &forgot_form(frame_for(&ctx, None, csrf), ""),
        ),
    )
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
}

pub async fn forgot_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if let Err(r) = check_anon_csrf(&headers, &form.csrf) {
        return r.into_response();
    }
    let mut f = frame_for(&ctx, None, form.csrf.clone());
    match kapu.request_password_reset(&ctx.0, &form.login).await {
        Ok(()) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    f,
                    title: t.t("forgot.sent_title").into(),
                    body: t.t("forgot.sent_body").into(),
                    links: vec![("/login".into(), t.t("login.title").into())],
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            render(status, &forgot_form(f, &form.login))
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn link_form(f: Frame, purpose: Purpose, token: &str, who: &str) -> FormPage {
    let t = f.t;
    let (title, action) = match purpose {
        Purpose::Activation => (t.t("activate.title"), "/activate"),
        Purpose::PasswordReset => (t.t("reset.title"), "/password/reset"),
    };
    let mut page = FormPage::new(f, title, action, t.t("pw.set_submit"));
    page.intro = format!("{}: {who}", t.t("user.login"));
    page.fields = vec![
        Field::new(
            "new_password",
            t.t("pw.new"),
            "",
            "password",
            "new-password",
        )
        .hint(t.t("pw.rules")),
        Field::new(
            "confirm_password",
            t.t("pw.confirm"),
            "",
            "password",
            "new-password",
        ),
    ];
    // The token rides along as a field the person does not see.
    page.checks.clear();
    page.action = format!("{action}?token={token}");
    page
}

async fn link_page(
    kapu: Kapu,
    ctx: Ctx,
    headers: HeaderMap,
    token: String,
    purpose: Purpose,
) -> Response {
    let (csrf, set) = anon_csrf(&kapu, &headers);
    let mut f = frame_for(&ctx, None, csrf);
    match kapu.link_target(&token, purpose).await {
        Ok(target) => with_cookie(
            set,
            render(
                StatusCode::OK,
                &link_form(f, purpose, &token, &target.full_login),
            ),
        ),
        Err(e) => {
            let status = f.fail(&e);
            let t = f.t;
            let body = f
                .errors
                .items
                .first()
                .map(|e| e.1.clone())
                .unwrap_or_default();
            f.errors.items.clear();
            with_cookie(
                set,
                render(
                    status,
                    &MessagePage {
                        f,
                        title: t.t("link.invalid_title").into(),
                        body,
                        links: vec![("/password/forgot".into(), t.t("login.forgot").into())],
                    },
                ),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn link_submit(
    kapu: Kapu,
    ctx: Ctx,
    headers: HeaderMap,
    token: String,
    purpose: Purpose,
    form: LinkForm,
) -> Response {
    if let Err(r) = check_anon_csrf(&headers, &form.csrf) {
        return r.into_response();
    }
    let result = if form.new_password != form.confirm_password {
        Err(Error::field("confirm_password", "password.mismatch"))
    } else {
        kapu.complete_link(&ctx.0, &token, purpose, &form.new_password)
            .await
    };
    let mut f = frame_for(&ctx, None, form.csrf.clone());
    match result {
        Ok(target) => {
            let t = f.t;
            render(
                StatusCode::OK,
                &MessagePage {
                    f,
                    title: t.t("pw.set_title").into(),
                    body: format!("{} {}", t.t("pw.set_body"), target.full_login),
                    links: vec![("/login".into(), t.t("login.title").into())],
                },
            )
        }
        Err(e) => {
            let status = f.fail(&e);
            let who = kapu
                .link_target(&token, purpose)
                .await
                .map(|t| t.full_login)
                .unwrap_or_default();
            render(status, &link_form(f, purpose, &token, &who))
        }
    }
}

pub async fn activate_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    link_page(kapu, ctx, headers, q.token, Purpose::Activation).await
}

pub async fn activate_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    Form(form): Form<LinkForm>,
) -> Response {
    link_submit(kapu, ctx, headers, q.token, Purpose::Activation, form).await
}

pub async fn reset_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    link_page(kapu, ctx, headers, q.token, Purpose::PasswordReset).await
}

pub async fn reset_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    Form(form): Form<LinkForm>,
) -> Response {
    link_submit(kapu, ctx, headers, q.token, Purpose::PasswordReset, form).await
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    f: Frame,
    own: String,
    choices: Vec<(String, String)>,
}

/// Right after login, a deputy chooses whose identity to act in.
pub async fn identity_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
) -> Response {
    if !actor.identity_pending {
        return Redirect::to("/").into_response();
    }
    let f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    let choices = match kapu.identity_choices(&actor).await {
        Ok(c) => c.into_iter().map(|p| (p.login, p.full_name)).collect(),
        Err(e) => {
            tracing::error!(error = %e, "identity choices failed");
            Vec::new()
        }
    };
    let page = IdentityPage {
        own: actor.full_name.clone(),
        choices,
        f,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    act_for: String,
}

pub async fn identity_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<IdentityForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let choice = Some(form.act_for.as_str()).filter(|p| !p.is_empty() && *p != "-");
    match kapu.choose_identity(&actor, choice).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => {
            let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
            let status = f.fail(&e);
            let t = f.t;
            render(
                status,
                &MessagePage {
                    f,
                    title: t.t("identity.title").into(),
                    body: String::new(),
                    links: vec![("/login/identity".into(), t.t("identity.title").into())],
                },
            )
        }
    }
}
