//! KR-style envelopes (`Boritek`): one XML upload that carries its own routing header and
//! its documents as base64. Parsed streaming: the header with an XML reader that refuses
//! DTDs and entities beyond XML's own, each document's base64 decoded as it flows past into
//! the blob store, so an envelope of any size needs only a few buffers of memory. The XML
//! reader holds a whole event (a text, a comment, a tag with its attributes) before it hands
//! it over, so every event is bounded while it is read, and the whole envelope by the
//! message limit.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::Event;
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncRead, ReadBuf};

use super::sending::{Outgoing, Upload};
use crate::error::{Error, Result};

/// The schema of the envelope, published at `/schemas/boritek.xsd`.
pub const XSD: &str = include_str!("boritek.xsd");

/// Longest header value, in bytes.
const HEADER_MAX: usize = 4000;
/// Longest single XML event outside the documents' content (a header value with its
/// escapes, a comment, whitespace, a tag with its attributes), in bytes.
const EVENT_MAX: usize = 64 * 1024;
/// What an envelope may carry beyond its documents' base64 (the header, tags, whitespace).
const OVERHEAD_MAX: u64 = 1024 * 1024;
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

/// A header element's path, as a refusal names it.
fn header_path(name: &str) -> &'static str {
    match name {
        "Cimzett" => "Fejlec/Cimzett",
        "DokTipusAzonosito" => "Fejlec/DokTipusAzonosito",
        "DokTipusLeiras" => "Fejlec/DokTipusLeiras",
        "DokTipusVerzio" => "Fejlec/DokTipusVerzio",
        "FileNev" => "Fejlec/FileNev",
        "Megjegyzes" => "Fejlec/Megjegyzes",
        "Hivatkozas" => "Fejlec/Hivatkozas",
        _ => "Fejlec",
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

/// Which bound an envelope passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Over {
    Event,
    Total,
}

/// The envelope's bytes as the XML reader takes them, counted: no event may take more than
/// [`EVENT_MAX`] bytes, and the whole envelope no more than its limit. Past either, the
/// next read fails, before the reader's buffer can grow with it.
struct Bounded<R> {
    inner: R,
    /// Bytes taken since the current event began.
    event: usize,
    total: u64,
    total_max: u64,
    /// A document's base64 is being streamed: only the total counts.
    streaming: bool,
    over: Option<Over>,
}

impl<R: AsyncBufRead + Unpin> AsyncRead for Bounded<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let available = match self.as_mut().poll_fill_buf(cx) {
            Poll::Ready(Ok(chunk)) => chunk,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncBufRead + Unpin> AsyncBufRead for Bounded<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let over = if this.total > this.total_max {
            Some(Over::Total)
        } else if !this.streaming && this.event > EVENT_MAX {
            Some(Over::Event)
        } else {
            None
        };
        if let Some(o) = over {
            this.over = Some(o);
            return Poll::Ready(Err(io::Error::other("envelope bound passed")));
        }
        Pin::new(&mut this.inner).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.total = this.total.saturating_add(amt as u64);
        if !this.streaming {
            this.event = this.event.saturating_add(amt);
        }
        Pin::new(&mut this.inner).consume(amt);
    }
}

/// The refusal for a bound the envelope passed.
fn bounded_error(over: Option<Over>, e: impl std::fmt::Display) -> Error {
    match over {
        Some(Over::Event) => Error::field("Boritek", "envelope.part_too_long"),
        Some(Over::Total) => Error::TooLarge,
        None => malformed(e),
    }
}

/// Reads an envelope into the upload and returns the message fields it names.
pub async fn read<R: AsyncBufRead + Unpin>(upload: &mut Upload, src: R) -> Result<Outgoing> {
    // Base64 is a third larger than what it carries.
    let total_max = u64::try_from(upload.max_message().max(0))
        .unwrap_or(0)
        .saturating_mul(4)
        / 3
        + OVERHEAD_MAX;
    let mut reader = Reader::from_reader(Bounded {
        inner: src,
        event: 0,
        total: 0,
        total_max,
        streaming: false,
        over: None,
    });
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
        reader.get_mut().event = 0;
        let event = match reader.read_event_into_async(&mut buf).await {
            Ok(event) => event,
            Err(e) => return Err(bounded_error(reader.get_ref().over, e)),
        };
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
                        let named = Outgoing {
                            recipient: header.cimzett.clone(),
                            ..Default::default()
                        };
                        upload.before_documents(&named).await?;
                        Place::Body
                    }
                    (Place::Header, n) if header.slot(n).is_some() => {
                        // Each header element once (the schema's `all`): a second recipient
                        // is refused, never chosen between.
                        if header.slot(n).is_some_and(|s| s.is_some()) {
                            return Err(Error::field(header_path(n), "envelope.element_repeated"));
                        }
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
                        // The schema lets a document go without a name anywhere: it gets one.
                        let name = name.unwrap_or_else(|| format!("dokumentum-{documents}"));
                        reader.get_mut().streaming = true;
                        let streamed =
                            stream_document(upload, reader.get_mut(), &name, media.as_deref())
                                .await;
                        reader.get_mut().streaming = false;
                        if let Err(e) = streamed {
                            return Err(match reader.get_ref().over {
                                Some(Over::Total) => Error::TooLarge,
                                _ => e,
                            });
                        }
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
                let name = e.local_name().as_ref().to_string();
                if place == Place::Header && header.slot(&name).is_some() {
                    if header.slot(&name).is_some_and(|s| s.is_some()) {
                        return Err(Error::field(
                            header_path(&name),
                            "envelope.element_repeated",
                        ));
                    }
                    if let Some(slot) = header.slot(&name) {
                        *slot = Some(String::new());
                    }
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
                if text.len() > HEADER_MAX {
                    return Err(Error::field("Fejlec", "text.too_long"));
                }
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
                    if text.len() > HEADER_MAX {
                        return Err(Error::field("Fejlec", "text.too_long"));
                    }
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
