//! KR-style envelopes (`Boritek`): one XML upload that carries its own routing header and
//! its documents as base64. Parsed streaming: the header with an XML reader that refuses
//! DTDs and entities beyond XML's own, each document's base64 decoded as it flows past into
//! the blob store, so an envelope of any size needs only a few buffers of memory.

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::Event;
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use super::sending::{Outgoing, Upload};
use crate::error::{Error, Result};

/// The schema of the envelope, published at `/schemas/boritek.xsd`.
pub const XSD: &str = include_str!("boritek.xsd");

/// Longest header value, in bytes.
const HEADER_MAX: usize = 4000;
const DOCUMENTS_MAX: usize = 100;
const XML: quick_xml::XmlVersion = quick_xml::XmlVersion::Implicit1_0;

fn malformed(e: impl std::fmt::Display) -> Error {
    tracing::debug!(error = %e, "malformed envelope");
    Error::field("Boritek", "envelope.malformed")
}

#[derive(Default)]
struct Header {
    cimzett: Option<String>,
    tipus: Option<String>,
    leiras: Option<String>,
    verzio: Option<String>,
    file_nev: Option<String>,
    megjegyzes: Option<String>,
    hivatkozas: Option<String>,
}

impl Header {
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "Cimzett" => &mut self.cimzett,
            "DokTipusAzonosito" => &mut self.tipus,
            "DokTipusLeiras" => &mut self.leiras,
            "DokTipusVerzio" => &mut self.verzio,
            "FileNev" => &mut self.file_nev,
            "Megjegyzes" => &mut self.megjegyzes,
            "Hivatkozas" => &mut self.hivatkozas,
            _ => return None,
        })
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Place {
    Outside,
    Root,
    Header,
    HeaderField,
    Body,
    /// Inside a `Dokumentum`, whose content was already streamed.
    Document,
    Done,
}

