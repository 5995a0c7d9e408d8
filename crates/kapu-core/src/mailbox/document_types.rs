//! The document types an office accepts: identifier, version and description, kept by the
//! office's managers. Every office takes a general letter besides; an office without a list
//! takes any type (as offices did before lists existed). A citizen chooses from the list and
//! never invents a type code.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::rights::{self, Right};
use super::validate;
use crate::Kapu;
use crate::actor::policy::manage_catalog;
use crate::actor::{Actor, Mode};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::i18n::{self, Lang};

/// The type every office accepts: a letter about anything.
pub const GENERAL_LETTER: &str = "ALTALANOS_LEVEL";
/// Most types one office keeps.
const TYPES_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentType {
    /// Letters, digits, `_` and `-`, starting with a letter; at most 30.
    pub code: String,
    /// Empty: any version (or none) of the type.
    #[serde(default)]
    pub version: String,
    pub description: String,
}

/// The general letter, described in the reader's language.
pub fn general_letter(lang: Lang) -> DocumentType {
    DocumentType {
        code: GENERAL_LETTER.into(),
        version: String::new(),
        description: i18n::text(lang, "mail.general_letter").into(),
    }
}

/// Checks a whole list; every problem is reported, naming the line (`types[3]`).
pub fn check_list(list: &[DocumentType]) -> Result<Vec<DocumentType>> {
    let mut errors = Vec::new();
    let mut out: Vec<DocumentType> = Vec::with_capacity(list.len());
    if list.len() > TYPES_MAX {
        return Err(Error::field("types", "office.document_types_too_many"));
    }
    for t in list {
        let code = validate::doc_type(&t.code);
        let description = validate::text(&t.description, 200, "message.doc_type_desc_required");
        let version = validate::text(&t.version, 20, "");
        match (code, description, version) {
            (Ok(code), Ok(description), Ok(version)) => {
                if code == GENERAL_LETTER
                    || out.iter().any(|o| o.code == code && o.version == version)
                {
                    errors.push(FieldError::new("types", "office.document_type_repeated"));
                } else {
                    out.push(DocumentType {
                        code,
                        version,
                        description,
                    });
                }
            }
            (code, description, version) => {
                for key in [code.err(), description.err(), version.err()]
                    .into_iter()
                    .flatten()
                {
                    errors.push(FieldError::new("types", key));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Validation(errors))
    }
}

/// What an office's list says of a send's type: refused, or accepted with the description
/// the list gives it (for a sender who chose from the list and wrote none).
pub fn accepts<'a>(
    list: &'a [DocumentType],
    code: &str,
    version: &str,
) -> std::result::Result<Option<&'a DocumentType>, &'static str> {
    if code == GENERAL_LETTER || list.is_empty() {
        return Ok(None);
    }
    list.iter()
        .find(|t| t.code == code && (t.version.is_empty() || t.version == version))
        .map(Some)
        .ok_or("message.doc_type_not_accepted")
}

impl Kapu {
    /// An office's list as the send path reads it.
    pub(crate) async fn office_document_types(
        &self,
        mailbox_id: &str,
    ) -> Result<Arc<Vec<DocumentType>>> {
        self.inner
            .mailbox
            .document_types
            .get_or_read(mailbox_id, self.db().changes(), || async {
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT code, version, description FROM office_document_types \
                     WHERE mailbox_id = $1 ORDER BY position",
                )
                .bind(mailbox_id)
                .fetch_all(self.db().pool())
                .await?;
                Ok(Arc::new(
                    rows.into_iter()
                        .map(|(code, version, description)| DocumentType {
                            code,
                            version,
                            description,
                        })
                        .collect(),
                ))
            })
            .await
    }

    /// The types an office accepts, for anyone who may write to it: its list, and the
    /// general letter first.
    pub async fn document_types_of(
        &self,
        short_name: &str,
        lang: Lang,
    ) -> Result<Vec<DocumentType>> {
        let office = self.office_to_send(short_name).await?;
        let mut all = vec![general_letter(lang)];
        all.extend(
            self.office_document_types(&office.id)
                .await?
                .iter()
                .cloned(),
        );
        Ok(all)
    }

    /// Whether the caller keeps the office's list (its managers, central administrators);
    /// secure mode is asked when they save it.
    pub async fn keeps_document_types(&self, actor: &Actor, short_name: &str) -> Result<bool> {
        let office = self.office_by_short_name(short_name).await?;
        let mut secure = actor.clone();
        secure.mode = Mode::Secure;
        Ok(manage_catalog(&secure).is_ok() || rights::holds(actor, office.owner(), Right::Manage))
    }

    /// Replaces an office's list: its managers (in secure mode) or the catalogue's keepers.
    pub async fn set_document_types(
        &self,
        actor: &Actor,
        short_name: &str,
        list: &[DocumentType],
    ) -> Result<Vec<DocumentType>> {
        let office = self.office_by_short_name(short_name).await?;
        // The office is in the directory for all to see: a sender without the right is
        // refused, not told it does not exist.
        if manage_catalog(actor).is_err() {
            if !rights::holds(actor, office.owner(), Right::Manage) {
                return Err(Error::Forbidden);
            }
            if actor.mode != Mode::Secure {
                return Err(Error::SecureModeRequired);
            }
        }
        let list = check_list(list)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("DELETE FROM office_document_types WHERE mailbox_id = $1")
            .bind(&office.id)
            .execute(tx.conn())
            .await?;
        for (i, t) in list.iter().enumerate() {
            sqlx::query(
                "INSERT INTO office_document_types (mailbox_id, code, version, description, position) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&office.id)
            .bind(&t.code)
            .bind(&t.version)
            .bind(&t.description)
            .bind(i as i64)
            .execute(tx.conn())
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("office.document_types", "success")
                .tenant(&office.tenant_id)
                .target("mailbox", &office.id, short_name)
                .details(json!({"types": list.iter().map(|t| json!([t.code, t.version])).collect::<Vec<_>>()})),
        )
        .await?;
        tx.commit().await?;
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(code: &str, version: &str) -> DocumentType {
        DocumentType {
            code: code.into(),
            version: version.into(),
            description: "Kérelem".into(),
        }
    }

    #[test]
    fn a_list_takes_its_types_and_the_general_letter() {
        let list = vec![t("KERELEM", ""), t("BEVALLAS", "2026")];
        assert_eq!(
            accepts(&list, "KERELEM", "3").unwrap().unwrap().code,
            "KERELEM"
        );
        assert!(accepts(&list, "BEVALLAS", "2026").unwrap().is_some());
        assert_eq!(
            accepts(&list, "BEVALLAS", "2025"),
            Err("message.doc_type_not_accepted")
        );
        assert_eq!(
            accepts(&list, "EGYEB", ""),
            Err("message.doc_type_not_accepted")
        );
        assert_eq!(accepts(&list, GENERAL_LETTER, ""), Ok(None));
        assert_eq!(accepts(&[], "EGYEB", ""), Ok(None));
    }

    #[test]
    fn a_list_is_checked_line_by_line() {
        assert!(check_list(&[t("KERELEM", ""), t("KERELEM", "")]).is_err());
        assert!(check_list(&[t(GENERAL_LETTER, "")]).is_err());
        assert!(check_list(&[t("1ROSSZ", "")]).is_err());
        assert_eq!(
            check_list(&[t(" KERELEM ", "")]).unwrap()[0].code,
            "KERELEM"
        );
    }
}
