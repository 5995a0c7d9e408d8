//! The vault's pages for its managers: new entries, changes, re-enrolment, delegation and
//! folders.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::vault::entries::{EntryChange, EntryInput, RekeyInput};
use kapu_core::vault::grants::{GrantInput, GrantOn, VaultGrant};
use kapu_core::vault::levels::Level;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Choices, ConfirmPage, Field, FormPage, Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::frame;
use super::vault_pages::{CsrfForm, entry_page, level_label, vault_error};
use crate::context::Ctx;

fn entry_form(f: Frame, input: &EntryForm, folders: Vec<(String, String)>) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(f, t.t("vault.new"), "/vault/new", t.t("ui.save"));
    page.fields = vec![
        Field::new(
            "client_name",
            t.t("vault.client"),
            &input.client_name,
            "text",
            "off",
        ),
        Field::new("issuer", t.t("vault.issuer"), &input.issuer, "text", "off")
            .hint(t.t("vault.issuer_hint")),
        Field::new(
            "account",
            t.t("vault.account"),
            &input.account,
            "text",
            "off",
        ),
        Field::new("secret", t.t("vault.secret_key"), "", "text", "off")
            .hint(t.t("vault.secret_hint")),
        Field::new(
            "recovery_code",
            t.t("vault.recovery_code"),
            "",
            "text",
            "off",
        ),
        Field::new("digits", t.t("vault.digits"), &input.digits, "text", "off"),
        Field::new("period", t.t("vault.period"), &input.period, "text", "off"),
        Field::new("notes", t.t("vault.notes"), &input.notes, "text", "off"),
    ];
    let algorithms = ["SHA1", "SHA256", "SHA512"]
        .into_iter()
        .map(|a| (a.to_string(), a.to_string(), a == input.algorithm))
        .collect();
    let mut folder_choices = vec![(
        String::new(),
        t.t("vault.no_folder").to_string(),
        input.folder_id.is_empty(),
    )];
    folder_choices.extend(folders.into_iter().map(|(id, name)| {
        let chosen = id == input.folder_id;
        (id, name, chosen)
    }));
    page.groups = vec![
        Choices::new("algorithm", t.t("vault.algorithm"), false, algorithms),
        Choices::new("folder_id", t.t("vault.folder"), false, folder_choices),
    ];
    page.links = vec![("/vault".into(), t.t("vault.title").into())];
    page
}

#[derive(Deserialize, Default)]
pub struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    recovery_code: String,
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    digits: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    folder_id: String,
}

pub(super) async fn folder_choices(
    kapu: &Kapu,
    actor: &Actor,
) -> Result<Vec<(String, String)>, Error> {
    Ok(kapu
        .vault_folders(actor)
        .await?
        .into_iter()
        .map(|x| (x.id, x.name))
        .collect())
}

pub async fn new_page(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    match folder_choices(&kapu, &actor).await {
        Ok(folders) => {
            let blank = EntryForm {
                digits: "6".into(),
                period: "30".into(),
                algorithm: "SHA1".into(),
                ..Default::default()
            };
            render(
                StatusCode::OK,
                &entry_form(frame(&ctx, &actor), &blank, folders),
            )
        }
        Err(e) => vault_error(&kapu, &ctx, &actor, e).await,
    }
}

/// A number typed on a form; what is not one is left to the rules to refuse.
fn number(s: &str, field: &'static str) -> Result<Option<i64>, Error> {
    match s.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| Error::field(field, "vault.import_bad_params")),
    }
}

