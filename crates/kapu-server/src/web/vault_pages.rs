//! The vault's pages for everyone who holds entries: unlocking, the list, an entry with its
//! code (and, for `view` and up, its secret), and the PIN. A locked vault shows the unlock
//! form wherever one lands.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::vault::entries::{EntryFilter, VaultEntry};
use kapu_core::vault::levels::Level;
use kapu_core::vault::lock::{UnlockInput, VaultState};
use kapu_core::vault::otp::Codes;
use kapu_core::vault::reveal::EntrySecret;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Field, FormPage, Frame, Tr, local_time, render};
use super::session::WebActor;
use super::session::{check_csrf, set_cookie};
use super::table::{enc, error_page, frame};
use crate::context::{Ctx, cookie};

/// Remembers a browser that passed the vault's e-mail check.
pub const BROWSER_COOKIE: &str = "kapu_vault_browser";

/// A vault log record's event as people read it (`vault.code` → "code shown"); an event
/// without a name of its own shows as recorded.
pub(super) fn event_name(t: Tr, action: &str) -> String {
    let key = format!("event.{action}");
    if kapu_core::platform::i18n::has(&key) {
        t.t(&key).to_string()
    } else {
        action.to_string()
    }
}

pub(super) fn level_label(f: &Frame, level: Level) -> &'static str {
    f.t.t(match level {
        Level::Code => "vault.level_code",
        Level::View => "vault.level_view",
        Level::Manage => "vault.level_manage",
    })
}

#[derive(Template)]
#[template(path = "vault_unlock.html")]
struct UnlockPage {
    f: Frame,
    pending: bool,
    pin_set: bool,
    pin_locked: bool,
}

/// The unlock form (or the e-mail code form), with what went wrong if anything.
pub(super) async fn unlock_page(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    e: Option<&Error>,
) -> Response {
    let mut f = frame(ctx, actor);
    let mut status = StatusCode::OK;
    if let Some(e) = e {
        status = f.fail(e);
    }
    match kapu.vault_state(actor).await {
        Ok(s) => render(
            status,
            &UnlockPage {
                f,
                pending: s.email_code_pending,
                pin_set: s.pin_set,
                pin_locked: s.pin_locked,
            },
        ),
        Err(e) => error_page(f, &e),
    }
}

/// An operation's error: the unlock form when the vault is (or became) locked.
pub(super) async fn vault_error(kapu: &Kapu, ctx: &Ctx, actor: &Actor, e: Error) -> Response {
    match e {
        Error::VaultLocked => unlock_page(kapu, ctx, actor, None).await,
        e => error_page(frame(ctx, actor), &e),
    }
}

#[derive(Template)]
#[template(path = "vault_list.html")]
struct ListPage {
    f: Frame,
    idle: i64,
    admin: bool,
    q: String,
    folder: String,
    folders: Vec<(String, String)>,
    caption: String,
    /// id, client, issuer, account, folder, level.
    rows: Vec<(String, String, String, String, String, String)>,
    prev: String,
    next: String,
    page_label: String,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    q: Option<String>,
    folder: Option<String>,
    page: Option<i64>,
}

