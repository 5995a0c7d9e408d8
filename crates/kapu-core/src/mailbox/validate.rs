//! The rules a message's fields follow, as plain functions returning message keys.

fn no_control(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// A document type code (`AKLKL`, `VisszaIG`): ASCII letters, digits, `_` and `-`, starting
/// with a letter, 1–30 characters.
pub fn doc_type(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Err("message.doc_type_required");
    }
    let ok = s.len() <= 30
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("message.doc_type_format")
    }
}

/// Free text of at most `max` characters, without control characters; `required` refuses
/// an empty one.
pub fn text(s: &str, max: usize, required: &'static str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() && !required.is_empty() {
        return Err(required);
    }
    if s.chars().count() > max {
        return Err("text.too_long");
    }
    if !no_control(s) {
        return Err("text.control_chars");
    }
    Ok(s.to_string())
}

/// A multi-line note: line breaks and tabs allowed, other control characters not.
pub fn note(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.chars().count() > 2000 {
        return Err("text.too_long");
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("text.control_chars");
    }
    Ok(s.to_string())
}

/// A document's file name: no path, no control characters, 1–255 bytes.
pub fn file_name(s: &str) -> Result<String, &'static str> {
    let base = s.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err("document.name_required");
    }
    if base.len() > 255 || !no_control(base) || base.contains('"') || base.chars().any(bidi_control)
    {
        return Err("document.name_format");
    }
    Ok(base.to_string())
}

/// Characters that reorder the text around them: `szamla\u{202e}fdp.exe` would show as
/// `szamlaexe.pdf`. A document's name is shown to its recipient, so none may hide its
/// real ending.
fn bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A media type `type/subtype` of token characters; anything else is stored as
/// `application/octet-stream`, the safe default for a download.
pub fn media_type(s: Option<&str>) -> String {
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 100
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    let essence = s.unwrap_or("").split(';').next().unwrap_or("").trim();
    match essence.split_once('/') {
        Some((a, b)) if token(a) && token(b) => essence.to_ascii_lowercase(),
        _ => "application/octet-stream".to_string(),
    }
}

/// An e-mail address for notifications (empty: none).
pub fn optional_email(s: &str) -> Result<Option<String>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    crate::platform::names::email(s).map(Some)
}

/// An `age` X25519 recipient (`age1…`, bech32), the key an office publishes so that senders
/// can encrypt to it end to end.
pub fn age_recipient(s: &str) -> Result<Option<String>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let ok = s.len() == 62 && s.starts_with("age1") && s[4..].chars().all(|c| BECH32.contains(c));
    if ok {
        Ok(Some(s.to_string()))
    } else {
        Err("office.public_key_format")
    }
}

/// The first line of every file the `age` tool writes.
pub const AGE_HEADER: &[u8] = b"age-encryption.org/v1\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_type_codes_are_short_ascii_words() {
        assert_eq!(doc_type(" AKLKL "), Ok("AKLKL".into()));
        assert_eq!(doc_type("VisszaIG"), Ok("VisszaIG".into()));
        assert_eq!(doc_type(""), Err("message.doc_type_required"));
        assert_eq!(doc_type("1ABC"), Err("message.doc_type_format"));
        assert_eq!(doc_type("ÁB"), Err("message.doc_type_format"));
        assert_eq!(doc_type("A B"), Err("message.doc_type_format"));
    }

    #[test]
    fn file_names_lose_their_path_and_keep_no_control_characters() {
        assert_eq!(file_name("C:\\x\\kérelem.pdf"), Ok("kérelem.pdf".into()));
        assert_eq!(file_name("../../etc/passwd"), Ok("passwd".into()));
        assert_eq!(file_name(".."), Err("document.name_required"));
        assert_eq!(file_name("a\nb"), Err("document.name_format"));
        for hidden in ["szamla\u{202e}fdp.exe", "a\u{2066}b.pdf", "a\u{2069}.pdf"] {
            assert_eq!(file_name(hidden), Err("document.name_format"), "{hidden:?}");
        }
    }

    #[test]
    fn odd_media_types_become_octet_streams() {
        assert_eq!(media_type(Some("application/PDF; q=1")), "application/pdf");
        assert_eq!(
            media_type(Some("text/html<script>")),
            "application/octet-stream"
        );
        assert_eq!(media_type(None), "application/octet-stream");
    }

    #[test]
    fn only_age_recipients_are_public_keys() {
        let k = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        assert_eq!(age_recipient(k), Ok(Some(k.into())));
        assert_eq!(age_recipient(""), Ok(None));
        assert!(age_recipient("ssh-ed25519 AAAA").is_err());
    }
}