/// Reads an envelope into the upload and returns the message fields it names.
pub async fn read<R: AsyncBufRead + Unpin>(upload: &mut Upload, src: R) -> Result<Outgoing> {
    let mut reader = Reader::from_reader(src);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut place = Place::Outside;
    let mut header = Header::default();
    let mut seen_header = false;
    let mut field: Option<String> = None;
    let mut text = String::new();
    let mut documents = 0usize;
    let mut first_name: Option<String> = None;
    loop {
        buf.clear();
        let event = reader
            .read_event_into_async(&mut buf)
            .await
            .map_err(malformed)?;
        match event {
            Event::DocType(_) => return Err(Error::field("Boritek", "envelope.dtd_forbidden")),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                place = match (place, name.as_str()) {
                    (Place::Outside, "Boritek") => Place::Root,
                    (Place::Root, "Fejlec") if !seen_header => {
                        seen_header = true;
                        Place::Header
                    }
                    (Place::Root, "Torzs") => {
                        if !seen_header {
                            return Err(Error::field("Boritek/Fejlec", "envelope.element_missing"));
                        }
                        Place::Body
                    }
                    (Place::Header, n) if header.slot(n).is_some() => {
                        field = Some(n.to_string());
                        text.clear();
                        Place::HeaderField
                    }
                    (Place::Body, "Dokumentum") => {
                        documents += 1;
                        if documents > DOCUMENTS_MAX {
                            return Err(Error::field(
                                "Torzs/Dokumentum",
                                "envelope.too_many_documents",
                            ));
                        }
                        let mut name = header.file_nev.clone();
                        let mut media = None;
                        for a in e.attributes() {
                            let a = a.map_err(malformed)?;
                            let value = a.normalized_value(XML).map_err(malformed)?.to_string();
                            match a.key.local_name().as_ref() {
                                "FileNev" => name = Some(value),
                                "Tipus" => media = Some(value),
                                _ => {}
                            }
                        }
                        let Some(name) = name else {
                            return Err(Error::field(
                                "Torzs/Dokumentum@FileNev",
                                "envelope.element_missing",
                            ));
                        };
                        stream_document(upload, reader.get_mut(), &name, media.as_deref()).await?;
                        first_name.get_or_insert(name);
                        Place::Document
                    }
                    (Place::Outside, _) => {
                        return Err(Error::field("Boritek", "envelope.not_an_envelope"));
                    }
                    _ => return Err(Error::field("Boritek", "envelope.unexpected_element")),
                };
            }
            Event::Empty(e) => {
                if place == Place::Header && header.slot(e.local_name().as_ref()).is_some() {
                    continue;
                }
                return Err(Error::field("Boritek", "envelope.unexpected_element"));
            }
            Event::Text(t) => {
                if place == Place::HeaderField {
                    text.push_str(&t.xml_content(XML));
                    if text.len() > HEADER_MAX {
                        return Err(Error::field("Fejlec", "text.too_long"));
                    }
                } else if !t.xml_content(XML).trim().is_empty() {
                    return Err(Error::field("Boritek", "envelope.unexpected_text"));
                }
            }
            Event::CData(t) if place == Place::HeaderField => {
                text.push_str(&t.xml_content(XML));
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(malformed)?.map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r).map(str::to_string)
                };
                let Some(resolved) = resolved else {
                    return Err(Error::field("Boritek", "envelope.entity_forbidden"));
                };
                if place == Place::HeaderField {
                    text.push_str(&resolved);
                }
            }
            Event::End(_) => {
                place = match place {
                    Place::HeaderField => {
                        if let Some(f) = field.take()
                            && let Some(slot) = header.slot(&f)
                        {
                            *slot = Some(text.trim().to_string());
                        }
                        Place::Header
                    }
                    Place::Document => Place::Body,
                    Place::Header | Place::Body => Place::Root,
                    Place::Root => Place::Done,
                    other => other,
                };
            }
            Event::Eof => break,
            _ => return Err(Error::field("Boritek", "envelope.unexpected_element")),
        }
    }
    if place != Place::Done {
        return Err(Error::field("Boritek", "envelope.malformed"));
    }
    if !seen_header {
        return Err(Error::field("Boritek/Fejlec", "envelope.element_missing"));
    }
    let mut missing = Vec::new();
    if header
        .cimzett
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        missing.push(crate::error::FieldError::new(
            "Fejlec/Cimzett",
            "envelope.element_missing",
        ));
    }
    if header.tipus.as_deref().is_none_or(|s| s.trim().is_empty()) {
        missing.push(crate::error::FieldError::new(
            "Fejlec/DokTipusAzonosito",
            "envelope.element_missing",
        ));
    }
    if header.leiras.as_deref().is_none_or(|s| s.trim().is_empty()) {
        missing.push(crate::error::FieldError::new(
            "Fejlec/DokTipusLeiras",
            "envelope.element_missing",
        ));
    }
    if documents == 0 {
        missing.push(crate::error::FieldError::new(
            "Torzs/Dokumentum",
            "envelope.element_missing",
        ));
    }
    if !missing.is_empty() {
        return Err(Error::Validation(missing));
    }
    let reference = header
        .hivatkozas
        .clone()
        .or_else(|| header.file_nev.clone())
        .or(first_name)
        .unwrap_or_default();
    Ok(Outgoing {
        recipient: header.cimzett,
        doc_type: header.tipus.unwrap_or_default(),
        doc_type_desc: header.leiras.unwrap_or_default(),
        doc_type_version: header.verzio,
        reference,
        note: header.megjegyzes,
        ..Default::default()
    })
}

/// Decodes one document's base64 straight from the input up to the next `<`.
async fn stream_document<R: AsyncBufRead + Unpin>(
    upload: &mut Upload,
    src: &mut R,
    name: &str,
    media: Option<&str>,
) -> Result<()> {
    let mut doc = upload.begin(name, media)?;
    let engine = base64::engine::general_purpose::STANDARD;
    // Base64 characters not yet decoded (always fewer than a whole group at the end).
    let mut pending: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut decoded: Vec<u8> = Vec::with_capacity(48 * 1024);
    let result: Result<()> = async {
        loop {
            let chunk = src.fill_buf().await.map_err(malformed)?;
            if chunk.is_empty() {
                return Err(Error::field("Torzs/Dokumentum", "envelope.malformed"));
            }
            let end = chunk.iter().position(|b| *b == b'<');
            let take = end.unwrap_or(chunk.len());
            for &b in &chunk[..take] {
                match b {
                    b' ' | b'\n' | b'\r' | b'\t' => {}
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => pending.push(b),
                    _ => return Err(Error::field("Torzs/Dokumentum", "envelope.not_base64")),
                }
            }
            src.consume(take);
            let whole = if end.is_some() {
                pending.len()
            } else {
                pending.len() / 4 * 4
            };
            if whole > 0 {
                decoded.clear();
                engine
                    .decode_vec(&pending[..whole], &mut decoded)
                    .map_err(|_| Error::field("Torzs/Dokumentum", "envelope.not_base64"))?;
                pending.drain(..whole);
                doc.write(&decoded).await?;
            }
            if end.is_some() {
                return Ok(());
            }
        }
    }
    .await;
    match result {
        Ok(()) => upload.finish(doc).await,
        Err(e) => {
            upload.abort(doc).await;
            Err(e)
        }
    }
}
