//! What every page shares: translations, the header, errors and notices.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use kapu_core::platform::i18n::{self, Lang};
use kapu_core::{Actor, Error, Mode};

use crate::error::{message, status_of};

/// Translations for templates.
#[derive(Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        i18n::text(self.0, key)
    }
}

pub struct HeaderUser {
    pub full_name: String,
    pub login: String,
    pub tenant: String,
    pub secure: bool,
}

/// `(field id, message)`; an empty id is a message for the whole form.
#[derive(Default)]
pub struct Errors {
    pub items: Vec<(String, String)>,
}

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn has(&self, field: impl AsRef<str>) -> bool {
        self.items.iter().any(|(f, _)| f == field.as_ref())
    }
    pub fn get(&self, field: impl AsRef<str>) -> Option<&str> {
        self.items
            .iter()
            .find(|(f, _)| f == field.as_ref())
            .map(|(_, m)| m.as_str())
    }
}

pub struct Frame {
    pub t: Tr,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub user: Option<HeaderUser>,
    pub csrf: String,
    pub errors: Errors,
    pub notice: Option<String>,
    pub offer_secure: bool,
    pub request_id: String,
    /// This page's address, URL-encoded, for the language switch to come back to.
    pub back: String,
}

impl Frame {
    pub fn new(lang: Lang, actor: Option<&Actor>, csrf: String, request_id: String) -> Frame {
        Frame {
            t: Tr(lang),
            lang: lang.code(),
            other_lang: if lang == Lang::Hu { "en" } else { "hu" },
            user: actor.map(|a| HeaderUser {
                // "Deputy Name (for Principal Name)" when acting for someone.
                full_name: match &a.deputy {
                    Some(d) => format!(
                        "{} ({} {})",
                        d.full_name,
                        i18n::text(lang, "ui.for"),
                        a.full_name
                    ),
                    None => a.full_name.clone(),
                },
                login: a.full_login(),
                // A citizen's tenant is no organisation of theirs: it goes unnamed.
                tenant: if a.citizen() {
                    String::new()
                } else {
                    a.tenant_name.clone()
                },
                secure: a.mode == Mode::Secure,
            }),
            csrf,
            errors: Errors::default(),
            notice: None,
            offer_secure: false,
            request_id,
            back: crate::context::current()
                .path
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect(),
        }
    }

    /// Puts a refused operation's messages on the page; returns the status to answer with.
    pub fn fail(&mut self, e: &Error) -> StatusCode {
        if e.is_unexpected() {
            tracing::error!(request_id = %self.request_id, error = %e, "page request failed");
        } else if e.is_unavailable() {
            tracing::warn!(request_id = %self.request_id, error = %e, "database unavailable");
        }
        match e {
            Error::Validation(fields) => {
                for f in fields {
                    self.errors
                        .items
                        .push((f.field.to_string(), self.t.t(f.key).to_string()));
                }
            }
            Error::SecureModeRequired => {
                self.offer_secure = true;
                self.errors
                    .items
                    .push((String::new(), message(e, self.t.0, &self.request_id)));
            }
            other => self
                .errors
                .items
                .push((String::new(), message(other, self.t.0, &self.request_id))),
        }
        status_of(e)
    }

    pub fn notice_key(&mut self, key: Option<&str>) {
        if let Some(k) = key.filter(|k| k.starts_with("notice.") && i18n::has(k)) {
            self.notice = Some(self.t.t(k).to_string());
        }
    }
}

/// A time the service layer gave as RFC 3339, as this page's reader reads times: in the
/// installation's zone, in the page language's form.
pub fn local_time(rfc3339: &str) -> String {
    let (zone, lang) = crate::context::zone_and_lang();
    kapu_core::platform::time_fmt::local_rfc3339(rfc3339, zone, lang)
}

/// A built-in service or role name in the page's language (others as given).
pub fn builtin(id: &str, stored: &str) -> String {
    kapu_core::platform::i18n::builtin_name(crate::context::zone_and_lang().1, id, stored)
        .to_string()
}

/// A time typed on a page, read in the installation's zone.
pub fn typed_time(field: &'static str, raw: &str) -> kapu_core::Result<Option<i64>> {
    kapu_core::platform::time_fmt::optional_local_instant(
        field,
        Some(raw),
        crate::context::zone_and_lang().0,
    )
}

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub f: Frame,
    pub title: String,
    pub body: String,
    pub links: Vec<(String, String)>,
}

/// "Are you sure?" before something that cannot be undone.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub f: Frame,
    pub title: String,
    pub body: String,
    pub action: String,
    pub confirm: String,
    pub back: String,
}

/// A one-field description for the generic form page.
pub struct Field {
    pub name: String,
    pub label: String,
    pub value: String,
    pub kind: &'static str,
    pub hint: String,
    pub autocomplete: &'static str,
}

impl Field {
    pub fn new(
        name: &str,
        label: &str,
        value: &str,
        kind: &'static str,
        autocomplete: &'static str,
    ) -> Field {
        Field {
            name: name.into(),
            label: label.into(),
            value: value.into(),
            kind,
            hint: String::new(),
            autocomplete,
        }
    }
    /// The password one already has, asked again to confirm an act.
    pub fn current_password(name: &str, label: &str) -> Field {
        Field::new(name, label, "", "password", "current-password")
    }
    pub fn hint(mut self, hint: &str) -> Field {
        self.hint = hint.into();
        self
    }
}

/// A set of choices: check boxes (`multiple`) or a drop-down list.
pub struct Choices {
    pub name: String,
    pub legend: String,
    pub hint: String,
    pub multiple: bool,
    /// `(value, label, chosen)`.
    pub options: Vec<(String, String, bool)>,
}

impl Choices {
    pub fn new(
        name: &str,
        legend: &str,
        multiple: bool,
        options: Vec<(String, String, bool)>,
    ) -> Choices {
        Choices {
            name: name.into(),
            legend: legend.into(),
            hint: String::new(),
            multiple,
            options,
        }
    }
}

#[derive(Template)]
#[template(path = "simple_form.html")]
pub struct FormPage {
    pub f: Frame,
    pub title: String,
    pub intro: String,
    pub action: String,
    pub fields: Vec<Field>,
    pub groups: Vec<Choices>,
    pub checks: Vec<(String, String)>,
    pub submit: String,
    pub secondary: String,
    pub links: Vec<(String, String)>,
}

impl FormPage {
    pub fn new(f: Frame, title: &str, action: &str, submit: &str) -> FormPage {
        FormPage {
            f,
            title: title.into(),
            intro: String::new(),
            action: action.into(),
            fields: Vec::new(),
            groups: Vec::new(),
            checks: Vec::new(),
            submit: submit.into(),
            secondary: String::new(),
            links: Vec::new(),
        }
    }
}
