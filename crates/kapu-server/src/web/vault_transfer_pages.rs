//! Moving entries in and out of the vault through pages: imports with their preview and
//! progress, exports, and the "who saw what" report.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::vault::export::{ExportFormat, ExportInput};
use kapu_core::vault::import::{ImportView, ItemStatus};
use kapu_core::vault::report::ReportQuery;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Choices, Field, FormPage, Frame, local_time, render, typed_time};
use super::session::{WebActor, check_csrf};
use super::table::{enc, frame};
use super::vault_manage_pages::folder_choices;
use super::vault_pages::{CsrfForm, vault_error};
use crate::context::Ctx;
use crate::vault_forms::read_import_form;

#[derive(Template)]
#[template(path = "vault_import.html")]
struct ImportPage {
    f: Frame,
    view: Option<ImportView>,
    running: bool,
    /// index, label, issuer, status (or reason).
    items: Vec<(usize, String, String, String)>,
    folders: Vec<(String, String)>,
}

fn import_view_page(f: Frame, view: ImportView, status: StatusCode) -> Response {
    let items = view
        .items
        .iter()
        .map(|i| {
            let state = match (i.status, i.reason) {
                (ItemStatus::New, _) => f.t.t("vault.import_new").to_string(),
                (ItemStatus::Duplicate, _) => f.t.t("vault.import_duplicate").to_string(),
                (ItemStatus::Invalid, Some(reason)) => {
                    format!("{}: {}", f.t.t("vault.import_invalid"), f.t.t(reason))
                }
                (ItemStatus::Invalid, None) => f.t.t("vault.import_invalid").to_string(),
            };
            (i.index + 1, i.label.clone(), i.issuer.clone(), state)
        })
        .collect();
    let running = view.state == "running";
    render(
        status,
        &ImportPage {
            f,
            view: Some(view),
            running,
            items,
            folders: Vec::new(),
        },
    )
}

async fn import_form(kapu: &Kapu, ctx: &Ctx, actor: &Actor, error: Option<&Error>) -> Response {
    let folders = match folder_choices(kapu, actor).await {
        Ok(x) => x,
        Err(e) => return vault_error(kapu, ctx, actor, e).await,
    };
    let mut f = frame(ctx, actor);
    let status = error.map(|e| f.fail(e)).unwrap_or(StatusCode::OK);
    render(
        status,
        &ImportPage {
            f,
            view: None,
            running: false,
            items: Vec::new(),
            folders,
        },
    )
}

pub async fn import_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
) -> Response {
    import_form(&kapu, &ctx, &actor, None).await
}

pub async fn import_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    form: Multipart,
) -> Response {
    let form = match read_import_form(form).await {
        Ok(form) => form,
        Err(e) => return import_form(&kapu, &ctx, &actor, Some(&e)).await,
    };
    if let Err(r) = check_csrf(&actor, form.csrf.as_deref().unwrap_or("")) {
        return r.into_response();
    }
    match kapu
        .preview_vault_import(&actor, form.file, form.password, form.folder_id)
        .await
    {
        Ok(view) => import_view_page(frame(&ctx, &actor), view, StatusCode::OK),
        Err(Error::VaultLocked) => vault_error(&kapu, &ctx, &actor, Error::VaultLocked).await,
        Err(e) => import_form(&kapu, &ctx, &actor, Some(&e)).await,
    }
}

pub async fn import_confirm(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.confirm_vault_import(&actor, &id).await {
        Ok(_) => Redirect::to(&format!("/vault/imports/{id}")).into_response(),
        Err(e) => vault_error(&kapu, &ctx, &actor, e).await,
    }
}

pub async fn import_progress(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
) -> Response {
    match kapu.vault_import(&actor, &id).await {
        Ok(view) => import_view_page(frame(&ctx, &actor), view, StatusCode::OK),
        Err(e) => vault_error(&kapu, &ctx, &actor, e).await,
    }
}

