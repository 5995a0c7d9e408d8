//! The OpenAPI 3.1 description of `/api/v1`, built once.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Value, json};

fn op(summary: &str, tag: &str, body: Option<&str>, ok: &str, public: bool) -> Value {
    let mut o = json!({
        "summary": summary,
        "tags": [tag],
        "responses": {
            ok: {"description": "Success"},
            "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    });
    if let Some(schema) = body {
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    }
    if public {
        o["security"] = json!([]);
    }
    o
}

fn params(names: &[&str]) -> Value {
    names
        .iter()
        .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn list_params() -> Value {
    json!([
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Filter text"},
        {"name": "sort", "in": "query", "schema": {"type": "string"}},
        {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["all", "active", "locked"]}}
    ])
}

fn string_props(names: &[&str]) -> Value {
    let mut props = serde_json::Map::new();
    for n in names {
        props.insert((*n).to_string(), json!({"type": "string"}));
    }
    json!({"type": "object", "required": names, "properties": props})
}

fn build() -> Value {
    let user = ["tenant", "login"];
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Kapu API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/session": {
                "post": op("Log in with name@tenant and password; returns a bearer token", "session", Some("Login"), "201", true),
                "delete": op("Log out (end this session)", "session", None, "204", false)
            },
            "/sessions": {"delete": op("End every session of the caller", "session", None, "200", false)},
            "/me": {"get": op("The caller: user, tenant, mode, roles, password expiry", "session", None, "200", false)},
            "/me/password": {"put": op("Change own password", "session", Some("ChangePassword"), "204", false)},
            "/me/password-warning/silence": {"post": op("Silence the early password-expiry warning", "session", None, "204", false)},
            "/activation": {"post": op("Set the first password through an activation link", "password", Some("LinkPassword"), "200", true)},
            "/password-reset": {"post": op("Ask for a forgotten-password link (answers the same for every login)", "password", Some("ResetRequest"), "202", true)},
            "/password-reset/complete": {"post": op("Set a new password through a forgotten-password link", "password", Some("LinkPassword"), "200", true)},
            "/tenants": {
                "get": {"parameters": list_params(), "summary": "List tenants", "tags": ["tenants"], "responses": {"200": {"description": "A page of tenants"}}},
                "post": op("Create a tenant with its primary user administrator (central administrators, secure mode)", "tenants", Some("NewTenant"), "201", false)
            },
            "/tenants/{tenant}": {
                "parameters": params(&["tenant"]),
                "get": op("Read a tenant", "tenants", None, "200", false),
                "patch": op("Rename a tenant", "tenants", Some("Rename"), "200", false)
            },
            "/tenants/{tenant}/users": {
                "parameters": params(&["tenant"]),
                "get": {"parameters": list_params(), "summary": "List users", "tags": ["users"], "responses": {"200": {"description": "A page of users"}}},
                "post": op("Create a user; an activation e-mail is sent", "users", Some("NewUser"), "201", false)
            },
            "/tenants/{tenant}/users/{login}": {
                "parameters": params(&user),
                "get": op("Read a user", "users", None, "200", false),
                "patch": op("Change full name or e-mail", "users", Some("UserChanges"), "200", false),
                "delete": op("Delete a user (soft; the login name is never reused)", "users", None, "204", false)
            },
            "/tenants/{tenant}/users/{login}/lock": {"parameters": params(&user), "post": op("Lock a user", "users", None, "200", false)},
            "/tenants/{tenant}/users/{login}/unlock": {"parameters": params(&user), "post": op("Unlock a user, also lifting a lock after wrong passwords", "users", None, "200", false)},
            "/tenants/{tenant}/users/{login}/password": {"parameters": params(&user), "put": op("Set a user's password", "users", Some("Password"), "204", false)},
            "/tenants/{tenant}/users/{login}/activation-link": {"parameters": params(&user), "post": op("Send a new activation link", "users", None, "202", false)},
            "/settings": {"get": op("List system variables (effective for the caller's tenant, or ?tenant=)", "settings", None, "200", false)},
            "/settings/{name}": {
                "parameters": params(&["name"]),
                "get": op("Read a system variable", "settings", None, "200", false),
                "put": op("Set the central value (tenant values of overridable variables follow)", "settings", Some("Value"), "200", false)
            },
            "/tenants/{tenant}/settings/{name}": {
                "parameters": params(&["tenant", "name"]),
                "put": op("Set a tenant value of an overridable variable", "settings", Some("Value"), "200", false),
                "delete": op("Clear a tenant value", "settings", None, "200", false)
            },
            "/audit": {"get": {
                "summary": "Query the business log",
                "tags": ["audit"],
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD or RFC 3339"},
                    {"name": "to", "in": "query", "schema": {"type": "string"}},
                    {"name": "tenant", "in": "query", "schema": {"type": "string"}},
                    {"name": "user", "in": "query", "schema": {"type": "string"}, "description": "name@tenant"},
                    {"name": "page", "in": "query", "schema": {"type": "integer"}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "A page of records, newest first"}}
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "enum": ["invalid_credentials", "account_locked", "password_expired", "validation_failed",
                        "secure_mode_required", "forbidden", "not_found", "conflict", "too_many_requests", "link_invalid", "unauthenticated", "internal"]},
                    "message": {"type": "string"},
                    "request_id": {"type": "string"},
                    "retry_after_seconds": {"type": "integer"},
                    "fields": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}
                }}}},
                "Login": {"type": "object", "required": ["login", "password"], "properties": {
                    "login": {"type": "string", "example": "kovacs.janos@szeged"},
                    "password": {"type": "string"},
                    "mode": {"type": "string", "enum": ["normal", "secure"]}
                }},
                "ChangePassword": string_props(&["current_password", "new_password"]),
                "LinkPassword": string_props(&["token", "password"]),
                "ResetRequest": string_props(&["login"]),
                "NewUser": string_props(&["login", "full_name", "email"]),
                "UserChanges": {"type": "object", "properties": {"full_name": {"type": "string"}, "email": {"type": "string"}}},
                "Password": string_props(&["password"]),
                "Rename": string_props(&["name"]),
                "NewTenant": {"type": "object", "required": ["code", "name", "admin"], "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"}, "admin": {"$ref": "#/components/schemas/NewUser"}
                }},
                "Value": {"type": "object", "required": ["value"], "properties": {"value": {}}}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(build).clone())
}
