//! The business log, system variables and statistics pages.

use super::frame::typed_time;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::admin::audit_log::AuditQuery;
use kapu_core::platform::audit::Kind as AuditKind;
use kapu_core::{Error, Kapu};
use serde::Deserialize;

use super::frame::{Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{Column, Row, TablePage, enc, error_page, frame};
use crate::context::Ctx;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    f: Frame,
    central: bool,
    from: String,
    to: String,
    tenant: String,
    user: String,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    outcome: String,
    action: String,
    actor_login: String,
    export: String,
    caption: String,
    rows: Vec<Vec<String>>,
    prev: String,
    next: String,
    page_label: String,
}

#[derive(Deserialize, Default)]
pub struct AuditParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    detailed: String,
    page: Option<i64>,
}

fn filled(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn audit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<AuditParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    let t = f.t;
    let query = (|| {
        Ok::<_, Error>(AuditQuery {
            from: typed_time("from", &p.from)?,
            // "Until" a day includes that day.
            to: typed_time("to", &p.to)?.map(|d| {
                if !p.to.contains(':') {
                    d + kapu_core::platform::clock::DAY
                } else {
                    d
                }
            }),
            tenant: filled(&p.tenant),
            user: filled(&p.user),
            kind: match filled(&p.kind) {
                Some(k) => Some(
                    AuditKind::parse(&k).ok_or_else(|| Error::field("kind", "audit.bad_kind"))?,
                ),
                None => None,
            },
            outcome: filled(&p.outcome),
            action: filled(&p.action),
            actor: filled(&p.actor),
            page: p.page,
            per_page: Some(50),
        })
    })();
    if let (Some(detailed), Ok(q)) = (
        crate::exports::wants_csv(Some(&p.format), Some(&p.detailed)),
        &query,
    ) {
        return match crate::exports::all_audit(&kapu, &actor, q).await {
            Ok(all) => {
                crate::exports::csv_response("audit", crate::exports::audit(ctx.1, &all, detailed))
            }
            Err(e) => error_page(f, &e),
        };
    }
    let result = match query {
        Ok(q) => kapu.query_audit(&actor, &q).await,
        Err(e) => Err(e),
    };
    let filters = format!(
        "from={}&to={}&tenant={}&user={}&kind={}&outcome={}&action={}&actor={}",
        enc(&p.from),
        enc(&p.to),
        enc(&p.tenant),
        enc(&p.user),
        enc(&p.kind),
        enc(&p.outcome),
        enc(&p.action),
        enc(&p.actor)
    );
    let export = format!("/admin/audit?{filters}&format=csv");
    let (rows, page_label, prev, next, status) = match result {
        Ok(page) => {
            let base = format!("/admin/audit?{filters}");
            let prev = if page.page > 1 {
                format!("{base}&page={}", page.page - 1)
            } else {
                String::new()
            };
            let next = if page.page < page.pages() {
                format!("{base}&page={}", page.page + 1)
            } else {
                String::new()
            };
            let label = format!(
                "{} {} / {} ({} {})",
                t.t("ui.page"),
                page.page,
                page.pages(),
                page.total,
                t.t("ui.items")
            );
            let rows = page
                .items
                .into_iter()
                .map(|r| {
                    let actor = match (&r.actor, &r.on_behalf_of) {
                        (Some(a), Some(p)) => format!("{a} ({} {p})", t.t("ui.for")),
                        (Some(a), None) => a.clone(),
                        (None, _) => "–".into(),
                    };
                    vec![
                        super::frame::local_time(&r.at),
                        t.t(&format!("audit.kind.{}", r.kind.as_str())).to_string(),
                        r.tenant.unwrap_or_default(),
                        actor,
                        r.action,
                        r.target.unwrap_or_default(),
                        r.outcome,
                        r.client_addr.unwrap_or_default(),
                    ]
                })
                .collect();
            (rows, label, prev, next, StatusCode::OK)
        }
        Err(e) => {
            let status = f.fail(&e);
            (
                Vec::new(),
                String::new(),
                String::new(),
                String::new(),
                status,
            )
        }
    };
    let page = AuditPage {
        central: actor.central,
        caption: t.t("admin.audit").into(),
        from: p.from,
        to: p.to,
        tenant: p.tenant,
        user: p.user,
        kind: p.kind,
        kinds: vec![
            ("", "audit.kind.all"),
            ("central", "audit.kind.central"),
            ("login", "audit.kind.login"),
            ("communication", "audit.kind.communication"),
        ],
        outcome: p.outcome,
        action: p.action,
        actor_login: p.actor,
        export,
        rows,
        prev,
        next,
        page_label,
        f,
    };
    render(status, &page)
}