pub async fn home(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Query(p): Query<ListParams>,
) -> Response {
    let filter = EntryFilter {
        list: kapu_core::identity::ListQuery {
            q: p.q.clone(),
            page: p.page,
            per_page: Some(25),
            ..Default::default()
        },
        folder_id: p.folder.clone().filter(|f| !f.is_empty()),
    };
    let page = match kapu.vault_entries(&actor, &filter).await {
        Ok(page) => page,
        Err(e) => return vault_error(&kapu, &ctx, &actor, e).await,
    };
    let (folders, state) = match (
        kapu.vault_folders(&actor).await,
        kapu.vault_state(&actor).await,
    ) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(e), _) | (_, Err(e)) => return vault_error(&kapu, &ctx, &actor, e).await,
    };
    let f = frame(&ctx, &actor);
    let q = p.q.unwrap_or_default();
    let folder = p.folder.unwrap_or_default();
    let href = |n: i64| format!("/vault?q={}&folder={}&page={n}", enc(&q), enc(&folder));
    let rows = page
        .items
        .iter()
        .map(|e| {
            (
                e.id.clone(),
                e.client_name.clone(),
                e.issuer.clone(),
                e.account.clone(),
                e.folder
                    .as_ref()
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                level_label(&f, e.level).to_string(),
            )
        })
        .collect();
    let page_label = format!("{} / {} ({})", page.page, page.pages(), page.total);
    render(
        StatusCode::OK,
        &ListPage {
            caption: f.t.t("vault.entries").to_string(),
            idle: state.idle_timeout_seconds,
            admin: kapu_core::vault::levels::is_vault_admin(&actor),
            folders: folders.into_iter().map(|x| (x.id, x.name)).collect(),
            prev: if page.page > 1 {
                href(page.page - 1)
            } else {
                String::new()
            },
            next: if page.page < page.pages() {
                href(page.page + 1)
            } else {
                String::new()
            },
            f,
            q,
            folder,
            rows,
            page_label,
        },
    )
}

#[derive(Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    pin: String,
    /// Which button: `pin` or `password`.
    #[serde(default)]
    with: String,
}

