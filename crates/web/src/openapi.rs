//! The OpenAPI 3.1 description of the API, served at `/api/v1/openapi.json`.

use axum::Json;
use serde_json::{Value, json};

pub async fn document() -> Json<Value> {
    Json(spec())
}

fn spec() -> Value {
    let mut doc = paths_and_schemas();
    doc["components"]["securitySchemes"] = json!({
        "token": {"type": "http", "scheme": "bearer", "description": "a [[token]] of upkeep.toml (`upkeep token new`)"},
        "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "a dashboard sign-in"}
    });
    // The API wants a token or a session (unless no [[user]] or [[token]] is configured at all).
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (_, item) in paths.iter_mut().filter(|(path, _)| path.starts_with("/api/v1/checks")) {
            for operation in item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()) {
                operation["security"] = json!([{"token": []}, {"session": []}]);
                operation["responses"]["401"] = json!({"description": "a token or a dashboard session is needed"});
            }
        }
    }
    doc["paths"]["/metrics"]["get"]["security"] = json!([{}, {"token": []}]);
    doc
}

fn paths_and_schemas() -> Value {
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Upkeep", "version": env!("CARGO_PKG_VERSION"), "description": "Checks, their results and the watched system's health."},
        "paths": {
            "/up": {"get": {"summary": "Upkeep's own liveness", "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/health": {"get": {"summary": "The watched system's health", "responses": {
                "200": {"description": "healthy or degraded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                "503": {"description": "unhealthy", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics: OpenMetrics when the Accept header asks for it, else the classic text format", "responses": {"200": {"description": "metrics", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}, "401": {"description": "a token is required (`[server] metrics = \"token\"`)"}}}},
            "/ping/{id}": {
                "get": {"summary": "Heartbeat: the job ran", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "recorded"}, "404": {"description": "no heartbeat check has this id"}}},
                "post": {"summary": "Heartbeat with a body (kept, up to 10 kB)", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "recorded"}, "404": {"description": "no heartbeat check has this id"}}}
            },
            "/ping/{id}/fail": {"get": {"summary": "Heartbeat: the job failed", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "recorded"}, "404": {"description": "no heartbeat check has this id"}}}, "post": {"summary": "Heartbeat: the job failed", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "recorded"}, "404": {"description": "no heartbeat check has this id"}}}},
            "/api/v1/checks": {"get": {"summary": "Every check and its current status", "responses": {"200": {"description": "checks", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/CheckSummary"}}}}}}}},
            "/api/v1/checks/{name}": {"get": {"summary": "One check, with 24h/7d/30d availability and percentiles", "parameters": [name], "responses": {"200": {"description": "the check", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckDetail"}}}}, "404": error}}},
            "/api/v1/checks/{name}/results": {"get": {"summary": "Raw results, newest first, a page at a time (at most `limit` results and about 4 MiB)", "parameters": [
                name,
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "default: an hour before `to`"},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "default: now"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}}
            ], "responses": {"200": {"description": "results", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Results"}}}}, "400": error, "404": error}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Health": {"type": "object", "required": ["status", "timestamp", "checks"], "properties": {
                "status": {"enum": ["healthy", "degraded", "unhealthy"]},
                "timestamp": {"type": "string", "format": "date-time"},
                "checks": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "status": {"enum": ["ok", "error"]}, "response_time_ms": {"type": "number"}, "message": {"type": ["string", "null"]}}}}}},
            "CheckSummary": {"type": "object", "required": ["name", "kind", "status"], "properties": {
                "name": {"type": "string"}, "kind": {"type": "string"}, "target": {"type": "string"},
                "component": {"type": ["string", "null"]}, "critical": {"type": "boolean"},
                "depends_on": {"type": "array", "items": {"type": "string"}},
                "status": {"enum": ["ok", "error", "pending"]},
                "since": {"type": ["string", "null"], "format": "date-time"},
                "last_run": {"type": ["string", "null"], "format": "date-time"},
                "latency_ms": {"type": ["number", "null"]}, "message": {"type": ["string", "null"]}}},
            "CheckDetail": {"allOf": [{"$ref": "#/components/schemas/CheckSummary"}, {"type": "object", "properties": {
                "windows": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "runs": {"type": "integer"}, "availability": {"type": ["number", "null"]},
                    "p95_ms": {"type": ["number", "null"]}, "p99_ms": {"type": ["number", "null"]}}}},
                "observations": {"type": ["object", "null"]},
                "expect": {"type": "array", "items": {"type": "string"}}}}]},
            "Results": {"type": "object", "properties": {
                "check": {"type": "string"}, "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
                "next_to": {"type": ["string", "null"], "format": "date-time", "description": "when the page stopped short (at `limit` or about 4 MiB): the `to` of the next page"},
                "results": {"type": "array", "items": {"type": "object", "properties": {
                    "at": {"type": "string", "format": "date-time"}, "status": {"enum": ["ok", "error"]},
                    "latency_ms": {"type": "number"}, "message": {"type": ["string", "null"]}, "observations": {"type": ["object", "null"]}}}}}}
        }}
    })
}
