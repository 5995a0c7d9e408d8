//! The API contract test: every response the tests receive from `/api/v1` is checked against
//! the OpenAPI document the server generates (status documented for the operation, body valid
//! against its schema), so the document cannot drift from the handlers unnoticed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

const PREFIX: &str = "/api/v1";

/// Violations found while a test ran; the test fails on them when its app is dropped.
pub type Violations = Arc<Mutex<Vec<String>>>;

struct Contract {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn contract() -> &'static Contract {
    static C: OnceLock<Contract> = OnceLock::new();
    C.get_or_init(|| Contract {
        doc: strict(serde_json::to_value(kapu_server::api::document()).unwrap()),
        validators: Mutex::new(HashMap::new()),
    })
}

/// Undocumented fields in an answer are drift too: every object schema of the document is
/// closed for the check (`unevaluatedProperties: false`). Parts of an `allOf` (and schemas
/// referenced from one) stay open themselves; the schema that combines them is closed.
fn strict(mut doc: Value) -> Value {
    fn close(v: &mut Value, this_level: bool) {
        match v {
            Value::Object(map) => {
                let combines = map.contains_key("allOf");
                if this_level && (combines || map.contains_key("properties")) {
                    map.entry("unevaluatedProperties")
                        .or_insert(Value::Bool(false));
                }
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), child) {
                        ("allOf", Value::Array(parts)) => {
                            parts.iter_mut().for_each(|p| close(p, false))
                        }
                        (_, child) => close(child, true),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| close(i, true)),
            _ => {}
        }
    }
    let mut parts = std::collections::HashSet::new();
    let text = doc.to_string();
    for (i, _) in text.match_indices("\"allOf\":[") {
        let rest = &text[i..];
        let end = rest.find(']').unwrap_or(rest.len());
        for r in rest[..end].split("#/components/schemas/").skip(1) {
            parts.insert(r.split('"').next().unwrap_or("").to_string());
        }
    }
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        for (name, schema) in schemas.iter_mut() {
            close(schema, !parts.contains(name));
        }
    }
    doc
}

/// The documented operation for a concrete path, preferring literal segments over parameters.
fn operation<'a>(
    doc: &'a Value,
    method: &Method,
    path: &str,
) -> Option<(&'a str, Option<&'a Value>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in doc["paths"].as_object()? {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = t.iter().zip(&segments).all(|(a, b)| {
            if a.starts_with('{') {
                !b.is_empty()
            } else {
                literal += 1;
                a == b
            }
        });
        if fits && best.is_none_or(|(n, _, _)| literal > n) {
            best = Some((literal, template, item));
        }
    }
    let (_, template, item) = best?;
    Some((template, item.get(method.as_str().to_ascii_lowercase())))
}

fn validator(key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    let c = contract();
    if let Some(v) = c.validators.lock().unwrap().get(key) {
        return Ok(v.clone());
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": c.doc["components"],
        "allOf": [schema],
    });
    let v = Arc::new(
        jsonschema::validator_for(&root).map_err(|e| format!("bad schema for {key}: {e}"))?,
    );
    c.validators
        .lock()
        .unwrap()
        .insert(key.to_string(), v.clone());
    Ok(v)
}

/// Checks one answer; `Err` says what does not fit.
pub fn check(
    method: &Method,
    path: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let doc = &contract().doc;
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(());
    };
    if rest.starts_with("/docs") || rest == "/openapi.json" {
        return Ok(());
    }
    let what = format!("{method} {path} → {status}");
    let Some((template, op)) = operation(doc, method, rest) else {
        // No such route: the router's own 404 with no body.
        return if status == 404 {
            Ok(())
        } else {
            Err(format!("{what}: undocumented path"))
        };
    };
    let Some(op) = op else {
        return if status == 405 {
            Ok(())
        } else {
            Err(format!("{what}: undocumented method"))
        };
    };
    let response = op["responses"]
        .get(status.to_string())
        .or_else(|| op["responses"].get("default"))
        .ok_or_else(|| format!("{what}: status not documented for {method} {template}"))?;
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(format!("{what}: body where none is documented"))
        };
    };
    let media = content_type.split(';').next().unwrap_or("").trim();
    // A download documented as any media type (`*/*`) fits whatever it carries.
    let schema = content
        .get(media)
        .or_else(|| content.get("*/*"))
        .ok_or_else(|| format!("{what}: media type {media:?} not documented"))?
        .get("schema")
        .cloned()
        .unwrap_or(Value::Bool(true));
    if media != "application/json" {
        return Ok(());
    }
    let instance: Value =
        serde_json::from_slice(body).map_err(|e| format!("{what}: not JSON: {e}"))?;
    let key = format!("{method} {template} {status} {media}");
    let v = validator(&key, &schema)?;
    let problems: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: body does not fit the schema: {}; body: {instance}",
            problems.join("; ")
        ))
    }
}

/// A layer for the test server: buffers each `/api/v1` answer, checks it, and passes it on.
pub async fn layer(violations: Violations, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if !path.starts_with(PREFIX) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Err(e) = check(&method, &path, parts.status.as_u16(), &content_type, &bytes) {
        violations.lock().unwrap().push(e);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids_and_documented_errors() {
    let doc = serde_json::to_value(kapu_server::api::document()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("500"),
                "{method} {path} documents no 500"
            );
            let public = op.get("security").is_some_and(|s| s == &json!([{}]));
            if !public {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents no 401"
                );
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(ids.len() > 40);
}