fn export_form(f: Frame) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(f, t.t("vault.export"), "/vault/export", t.t("vault.export"));
    page.intro = t.t("vault.export_intro").into();
    page.fields = vec![
        Field::current_password("password", t.t("login.password")),
        Field::new(
            "file_password",
            t.t("vault.file_password"),
            "",
            "password",
            "new-password",
        )
        .hint(t.t("vault.export_password_short")),
    ];
    page.groups = vec![Choices::new(
        "format",
        t.t("vault.export_format"),
        false,
        vec![
            ("aegis".into(), t.t("vault.export_aegis").into(), true),
            ("otpauth".into(), t.t("vault.export_otpauth").into(), false),
        ],
    )];
    page.checks = vec![(
        "confirm_plain".into(),
        t.t("vault.export_confirm_plain").into(),
    )];
    page.links = vec![("/vault".into(), t.t("vault.title").into())];
    page
}

pub async fn export_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    render(StatusCode::OK, &export_form(frame(&ctx, &actor)))
}

#[derive(Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    file_password: String,
    #[serde(default)]
    format: String,
    confirm_plain: Option<String>,
}

pub async fn export_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<ExportForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let input = ExportInput {
        password: form.password,
        format: if form.format == "otpauth" {
            ExportFormat::Otpauth
        } else {
            ExportFormat::Aegis
        },
        file_password: Some(form.file_password),
        confirm_plain: form.confirm_plain.is_some(),
    };
    match kapu.export_vault(&actor, &input).await {
        Ok(file) => crate::api::vault_file_response(file),
        Err(Error::VaultLocked) => vault_error(&kapu, &ctx, &actor, Error::VaultLocked).await,
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &export_form(f))
        }
    }
}

#[derive(Template)]
#[template(path = "vault_report.html")]
struct ReportPage {
    f: Frame,
    user: String,
    from: String,
    to: String,
    csv: String,
    caption: String,
    rows: Vec<(String, String, String, String, String)>,
}

#[derive(Deserialize, Default)]
pub struct ReportParams {
    user: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

pub async fn report(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ReportParams>,
) -> Response {
    let (user, from, to) = (
        p.user.unwrap_or_default(),
        p.from.unwrap_or_default(),
        p.to.unwrap_or_default(),
    );
    let csv = p.format.as_deref() == Some("csv");
    let query = (|| -> Result<ReportQuery, Error> {
        Ok(ReportQuery {
            user: Some(user.clone()),
            from: typed_time("from", &from)?,
            // A day typed as the end counts whole.
            to: typed_time("to", &to)?.map(|t| {
                if to.len() == 10 {
                    t + 86_400_000 - 1
                } else {
                    t
                }
            }),
            page: Some(1),
            per_page: Some(if csv { 10_000 } else { 500 }),
        })
    })();
    let page = match query {
        Ok(q) => kapu.vault_report(&actor, &q).await,
        Err(e) => Err(e),
    };
    let page = match page {
        Ok(page) => page,
        Err(e) => return vault_error(&kapu, &ctx, &actor, e).await,
    };
    if csv {
        return crate::exports::csv_response(
            "vault-report",
            crate::exports::vault_report(ctx.1, &page.items),
        );
    }
    let f = frame(&ctx, &actor);
    let rows = page
        .items
        .into_iter()
        .map(|r| {
            (
                local_time(&r.at),
                r.actor.unwrap_or_default(),
                r.on_behalf_of.unwrap_or_default(),
                super::vault_pages::event_name(f.t, &r.action),
                r.entry.unwrap_or_default(),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &ReportPage {
            csv: format!(
                "/vault/report?user={}&from={}&to={}&format=csv",
                enc(&user),
                enc(&from),
                enc(&to)
            ),
            caption: format!("{} ({})", f.t.t("vault.report"), page.total),
            f,
            user,
            from,
            to,
            rows,
        },
    )
}
