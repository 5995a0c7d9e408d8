//! The vault's import form, for the API and the pages alike: a file (or pasted text), the
//! file's password and the folder to import into, read with a size cap.

use axum::extract::Multipart;
use kapu_core::Error;

use crate::transfer::{bad_form, text_field};

/// An import file of thousands of entries is well under this.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
pub struct ImportForm {
    pub file: Vec<u8>,
    pub password: Option<String>,
    pub folder_id: Option<String>,
    pub csrf: Option<String>,
}

pub async fn read_import_form(mut form: Multipart) -> Result<ImportForm, Error> {
    let mut out = ImportForm::default();
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or("") {
            "file" | "text" => {
                let mut buf = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                    if out.file.len() + buf.len() + chunk.len() > MAX_IMPORT_BYTES {
                        return Err(Error::TooLarge);
                    }
                    buf.extend_from_slice(&chunk);
                }
                // The pasted text is used when no file was chosen.
                if !buf.iter().all(u8::is_ascii_whitespace) {
                    if !out.file.is_empty() {
                        out.file.push(b'\n');
                    }
                    out.file.extend_from_slice(&buf);
                }
            }
            "password" => {
                out.password = Some(text_field(&mut field).await?).filter(|p| !p.is_empty())
            }
            "folder_id" => {
                out.folder_id = Some(text_field(&mut field).await?).filter(|f| !f.is_empty())
            }
            "csrf" => out.csrf = Some(text_field(&mut field).await?),
            _ => {
                text_field(&mut field).await?;
            }
        }
    }
    if out.file.is_empty() {
        return Err(Error::field("file", "vault.import_empty"));
    }
    Ok(out)
}
