//! The API contract test: every response the tests receive from `/api/v1` is checked against
//! the OpenAPI document the server generates (status documented for the operation, body valid
//! against its schema), and so is every request the server accepts (its JSON body against the
//! operation's request schema, its query against the documented parameters), so the document
//! cannot drift from the handlers unnoticed, in either direction.

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

/// What in `instance` does not fit `schema` (cached under `key`).
fn problems(key: &str, schema: &Value, instance: &Value) -> Result<Vec<String>, String> {
    let v = validator(key, schema)?;
    Ok(v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect())
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
    let problems = problems(&key, &schema, &instance)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: body does not fit the schema: {}; body: {instance}",
            problems.join("; ")
        ))
    }
}

/// Checks a request the server accepted: its JSON body against the operation's request
/// schema, and each query parameter against the documented ones.
pub fn check_request(
    method: &Method,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let doc = &contract().doc;
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(());
    };
    let Some((template, Some(op))) = operation(doc, method, rest) else {
        return Ok(());
    };
    let what = format!("request {method} {path}");
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = crate::sso::percent_decode(value);
        let Some(param) = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name)
        else {
            return Err(format!(
                "{what}: query parameter {name:?} is not documented"
            ));
        };
        let schema = param.get("schema").cloned().unwrap_or(Value::Bool(true));
        // A query value is text; the schema's type says how it reads.
        let instance = match schema["type"].as_str() {
            Some("integer") => value
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(value.clone())),
            Some("boolean") => value
                .parse::<bool>()
                .map(Value::from)
                .unwrap_or(Value::String(value.clone())),
            _ => Value::String(value.clone()),
        };
        let key = format!("{method} {template} query {name}");
        let v = validator(&key, &schema)?;
        if let Some(e) = v.iter_errors(&instance).next() {
            return Err(format!("{what}: query {name}={value:?} does not fit: {e}"));
        }
    }
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media != "application/json" || body.is_empty() {
        return Ok(());
    }
    let Some(schema) = op
        .pointer("/requestBody/content/application~1json/schema")
        .cloned()
    else {
        return Err(format!("{what}: a JSON body where none is documented"));
    };
    let instance: Value =
        serde_json::from_slice(body).map_err(|e| format!("{what}: not JSON: {e}"))?;
    let key = format!("{method} {template} request");
    let problems = problems(&key, &schema, &instance)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: the body does not fit the documented request: {}; body: {instance}",
            problems.join("; ")
        ))
    }
}

/// A layer for the test server: buffers each `/api/v1` request and answer, checks them, and
/// passes them on. A request is checked only when the server accepted it (2xx): the suite
/// sends bad ones on purpose, and what the server takes is what the document must describe.
pub async fn layer(violations: Violations, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if !path.starts_with(PREFIX) {
        return next.run(req).await;
    }
    let query = req.uri().query().map(str::to_string);
    let request_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Only JSON bodies are held for the check; uploads stream through untouched.
    let (req, sent) = if request_type.starts_with("application/json") {
        let (parts, body) = req.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
        (Request::from_parts(parts, Body::from(bytes.clone())), bytes)
    } else {
        (req, Default::default())
    };
    let response = next.run(req).await;
    if response.status().is_success()
        && let Err(e) = check_request(&method, &path, query.as_deref(), &request_type, &sent)
    {
        violations.lock().unwrap().push(e);
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

/// A schema name belongs to one type: utoipa files every type under its bare name, so two
/// types of one name share one component and the document describes one of them with the
/// other's fields. Every type deriving `ToSchema` in the server and the core is found by
/// its source, with the name it is documented as (`#[schema(as = …)]` where given).
#[test]
fn every_schema_name_belongs_to_one_type() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for root in ["../kapu-server/src", "../kapu-core/src"] {
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(root),
            &mut files,
        );
    }
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.trim_start().starts_with("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            let mut alias = None;
            for next in &lines[i + 1..] {
                let t = next.trim_start();
                if let Some(rest) = t.strip_prefix("#[schema(as = ") {
                    alias = rest.split(')').next().map(str::to_string);
                }
                let decl = [
                    "pub struct ",
                    "pub enum ",
                    "struct ",
                    "enum ",
                    "pub(crate) struct ",
                ]
                .iter()
                .find_map(|k| t.strip_prefix(k));
                if let Some(decl) = decl {
                    let name: String = decl
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let documented = alias.clone().unwrap_or(name);
                    names.entry(documented).or_default().push(format!(
                        "{}:{}",
                        file.display(),
                        i + 1
                    ));
                    break;
                }
            }
        }
    }
    let shared: Vec<_> = names.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "schema names of more than one type: {shared:?}"
    );
    assert!(names.len() > 50, "found {} schema types", names.len());
}
