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
            "/me/roles": {"get": op("The caller's roles in this session, with where each comes from", "session", None, "200", false)},
            "/me/substitutions": {"get": op("Whom the caller may act for, and who may act for the caller", "session", None, "200", false)},
            "/me/identity-choices": {"get": op("Principals the caller may act for now", "session", None, "200", false)},
            "/session/identity": {"post": op("Right after a browser-style login: act in one's own name or a principal's", "session", Some("Identity"), "204", false)},
            "/services": {
                "get": {"parameters": list_params(), "summary": "The service catalogue (format=csv for a download)", "tags": ["access"], "responses": {"200": {"description": "A page of services"}}},
                "post": op("Register a service and its roles (central framework administrators, secure mode)", "access", Some("Service"), "201", false)
            },
            "/services/{code}": {
                "parameters": params(&["code"]),
                "get": op("Read a service and its roles", "access", None, "200", false),
                "patch": op("Rename a service, change its address, add or rename roles", "access", Some("Service"), "200", false)
            },
            "/roles": {"get": {"parameters": list_params(), "summary": "Every role of every service (format=csv for a download)", "tags": ["access"], "responses": {"200": {"description": "A page of roles"}}}},
            "/tenants/{tenant}/services": {
                "parameters": params(&["tenant"]),
                "get": op("The tenant's contract", "access", None, "200", false),
                "put": op("Replace the tenant's contract (central administrators)", "access", Some("Contract"), "200", false)
            },
            "/tenants/{tenant}/roles": {"parameters": params(&["tenant"]), "get": op("Roles that may be granted in the tenant", "access", None, "200", false)},
            "/tenants/{tenant}/groups": {
                "parameters": params(&["tenant"]),
                "get": {"parameters": list_params(), "summary": "List groups", "tags": ["access"], "responses": {"200": {"description": "A page of groups"}}},
                "post": op("Create a group with members and roles", "access", Some("Group"), "201", false)
            },
            "/tenants/{tenant}/groups/{code}": {
                "parameters": params(&["tenant", "code"]),
                "get": op("Read a group", "access", None, "200", false),
                "patch": op("Change a group's name, members or roles", "access", Some("Group"), "200", false),
                "delete": op("Delete a group", "access", None, "204", false)
            },
            "/tenants/{tenant}/users/{login}/rights": {
                "parameters": params(&user),
                "get": op("A user's individual roles, groups and effective roles", "access", None, "200", false),
                "put": op("Replace a user's individual roles and/or groups", "access", Some("Rights"), "200", false)
            },
            "/tenants/{tenant}/substitutions": {
                "parameters": params(&["tenant"]),
                "get": {"parameters": list_params(), "summary": "List substitutions (deputy=, principal=, active=1)", "tags": ["access"], "responses": {"200": {"description": "A page of substitutions"}}},
                "post": op("Let a deputy act for a principal in chosen roles or a group's roles", "access", Some("Substitution"), "201", false)
            },
            "/tenants/{tenant}/substitutions/{id}": {
                "parameters": params(&["tenant", "id"]),
                "get": op("Read a substitution", "access", None, "200", false),
                "patch": op("Change its period or roles (ends_at: null makes it open-ended)", "access", None, "200", false),
                "delete": op("Delete a substitution; it stops on the deputy's next request", "access", None, "204", false)
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
                    "act_for": {"type": "string", "description": "A deputy's principal, name@tenant"},
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
                "Value": {"type": "object", "required": ["value"], "properties": {"value": {}}},
                "Identity": {"type": "object", "properties": {"act_for": {"type": ["string", "null"]}}},
                "Contract": {"type": "object", "required": ["services"], "properties": {"services": {"type": "array", "items": {"type": "string"}}}},
                "Service": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"}, "launch_url": {"type": "string"},
                    "roles": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"}}}}
                }},
                "Group": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"},
                    "members": {"type": "array", "items": {"type": "string"}}, "roles": {"type": "array", "items": {"type": "string"}}
                }},
                "Rights": {"type": "object", "properties": {"roles": {"type": "array", "items": {"type": "string"}}, "groups": {"type": "array", "items": {"type": "string"}}}},
                "Substitution": {"type": "object", "required": ["deputy", "principal"], "properties": {
                    "deputy": {"type": "string"}, "principal": {"type": "string"},
                    "roles": {"type": "array", "items": {"type": "string"}}, "group": {"type": "string"},
                    "starts_at": {"type": "string"}, "ends_at": {"type": ["string", "null"]}
                }}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(build).clone())
}
