//! An office's accepted document types: a page everyone who may write to it can read, with
//! the list's form for those who keep it (one type a line: `CODE | description | version`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::mailbox::document_types::{DocumentType, GENERAL_LETTER};
use kapu_core::platform::i18n::Lang;
use kapu_core::{Actor, Error, Kapu};

use super::form_values::{Pairs, value};
use super::frame::{Frame, render};
use super::session::{WebActor, check_csrf};
use super::table::{ListParams, enc, error_page, frame};
use crate::context::Ctx;

#[derive(Template)]
#[template(path = "document_types.html")]
struct TypesPage {
    f: Frame,
    title: String,
    short: String,
    types: Vec<DocumentType>,
    /// The office has no list of its own: it takes any type.
    open: bool,
    keeps: bool,
    lines: String,
}

/// The form's text: one type a line.
fn lines_of(types: &[DocumentType]) -> String {
    types
        .iter()
        .filter(|t| t.code != GENERAL_LETTER)
        .map(|t| {
            if t.version.is_empty() {
                format!("{} | {}", t.code, t.description)
            } else {
                format!("{} | {} | {}", t.code, t.description, t.version)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The form's text as a list; a line without a description is kept whole, for the check
/// to refuse.
fn parse_lines(text: &str) -> Vec<DocumentType> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split('|').map(str::trim);
            DocumentType {
                code: parts.next().unwrap_or_default().to_string(),
                description: parts.next().unwrap_or_default().to_string(),
                version: parts.next().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

async fn types_page(
    kapu: &Kapu,
    f: Frame,
    lang: Lang,
    actor: &Actor,
    short: &str,
    lines: Option<String>,
) -> Result<TypesPage, Error> {
    let office = kapu.get_office(actor, short).await?;
    let types = kapu.document_types_of(short, lang).await?;
    let keeps = kapu.keeps_document_types(actor, short).await?;
    Ok(TypesPage {
        title: format!("{} – {}", office.name, f.t.t("office.document_types")),
        short: enc(short),
        open: types.len() == 1,
        lines: lines.unwrap_or_else(|| lines_of(&types)),
        types,
        keeps,
        f,
    })
}

pub async fn page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(short): Path<String>,
    Query(p): Query<ListParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    match types_page(&kapu, f, ctx.1, &actor, &short, None).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}

pub async fn submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(short): Path<String>,
    Form(v): Form<Pairs>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &value(&v, "csrf")) {
        return r.into_response();
    }
    let text = value(&v, "types");
    match kapu
        .set_document_types(&actor, &short, &parse_lines(&text))
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/offices/{}/document-types?notice=notice.saved",
            enc(&short)
        ))
        .into_response(),
        Err(e) => {
            let mut f = frame(&ctx, &actor);
            let status = f.fail(&e);
            match types_page(&kapu, f, ctx.1, &actor, &short, Some(text)).await {
                Ok(page) => render(status, &page),
                Err(e) => error_page(frame(&ctx, &actor), &e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_types_and_back() {
        let types = parse_lines("KERELEM | Kérelem\n\n BEVALLAS|Bevallás|2026 \nROSSZ");
        assert_eq!(types.len(), 3);
        assert_eq!(types[1].version, "2026");
        assert_eq!(types[2].description, "");
        assert_eq!(
            lines_of(&types[..2]),
            "KERELEM | Kérelem\nBEVALLAS | Bevallás | 2026"
        );
    }
}