pub async fn new_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<EntryForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let input = (|| -> Result<EntryInput, Error> {
        Ok(EntryInput {
            client_name: form.client_name.clone(),
            account: form.account.clone(),
            issuer: form.issuer.clone(),
            secret: form.secret.clone(),
            algorithm: kapu_core::vault::otp::OtpAlgorithm::parse(&form.algorithm),
            digits: number(&form.digits, "digits")?,
            period: number(&form.period, "period")?,
            recovery_code: Some(form.recovery_code.clone()),
            notes: Some(form.notes.clone()),
            folder_id: Some(form.folder_id.clone()),
        })
    })();
    let created = match input {
        Ok(input) => kapu.create_vault_entry(&actor, &input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(e) => Redirect::to(&format!("/vault/entries/{}", e.id)).into_response(),
        Err(Error::VaultLocked) => vault_error(&kapu, &ctx, &actor, Error::VaultLocked).await,
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            let folders = folder_choices(&kapu, &actor).await.unwrap_or_default();
            render(status, &entry_form(f, &form, folders))
        }
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    client_name: Option<String>,
    issuer: Option<String>,
    account: Option<String>,
    notes: Option<String>,
    folder_id: Option<String>,
}

pub async fn edit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let change = EntryChange {
        client_name: form.client_name,
        account: form.account,
        issuer: form.issuer,
        notes: form.notes,
        folder_id: form.folder_id,
    };
    match kapu.update_vault_entry(&actor, &id, &change).await {
        Ok(_) => Redirect::to(&format!("/vault/entries/{id}")).into_response(),
        Err(e) => entry_page(&kapu, &ctx, &actor, &id, None, None, Some(&e)).await,
    }
}

#[derive(Deserialize)]
pub struct RekeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    recovery_code: String,
}

pub async fn rekey(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<RekeyForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let input = RekeyInput {
        secret: form.secret,
        recovery_code: Some(form.recovery_code),
        ..Default::default()
    };
    match kapu.rekey_vault_entry(&actor, &id, &input).await {
        Ok(_) => Redirect::to(&format!("/vault/entries/{id}")).into_response(),
        Err(e) => entry_page(&kapu, &ctx, &actor, &id, None, None, Some(&e)).await,
    }
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    /// `name@tenant` for a user, a group's code otherwise.
    #[serde(default)]
    holder: String,
    #[serde(default)]
    level: String,
}

fn grant_input(form: &GrantForm) -> Result<GrantInput, Error> {
    let level = Level::parse(&form.level).ok_or(Error::field("level", "vault.holder_one"))?;
    let holder = form.holder.trim().to_string();
    if holder.is_empty() {
        return Err(Error::field("holder", "vault.holder_one"));
    }
    Ok(if holder.contains('@') {
        GrantInput {
            user: Some(holder),
            group: None,
            level,
        }
    } else {
        GrantInput {
            user: None,
            group: Some(holder),
            level,
        }
    })
}

/// Grant errors name the API's fields; the page has one field for both.
fn on_holder(e: Error) -> Error {
    match e {
        Error::Validation(fields) => Error::Validation(
            fields
                .into_iter()
                .map(|f| {
                    kapu_core::FieldError::new(
                        if f.field == "level" {
                            "level"
                        } else {
                            "holder"
                        },
                        f.key,
                    )
                })
                .collect(),
        ),
        e => e,
    }
}

/// Delegates as the form says; errors name the form's one holder field.
async fn apply_grant(
    kapu: &Kapu,
    actor: &Actor,
    on: GrantOn<'_>,
    form: &GrantForm,
) -> Result<(), Error> {
    let input = grant_input(form)?;
    kapu.grant_vault(actor, on, &input)
        .await
        .map(|_| ())
        .map_err(on_holder)
}

pub async fn grant(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<GrantForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match apply_grant(&kapu, &actor, GrantOn::Entry(&id), &form).await {
        Ok(()) => Redirect::to(&format!("/vault/entries/{id}#grants")).into_response(),
        Err(e) => entry_page(&kapu, &ctx, &actor, &id, None, None, Some(&e)).await,
    }
}