fn table(
    f: Frame,
    title: &str,
    path: &'static str,
    labels: &[&'static str],
    rows: Vec<Row>,
) -> TablePage {
    TablePage {
        title: title.into(),
        caption: title.into(),
        path,
        tenant: String::new(),
        tenant_choices: Vec::new(),
        q: String::new(),
        with_status: false,
        status: String::new(),
        new_link: String::new(),
        new_label: String::new(),
        columns: labels
            .iter()
            .map(|l| Column {
                label: l,
                href: String::new(),
                sorted: false,
                desc: false,
            })
            .collect(),
        page_label: format!("{} {}", rows.len(), f.t.t("ui.items")),
        rows,
        prev: String::new(),
        next: String::new(),
        export: String::new(),
        f,
    }
}

pub async fn settings(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(n): Query<NoticeParam>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(n.notice.as_deref());
    let t = f.t;
    let items = match kapu.list_settings(&actor, None).await {
        Ok(items) => items,
        Err(e) => return error_page(f, &e),
    };
    let en = ctx.1 == kapu_core::platform::i18n::Lang::En;
    let rows = items
        .iter()
        .map(|s| Row {
            href: format!("/admin/settings/{}", s.definition.name),
            cells: vec![
                if en {
                    s.definition.display_en
                } else {
                    s.definition.display_hu
                }
                .to_string(),
                s.definition.name.to_string(),
                s.global_value.clone(),
                s.tenant_value.clone().unwrap_or_else(|| "–".into()),
                if s.definition.overridable {
                    t.t("ui.yes")
                } else {
                    t.t("ui.no")
                }
                .to_string(),
            ],
        })
        .collect();
    let labels = [
        t.t("setting.display"),
        t.t("setting.name"),
        t.t("setting.global"),
        t.t("setting.tenant_value"),
        t.t("setting.overridable"),
    ];
    render(
        StatusCode::OK,
        &table(f, t.t("admin.settings"), "/admin/settings", &labels, rows),
    )
}

#[derive(Deserialize, Default)]
pub struct NoticeParam {
    notice: Option<String>,
}

async fn setting_form(
    kapu: &Kapu,
    f: Frame,
    actor: &kapu_core::Actor,
    name: &str,
    value: Option<&str>,
) -> Response {
    let t = f.t;
    let s = match kapu.get_setting(actor, name, None).await {
        Ok(s) => s,
        Err(e) => return error_page(f, &e),
    };
    let en = t.0 == kapu_core::platform::i18n::Lang::En;
    let display = if en {
        s.definition.display_en
    } else {
        s.definition.display_hu
    };
    let mut page = FormPage::new(
        f,
        display,
        &format!("/admin/settings/{}", enc(name)),
        t.t("ui.save"),
    );
    page.intro = format!(
        "{} ({}: {}; {}: {})",
        if en {
            s.definition.description_en
        } else {
            s.definition.description_hu
        },
        t.t("setting.global"),
        s.global_value,
        t.t("setting.kind"),
        t.t(&format!(
            "setting.kind_{}",
            serde_json::to_value(s.definition.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        )),
    );
    let current = if actor.central {
        s.global_value.clone()
    } else {
        s.tenant_value
            .clone()
            .unwrap_or_else(|| s.effective_value.clone())
    };
    page.fields.push(Field::new(
        "value",
        t.t("setting.value"),
        value.unwrap_or(&current),
        "text",
        "off",
    ));
    render(StatusCode::OK, &page)
}

pub async fn setting_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(name): Path<String>,
) -> Response {
    setting_form(&kapu, frame(&ctx, &actor), &actor, &name, None).await
}

#[derive(Deserialize)]
pub struct SettingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    value: String,
}

