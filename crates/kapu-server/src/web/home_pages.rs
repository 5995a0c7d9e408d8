//! The launchpad and the profile.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kapu_core::access::grants::Source;
use kapu_core::identity::password_policy::ExpiryStatus;
use kapu_core::{Kapu, Role};

use super::frame::builtin;
use super::frame::{Frame, MessagePage, render};
use super::session::WebActor;
use crate::context::Ctx;

use super::login_pages::frame_for;

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
    /// A self-registered citizen: no organisation, no tools for officials.
    citizen: bool,
}

pub(super) fn warning_text(t: super::Tr, e: &ExpiryStatus) -> String {
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
        blocks.push(("/admin/sso", t.t("sso.clients_title")));
    }
    if actor.has(Role::LogReader) {
        blocks.push(("/admin/audit", t.t("admin.audit")));
    }
    if actor.has(Role::FrameworkAdmin) {
        blocks.push(("/admin/settings", t.t("admin.settings")));
        blocks.push(("/admin/statistics", t.t("admin.statistics")));
        blocks.push(("/admin/statistics/second-factors", t.t("stats.factors")));
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
                .map(|s| (s.launch_url, builtin(&s.code, &s.name)))
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
        citizen: actor.citizen(),
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
    arrival_mail: bool,
    /// Roles and substitutions are officials' matters: a citizen's profile leaves them out.
    citizen: bool,
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
    super::frame::local_time(s)
}

pub async fn profile(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    axum::extract::Query(p): axum::extract::Query<super::table::ListParams>,
) -> Response {
    let mut f = frame_for(&ctx, Some(&actor), actor.csrf.clone());
    f.notice_key(p.notice.as_deref());
    let t = f.t;
    let data = async {
        let days = kapu.password_state(&actor).await?.expiry.days_left();
        let roles = kapu.my_roles(&actor).await?;
        let subs = kapu.my_substitutions(&actor).await?;
        let notices = kapu.notice_settings(&actor).await?;
        Ok::<_, kapu_core::Error>((days, roles, subs, notices))
    };
    let (days_left, roles, subs, notices) = match data.await {
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
            .map(|r| {
                (
                    builtin(&r.role, &r.name),
                    r.service.clone(),
                    source_text(t, &r.source),
                )
            })
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
        arrival_mail: notices.arrival_mail,
        f,
        citizen: actor.citizen(),
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct NoticesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    arrival_mail: String,
}

/// The arrival-notice switch on the profile page.
pub async fn profile_notices(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    axum::Form(form): axum::Form<NoticesForm>,
) -> Response {
    use axum::response::IntoResponse as _;
    if let Err(r) = super::session::check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu
        .set_notice_settings(&actor, form.arrival_mail == "1")
        .await
    {
        Ok(_) => axum::response::Redirect::to("/profile?notice=notice.saved").into_response(),
        Err(e) => super::table::error_page(super::table::frame(&ctx, &actor), &e),
    }
}