pub async fn revoke(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((id, grant)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let back = format!("/vault/entries/{id}#grants");
    end_grant(
        &kapu,
        &ctx,
        &actor,
        &form,
        GrantOn::Entry(&id),
        &grant,
        &back,
    )
    .await
}

/// Ends a delegation of an entry or folder, then goes back to where it was listed.
async fn end_grant(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    form: &CsrfForm,
    on: GrantOn<'_>,
    grant: &str,
    back: &str,
) -> Response {
    if let Err(r) = check_csrf(actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.revoke_vault_grant(actor, on, grant).await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => vault_error(kapu, ctx, actor, e).await,
    }
}

/// "Delete this entry?": the entry named, nothing deleted until confirmed.
pub async fn delete_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
) -> Response {
    let e = match kapu.vault_entry(&actor, &id).await {
        Ok(e) => e,
        Err(e) => return vault_error(&kapu, &ctx, &actor, e).await,
    };
    let f = frame(&ctx, &actor);
    let t = f.t;
    let base = format!("/vault/entries/{}", e.id);
    render(
        StatusCode::OK,
        &ConfirmPage {
            title: format!("{}: {} ({})", t.t("vault.delete"), e.client_name, e.issuer),
            body: t.t("vault.delete_confirm").into(),
            action: format!("{base}/delete"),
            confirm: t.t("vault.delete").into(),
            back: base,
            f,
        },
    )
}

pub async fn delete(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.delete_vault_entry(&actor, &id).await {
        Ok(()) => Redirect::to("/vault").into_response(),
        Err(e) => vault_error(&kapu, &ctx, &actor, e).await,
    }
}

pub struct FolderView {
    id: String,
    name: String,
    entries: i64,
    grants: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "vault_folders.html")]
struct FoldersPage {
    f: Frame,
    folders: Vec<FolderView>,
}

fn grant_rows(f: &Frame, grants: Vec<VaultGrant>) -> Vec<(String, String, String)> {
    grants
        .into_iter()
        .map(|g| {
            (
                g.id,
                format!("{} ({})", g.holder_name, g.holder),
                level_label(f, g.level).to_string(),
            )
        })
        .collect()
}

async fn folders_page(kapu: &Kapu, ctx: &Ctx, actor: &Actor, error: Option<&Error>) -> Response {
    let folders = match kapu.vault_folders(actor).await {
        Ok(x) => x,
        Err(e) => return vault_error(kapu, ctx, actor, e).await,
    };
    let mut f = frame(ctx, actor);
    let status = error.map(|e| f.fail(e)).unwrap_or(StatusCode::OK);
    let mut views = Vec::with_capacity(folders.len());
    for x in folders
        .into_iter()
        .filter(|x| x.level == Some(Level::Manage))
    {
        let grants = match kapu.vault_grants(actor, GrantOn::Folder(&x.id)).await {
            Ok(g) => grant_rows(&f, g),
            Err(e) => return vault_error(kapu, ctx, actor, e).await,
        };
        views.push(FolderView {
            id: x.id,
            name: x.name,
            entries: x.entries,
            grants,
        });
    }
    render(status, &FoldersPage { f, folders: views })
}

pub async fn folders(State(kapu): State<Kapu>, ctx: Ctx, WebActor(actor): WebActor) -> Response {
    folders_page(&kapu, &ctx, &actor, None).await
}

#[derive(Deserialize)]
pub struct FolderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create_folder(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<FolderForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.create_vault_folder(&actor, &form.name).await {
        Ok(_) => Redirect::to("/vault/folders").into_response(),
        Err(e) => folders_page(&kapu, &ctx, &actor, Some(&e)).await,
    }
}

pub async fn grant_folder(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<GrantForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match apply_grant(&kapu, &actor, GrantOn::Folder(&id), &form).await {
        Ok(()) => Redirect::to("/vault/folders").into_response(),
        Err(e) => folders_page(&kapu, &ctx, &actor, Some(&e)).await,
    }
}

pub async fn revoke_folder(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((id, grant)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    end_grant(
        &kapu,
        &ctx,
        &actor,
        &form,
        GrantOn::Folder(&id),
        &grant,
        "/vault/folders",
    )
    .await
}
