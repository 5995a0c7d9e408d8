//! A client registration as a maintainer writes it, and its checks: exact and safe
//! addresses, known types and algorithms, a back-channel address outside Kapu's own network.

use crate::access::catalog::parse_launch_url;
use crate::error::{Error, FieldError, Result};

#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Public keys (a JWKS) the client signs its `private_key_jwt` assertions with.
    pub jwks: Option<serde_json::Value>,
    /// `EdDSA` (the default) or `RS256`.
    pub id_token_signed_response_alg: String,
    pub subject_type: String,
    pub contact: String,
    /// Whether a confidential client must send PKCE too; `None` keeps a registration's
    /// choice, and gives a new one the `sso_pkce_required` system variable's value.
    pub require_pkce: Option<bool>,
}

/// A redirect address: exact, absolute, `https://` (or `http://` on the local machine, for
/// development clients), without a fragment.
pub fn parse_redirect_uri(s: &str) -> std::result::Result<String, &'static str> {
    let s = s.trim();
    if s.contains('#') {
        return Err("sso.redirect_uri_invalid");
    }
    parse_launch_url(s).map_err(|_| "sso.redirect_uri_invalid")
}

/// Checks a registration; `internal_logout` lets the back-channel address be internal.
pub fn check_input(input: &ClientInput, internal_logout: bool) -> Result<ClientInput> {
    let mut errors = Vec::new();
    if !matches!(input.client_type.as_str(), "confidential" | "public") {
        errors.push(FieldError::new("client_type", "sso.client_type_invalid"));
    }
    let alg = match input.id_token_signed_response_alg.as_str() {
        "" | "EdDSA" => "EdDSA",
        "RS256" => "RS256",
        _ => {
            errors.push(FieldError::new(
                "id_token_signed_response_alg",
                "sso.alg_invalid",
            ));
            "EdDSA"
        }
    };
    if !matches!(input.subject_type.as_str(), "public" | "pairwise") {
        errors.push(FieldError::new("subject_type", "sso.subject_type_invalid"));
    }
    let mut parse_all = |list: &[String], field: &'static str, required: bool| {
        let parsed: Vec<String> = list
            .iter()
            .filter_map(|u| match parse_redirect_uri(u) {
                Ok(u) => Some(u),
                Err(k) => {
                    errors.push(FieldError::new(field, k));
                    None
                }
            })
            .collect();
        if (required && list.is_empty()) || list.len() > 20 {
            errors.push(FieldError::new(field, "sso.redirect_uris_count"));
        }
        parsed
    };
    let redirect_uris = parse_all(&input.redirect_uris, "redirect_uris", true);
    let post_logout = parse_all(
        &input.post_logout_redirect_uris,
        "post_logout_redirect_uris",
        false,
    );
    let backchannel = input
        .backchannel_logout_uri
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .and_then(|u| match parse_redirect_uri(u) {
            Ok(u) if !internal_logout && super::addresses::internal_address(&u) => {
                errors.push(FieldError::new(
                    "backchannel_logout_uri",
                    "sso.backchannel_internal",
                ));
                None
            }
            Ok(u) => Some(u),
            Err(k) => {
                errors.push(FieldError::new("backchannel_logout_uri", k));
                None
            }
        });
    let jwks = match &input.jwks {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(v.clone()) {
            Ok(set) if !set.keys.is_empty() && set.keys.len() <= 10 => Some(v.clone()),
            _ => {
                errors.push(FieldError::new("jwks", "sso.jwks_invalid"));
                None
            }
        },
    };
    let contact = input.contact.trim();
    if contact.is_empty() || contact.chars().count() > 200 {
        errors.push(FieldError::new("contact", "sso.contact_required"));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(ClientInput {
        client_type: input.client_type.clone(),
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        backchannel_logout_uri: backchannel,
        jwks,
        id_token_signed_response_alg: alg.to_string(),
        subject_type: input.subject_type.clone(),
        contact: contact.to_string(),
        require_pkce: input.require_pkce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_addresses_are_exact_and_safe() {
        assert!(parse_redirect_uri("https://portal.example.hu/callback").is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:8081/cb").is_ok());
        assert!(parse_redirect_uri("http://portal.example.hu/cb").is_err());
        assert!(parse_redirect_uri("https://portal.example.hu/cb#x").is_err());
        assert!(parse_redirect_uri("/relative").is_err());
    }
}