/// The centre sets central values; a tenant sets its own value of an overridable variable.
pub async fn setting_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(name): Path<String>,
    Form(form): Form<SettingForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let result = if actor.central {
        kapu.set_global_setting(&actor, &name, &form.value).await
    } else {
        kapu.set_tenant_setting(&actor, &actor.tenant_code, &name, Some(&form.value))
            .await
    };
    match result {
        Ok(_) => Redirect::to("/admin/settings?notice=notice.saved").into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            let mut resp = setting_form(&kapu, f, &actor, &name, Some(&form.value)).await;
            *resp.status_mut() = status;
            resp
        }
    }
}

pub async fn statistics(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    let f = frame(&ctx, &actor);
    let t = f.t;
    let stats = match kapu.tenant_statistics(&actor).await {
        Ok(s) => s,
        Err(e) => return error_page(f, &e),
    };
    let rows = stats
        .into_iter()
        .map(|s| Row {
            href: String::new(),
            cells: vec![
                format!("{} ({})", s.name, s.tenant),
                s.users.to_string(),
                s.active.to_string(),
                s.locked.to_string(),
                s.pending_activation.to_string(),
                s.logged_in_30_days.to_string(),
                s.last_login
                    .map(|l| super::frame::local_time(&l))
                    .unwrap_or_else(|| "–".into()),
            ],
        })
        .collect();
    let labels = [
        t.t("tenant.tenant"),
        t.t("stats.users"),
        t.t("status.active"),
        t.t("status.locked"),
        t.t("status.pending_activation"),
        t.t("stats.recent"),
        t.t("user.last_login"),
    ];
    render(
        StatusCode::OK,
        &table(
            f,
            t.t("admin.statistics"),
            "/admin/statistics",
            &labels,
            rows,
        ),
    )
}

#[derive(Deserialize, Default)]
pub struct PeriodParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// FW-08: second factors per tenant, logins with them in a period (`?from=&to=`, local
/// dates; the last 30 days by default), temporary permits in force.
pub async fn factor_statistics(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<PeriodParams>,
) -> Response {
    let f = frame(&ctx, &actor);
    let t = f.t;
    let period = typed_time("from", &p.from).and_then(|from| Ok((from, typed_time("to", &p.to)?)));
    let stats = match period {
        Ok((from, to)) => kapu.factor_statistics(&actor, from, to).await,
        Err(e) => Err(e),
    };
    let stats = match stats {
        Ok(s) => s,
        Err(e) => return error_page(f, &e),
    };
    let rows = stats
        .tenants
        .into_iter()
        .map(|s| Row {
            href: String::new(),
            cells: vec![
                format!("{} ({})", s.name, s.tenant),
                s.users.to_string(),
                s.with_any_factor.to_string(),
                s.with_totp.to_string(),
                s.with_webauthn.to_string(),
                s.with_certificate.to_string(),
                s.logins_with_totp.to_string(),
                s.logins_with_webauthn.to_string(),
                s.logins_with_certificate.to_string(),
                s.logins_with_permit.to_string(),
                s.permits_in_force.to_string(),
            ],
        })
        .collect();
    let labels = [
        t.t("tenant.tenant"),
        t.t("stats.users"),
        t.t("stats.with_any"),
        t.t("stats.with_totp"),
        t.t("stats.with_webauthn"),
        t.t("stats.with_certificate"),
        t.t("stats.logins_totp"),
        t.t("stats.logins_webauthn"),
        t.t("stats.logins_certificate"),
        t.t("stats.logins_permit"),
        t.t("stats.permits"),
    ];
    let title = format!(
        "{} ({} – {})",
        t.t("stats.factors"),
        super::frame::local_time(&stats.from),
        super::frame::local_time(&stats.to)
    );
    let mut page = table(f, &title, "/admin/statistics/second-factors", &labels, rows);
    page.title = t.t("stats.factors").into();
    render(StatusCode::OK, &page)
}
