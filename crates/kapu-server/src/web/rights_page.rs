//! The two-list rights page (manual 9.6).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::access::grants::Source;
use kapu_core::{Actor, Kapu};

use super::frame::builtin;
use super::frame::{Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{enc, error_page, frame};
use crate::context::Ctx;

use super::form_values::{Pairs, value, values};

#[derive(Template)]
#[template(path = "rights.html")]
struct RightsPage {
    f: Frame,
    tenant: String,
    login: String,
    full_login: String,
    available_roles: Vec<(String, String)>,
    assigned_roles: Vec<(String, String)>,
    available_groups: Vec<(String, String)>,
    assigned_groups: Vec<(String, String)>,
    effective: Vec<(String, String)>,
    dirty: bool,
}

async fn rights_page(
    kapu: &Kapu,
    f: Frame,
    actor: &Actor,
    tenant: &str,
    login: &str,
    state: Option<(Vec<String>, Vec<String>)>,
    status: StatusCode,
) -> Response {
    let rights = match kapu.user_rights(actor, tenant, login).await {
        Ok(r) => r,
        Err(e) => return error_page(f, &e),
    };
    let t = f.t;
    let dirty = state.is_some();
    let (roles, groups) = state.unwrap_or((rights.individual.clone(), rights.groups.clone()));
    let role_label = |id: &str| {
        rights
            .available_roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| {
                format!(
                    "{} – {}",
                    builtin(&r.service, &r.service_name),
                    builtin(&r.id, &r.name)
                )
            })
            .unwrap_or_else(|| id.to_string())
    };
    let group_label = |code: &str| {
        rights
            .available_groups
            .iter()
            .find(|g| g.0 == code)
            .map(|g| g.1.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let page = RightsPage {
        available_roles: rights
            .available_roles
            .iter()
            .filter(|r| !roles.contains(&r.id))
            .map(|r| (r.id.clone(), role_label(&r.id)))
            .collect(),
        assigned_roles: roles.iter().map(|r| (r.clone(), role_label(r))).collect(),
        available_groups: rights
            .available_groups
            .iter()
            .filter(|g| !groups.contains(&g.0))
            .cloned()
            .collect(),
        assigned_groups: groups.iter().map(|g| (g.clone(), group_label(g))).collect(),
        effective: rights
            .effective
            .iter()
            .map(|e| {
                let src = match &e.source {
                    Source::Group { group } => format!("{}: {group}", t.t("source.group")),
                    _ => t.t("source.individual").to_string(),
                };
                (
                    format!("{} – {}", e.service, builtin(&e.role, &e.name)),
                    src,
                )
            })
            .collect(),
        tenant: tenant.to_string(),
        login: login.to_string(),
        full_login: format!("{login}@{tenant}"),
        dirty,
        f,
    };
    render(status, &page)
}

pub async fn rights(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
) -> Response {
    rights_page(
        &kapu,
        frame(&ctx, &actor),
        &actor,
        &tenant,
        &login,
        None,
        StatusCode::OK,
    )
    .await
}

/// `>` and `<` move the selected entries and show the page again; "save" stores the lists.
pub async fn rights_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((tenant, login)): Path<(String, String)>,
    Form(p): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&p, "csrf")) {
        return r.into_response();
    }
    let mut roles = values(&p, "state_role");
    let mut groups = values(&p, "state_group");
    match value(&p, "op").as_str() {
        "add_role" => roles.extend(values(&p, "pick_role")),
        "remove_role" => {
            let drop = values(&p, "drop_role");
            roles.retain(|r| !drop.contains(r));
        }
        "add_group" => groups.extend(values(&p, "pick_group")),
        "remove_group" => {
            let drop = values(&p, "drop_group");
            groups.retain(|g| !drop.contains(g));
        }
        _ => {
            return match kapu
                .set_user_rights(&actor, &tenant, &login, Some(&roles), Some(&groups))
                .await
            {
                Ok(_) => Redirect::to(&format!(
                    "/admin/users/{}/{}?notice=notice.saved",
                    enc(&tenant),
                    enc(&login)
                ))
                .into_response(),
                Err(e) => {
                    let mut f = frame(&ctx, &actor);
                    let status = f.fail(&e);
                    rights_page(
                        &kapu,
                        f,
                        &actor,
                        &tenant,
                        &login,
                        Some((roles, groups)),
                        status,
                    )
                    .await
                }
            };
        }
    }
    roles.sort();
    roles.dedup();
    groups.sort();
    groups.dedup();
    rights_page(
        &kapu,
        frame(&ctx, &actor),
        &actor,
        &tenant,
        &login,
        Some((roles, groups)),
        StatusCode::OK,
    )
    .await
}