pub async fn unlock(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    headers: HeaderMap,
    Form(form): Form<UnlockForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let (password, pin) = if form.with == "pin" {
        (None, Some(form.pin))
    } else {
        (Some(form.password), None)
    };
    let input = UnlockInput {
        password,
        pin,
        browser_token: cookie(&headers, BROWSER_COOKIE).map(str::to_string),
    };
    match kapu.unlock_vault(&actor, &input).await {
        Ok(_) => Redirect::to("/vault").into_response(),
        Err(e) => unlock_page(&kapu, &ctx, &actor, Some(&e)).await,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn unlock_email(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.verify_vault_email(&actor, &form.code).await {
        Ok(VaultState {
            browser_token: Some(token),
            ..
        }) => {
            let days = kapu
                .settings()
                .snapshot(&actor.tenant_id)
                .await
                .map(|s| s.number("vault_browser_days"))
                .unwrap_or(30);
            (
                [set_cookie(
                    &kapu,
                    BROWSER_COOKIE,
                    &token,
                    Some(days * 86_400),
                )],
                Redirect::to("/vault"),
            )
                .into_response()
        }
        Ok(_) => Redirect::to("/vault").into_response(),
        Err(e) => unlock_page(&kapu, &ctx, &actor, Some(&e)).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub async fn lock(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.lock_vault(&actor).await {
        Ok(()) => Redirect::to("/vault").into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}

#[derive(Template)]
#[template(path = "vault_entry.html")]
pub(super) struct EntryPage {
    pub(super) f: Frame,
    pub(super) idle: i64,
    pub(super) e: VaultEntry,
    pub(super) level: &'static str,
    pub(super) key_since: String,
    pub(super) notes: String,
    pub(super) can_view: bool,
    /// The holder could see the key or change the entry after a secure-mode login.
    pub(super) secure_for_more: bool,
    pub(super) can_manage: bool,
    pub(super) codes: Option<Codes>,
    pub(super) secret: Option<EntrySecret>,
    pub(super) folder: String,
    pub(super) folders: Vec<(String, String)>,
    /// id, holder, level.
    pub(super) grants: Vec<(String, String, String)>,
    /// at, actor, action.
    pub(super) log: Vec<(String, String, String)>,
}

/// An entry's page; `codes` or `secret` when just revealed, `error` from a refused form.
pub(super) async fn entry_page(
    kapu: &Kapu,
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    codes: Option<Codes>,
    secret: Option<EntrySecret>,
    error: Option<&Error>,
) -> Response {
    let e = match kapu.vault_entry(actor, id).await {
        Ok(e) => e,
        Err(e) => return vault_error(kapu, ctx, actor, e).await,
    };
    let mut f = frame(ctx, actor);
    let status = error.map(|e| f.fail(e)).unwrap_or(StatusCode::OK);
    // Keys and changes need a secure-mode login; in normal mode the page is the code view.
    let secure = actor.mode == kapu_core::actor::Mode::Secure;
    let can_manage = e.level == Level::Manage && secure;
    let (mut grants, mut log, mut folders) = (Vec::new(), Vec::new(), Vec::new());
    if can_manage {
        let loaded = (
            kapu.vault_grants(actor, kapu_core::vault::grants::GrantOn::Entry(id))
                .await,
            kapu.vault_entry_log(actor, id, 1, 50).await,
            kapu.vault_folders(actor).await,
        );
        match loaded {
            (Ok(g), Ok(l), Ok(x)) => {
                grants = g
                    .into_iter()
                    .map(|g| {
                        (
                            g.id,
                            format!("{} ({})", g.holder_name, g.holder),
                            level_label(&f, g.level).to_string(),
                        )
                    })
                    .collect();
                log = l
                    .items
                    .into_iter()
                    .map(|r| {
                        (
                            local_time(&r.at),
                            r.actor.unwrap_or_default(),
                            event_name(f.t, &r.action),
                        )
                    })
                    .collect();
                folders = x.into_iter().map(|x| (x.id, x.name)).collect();
            }
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return vault_error(kapu, ctx, actor, e).await;
            }
        }
    }
    let idle = kapu
        .vault_state(actor)
        .await
        .map(|s| s.idle_timeout_seconds)
        .unwrap_or(300);
    let secret = secret.map(|s| EntrySecret {
        history: s
            .history
            .into_iter()
            .map(|h| kapu_core::vault::reveal::EarlierKey {
                valid_from: local_time(&h.valid_from),
                replaced_at: local_time(&h.replaced_at),
                ..h
            })
            .collect(),
        ..s
    });
    render(
        status,
        &EntryPage {
            level: level_label(&f, e.level),
            key_since: local_time(&e.key_since),
            notes: e.notes.clone().unwrap_or_default(),
            can_view: e.level >= Level::View && secure,
            secure_for_more: e.level >= Level::View && !secure,
            can_manage,
            folder: e.folder.as_ref().map(|x| x.id.clone()).unwrap_or_default(),
            f,
            idle,
            e,
            codes,
            secret,
            folders,
            grants,
            log,
        },
    )
}

pub async fn entry(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
) -> Response {
    entry_page(&kapu, &ctx, &actor, &id, None, None, None).await
}

/// A reveal's address opened again (a reload after the browser forgot the form, a
/// bookmark): the entry's page, where the reveal is one button away and logged as ever.
pub async fn back_to_entry(Path(id): Path<String>) -> Response {
    Redirect::to(&format!("/vault/entries/{}", enc(&id))).into_response()
}

pub async fn code(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.vault_code(&actor, &id).await {
        Ok(c) => entry_page(&kapu, &ctx, &actor, &id, Some(c), None, None).await,
        Err(e) => vault_error(&kapu, &ctx, &actor, e).await,
    }
}

pub async fn secret(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.vault_secret(&actor, &id).await {
        Ok(s) => entry_page(&kapu, &ctx, &actor, &id, None, Some(s), None).await,
        Err(e) => vault_error(&kapu, &ctx, &actor, e).await,
    }
}

fn pin_form(f: Frame) -> FormPage {
    let t = f.t;
    let mut page = FormPage::new(f, t.t("vault.set_pin"), "/vault/pin", t.t("ui.save"));
    page.intro = t.t("vault.pin_intro").into();
    page.fields = vec![
        Field::current_password("password", t.t("login.password")),
        Field::new("pin", t.t("vault.pin"), "", "password", "off").hint(t.t("vault.pin_format")),
    ];
    page.links = vec![("/vault".into(), t.t("vault.title").into())];
    page
}

pub async fn pin_page(ctx: Ctx, WebActor(actor): WebActor) -> Response {
    render(StatusCode::OK, &pin_form(frame(&ctx, &actor)))
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    pin: String,
}

pub async fn pin_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Form(form): Form<PinForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    match kapu.set_vault_pin(&actor, &form.password, &form.pin).await {
        Ok(_) => Redirect::to("/vault").into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            render(status, &pin_form(f))
        }
    }
}
