//! The OpenAPI 3.1 description of the API, served at `/api/v1/openapi.json`.

use axum::Json;
use serde_json::{Value, json};

pub async fn document() -> Json<Value> {
    Json(spec())
}

fn spec() -> Value {
    let mut doc = paths_and_schemas();
    maintenance(&mut doc);
    backups(&mut doc);
    incidents(&mut doc);
    doc["components"]["securitySchemes"] = json!({
        "token": {"type": "http", "scheme": "bearer", "description": "a [[token]] of upkeep.toml (`upkeep token new`)"},
        "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "a dashboard sign-in"}
    });
    // The API wants a token or a session (unless no [[user]] or [[token]] is configured at all).
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (_, item) in
            paths.iter_mut().filter(|(path, _)| path.starts_with("/api/v1/") && !path.ends_with("openapi.json"))
        {
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
            "/api/v1/slos": {"get": {"summary": "Every SLO: SLI and error budget over its window, burn rates over the default alerts' windows", "responses": {"200": {"description": "SLOs", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Slo"}}}}}, "503": error}}},
            "/api/v1/alerts": {"get": {"summary": "Every alert (configured rules and the built-in check-down, flapping and SLO burn-rate alerts) with its state", "responses": {"200": {"description": "alerts", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}}}}}},
            "/api/v1/alerts/events": {"get": {"summary": "Alert state changes and due notifications, newest first", "parameters": [
                {"name": "before", "in": "query", "schema": {"type": "integer"}, "description": "only events older than this id (`next_before` of the previous page)"},
                {"name": "key", "in": "query", "schema": {"type": "string"}, "description": "one alert's key"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
            ], "responses": {"200": {"description": "events", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AlertEvents"}}}}, "400": error, "503": error}}},
            "/api/v1/silences": {
                "get": {"summary": "Every silence", "responses": {"200": {"description": "silences", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Silence"}}}}}}},
                "post": {"summary": "Set a silence (responder or admin)", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["matchers", "comment"], "additionalProperties": false, "properties": {
                    "matchers": {"type": "array", "items": {"type": "string"}}, "starts_at": {"type": "string", "format": "date-time"},
                    "ends_at": {"type": "string", "format": "date-time"}, "duration": {"type": "string"}, "comment": {"type": "string"}}}}}},
                    "responses": {"201": {"description": "the silence", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Silence"}}}}, "400": error, "403": error, "503": error}}
            },
            "/api/v1/silences/{id}": {"delete": {"summary": "Expire a silence now (responder or admin)", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "the silence", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Silence"}}}}, "400": error, "403": error, "404": error, "503": error}}},
            "/api/v1/notifications": {"get": {"summary": "The outbox, newest first: each notification's channel, state, attempts, last error and delivery time", "parameters": [
                {"name": "state", "in": "query", "schema": {"enum": ["pending", "delivered", "failed", "expired"]}},
                {"name": "channel", "in": "query", "schema": {"type": "string"}},
                {"name": "before", "in": "query", "schema": {"type": "integer"}, "description": "an id: the next page, from `next_before`"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
            ], "responses": {"200": {"description": "notifications", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "notifications": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}, "next_before": {"type": ["integer", "null"]}}}}}}, "400": error, "503": error}}},
            "/api/v1/channels": {"get": {"summary": "Every channel: where it sends (scheme and host), counts, and whether it is failing", "responses": {"200": {"description": "channels", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Channel"}}}}}, "503": error}}},
            "/api/v1/channels/{name}/test": {"post": {"summary": "Send a test notification through the outbox (admin)", "parameters": [name], "responses": {"202": {"description": "queued", "content": {"application/json": {"schema": {"type": "object", "properties": {"channel": {"type": "string"}, "key": {"type": "string"}, "state": {"type": "string"}}}}}}, "403": error, "404": error}}},
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
            "Notification": {"type": "object", "required": ["id", "key", "channel", "state", "attempts"], "properties": {
                "id": {"type": "integer"}, "key": {"type": "string", "description": "the idempotency key"}, "channel": {"type": "string"},
                "state": {"enum": ["pending", "delivered", "failed", "expired"]}, "attempts": {"type": "integer"},
                "created_at": {"type": "string", "format": "date-time"}, "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
                "expires_at": {"type": "string", "format": "date-time"}, "delivered_at": {"type": ["string", "null"], "format": "date-time"},
                "last_error": {"type": ["string", "null"]}, "answer": {"type": ["string", "null"]},
                "status": {"enum": ["firing", "resolved"]}, "alerts": {"type": "integer"}, "group_key": {"type": "string"},
                "link": {"type": "string"}, "test": {"type": "boolean"}}},
            "Channel": {"type": "object", "required": ["name", "kind", "failing"], "properties": {
                "name": {"type": "string"}, "kind": {"type": "string"}, "target": {"type": "string"}, "send_resolved": {"type": "boolean"},
                "failing": {"type": "boolean"}, "last_error": {"type": ["string", "null"]}, "last_delivered_at": {"type": ["string", "null"]},
                "pending": {"type": "integer"}, "delivered": {"type": "integer"}, "failed": {"type": "integer"}}},
            "Slo": {"type": "object", "required": ["name", "check", "objective", "window"], "properties": {
                "name": {"type": "string"}, "check": {"type": "string"}, "kind": {"type": "string", "enum": ["availability", "latency"]}, "threshold_seconds": {"type": ["number", "null"]}, "objective": {"type": "number"}, "window": {"type": "string"},
                "events": {"type": "object", "properties": {"good": {"type": "integer"}, "valid": {"type": "integer"}}},
                "sli": {"type": ["number", "null"]}, "error_budget": {"type": "number"},
                "error_budget_seconds": {"type": ["number", "null"]}, "budget_consumed": {"type": ["number", "null"]},
                "budget_remaining": {"type": ["number", "null"]}, "budget_remaining_seconds": {"type": ["number", "null"]},
                "exhausted_in_seconds": {"type": ["number", "null"]},
                "burn_rates": {"type": "object", "additionalProperties": {"type": ["number", "null"]}}}},
            "Alert": {"type": "object", "required": ["key", "alertname", "state", "severity", "labels"], "properties": {
                "key": {"type": "string"}, "alertname": {"type": "string"},
                "state": {"enum": ["inactive", "pending", "firing", "resolved"]},
                "since": {"type": ["string", "null"], "format": "date-time"}, "severity": {"type": "string"},
                "value": {"type": ["string", "null"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "last_notified": {"type": ["string", "null"], "format": "date-time"},
                "cause": {"type": ["object", "null"], "properties": {"check": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}},
                "muted_by": {"type": "array", "items": {"type": "string"}}}},
            "Silence": {"type": "object", "required": ["id", "matchers", "starts_at", "ends_at", "created_by", "comment", "state"], "properties": {
                "id": {"type": "string"}, "matchers": {"type": "array", "items": {"type": "string"}},
                "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
                "created_by": {"type": "string"}, "comment": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
                "state": {"enum": ["pending", "active", "expired"]}}},
            "AlertEvents": {"type": "object", "required": ["events"], "properties": {
                "events": {"type": "array", "items": {"type": "object", "required": ["id", "at", "key", "from", "to"], "properties": {
                    "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "key": {"type": "string"},
                    "alertname": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
                    "notice": {"type": ["string", "null"], "enum": ["firing", "repeat", "resolved", null]},
                    "severity": {"type": "string"}, "value": {"type": ["string", "null"]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "muted_by": {"type": "array", "items": {"type": "string"}}}}},
                "next_before": {"type": ["integer", "null"]}}},
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

/// Tasks, the app's maintenance mode, windows and the audit log (their own function: one
/// `json!` for the whole document would pass the macro's recursion limit).
fn maintenance(doc: &mut Value) {
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let paths = json!({
            "/api/v1/tasks": {"get": {"summary": "Every maintenance task with its schedule, next run and last run", "responses": {"200": {"description": "tasks", "content": {"application/json": {"schema": {"type": "object", "properties": {"tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}}}}}}, "503": error}}},
            "/api/v1/tasks/{name}/runs": {"get": {"summary": "A task's runs, newest first", "parameters": [name, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}], "responses": {"200": {"description": "runs", "content": {"application/json": {"schema": {"type": "object", "properties": {"task": {"type": "string"}, "runs": {"type": "array", "items": {"$ref": "#/components/schemas/TaskRun"}}}}}}}, "400": error, "404": error, "503": error}}},
            "/api/v1/tasks/{name}/run": {"post": {"summary": "Queue a run of a task now (admin); refused while one waits to start", "parameters": [name], "responses": {"202": {"description": "queued", "content": {"application/json": {"schema": {"type": "object", "properties": {"task": {"type": "string"}, "state": {"type": "string"}}}}}}, "403": error, "404": error, "409": error}}},
            "/api/v1/maintenance": {
                "get": {"summary": "The app's maintenance mode and the maintenance windows of the next 30 days", "responses": {"200": {"description": "mode and windows", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "mode": {"type": "object", "properties": {"configured": {"type": "boolean"}, "on": {"type": ["boolean", "null"]}, "detail": {"type": "string"}}},
                    "windows": {"type": "array", "items": {"$ref": "#/components/schemas/WindowOccurrence"}}}}}}}}},
                "post": {"summary": "Switch the app's maintenance mode (admin): `off` waits on the gate checks unless `force`; the outcome goes to the audit log", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["on"], "additionalProperties": false, "properties": {"on": {"type": "boolean"}, "reason": {"type": "string"}, "force": {"type": "boolean"}}}}}},
                    "responses": {"202": {"description": "switching", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": error, "403": error, "409": error}}
            },
            "/api/v1/audit": {"get": {"summary": "Who changed what by hand, and why, newest first (admin)", "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}], "responses": {"200": {"description": "entries", "content": {"application/json": {"schema": {"type": "object", "properties": {"entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}}}}}}}, "400": error, "403": error, "503": error}}}
    });
    let schemas = json!({
            "Task": {"type": "object", "required": ["name", "kind", "schedule"], "properties": {
                "name": {"type": "string"}, "kind": {"type": "string"}, "target": {"type": "string"}, "schedule": {"type": "string"},
                "window": {"type": ["string", "null"]}, "timeout_ms": {"type": "integer"}, "next_run": {"type": ["string", "null"], "format": "date-time"},
                "last_run": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/TaskRun"}]}}},
            "TaskRun": {"type": "object", "required": ["id", "task", "started", "duration", "ok"], "properties": {
                "id": {"type": "integer"}, "task": {"type": "string"}, "started": {"type": "string", "format": "date-time"},
                "duration": {"type": "integer", "description": "milliseconds"}, "ok": {"type": "boolean"}, "trigger": {"type": "string"},
                "summary": {"type": "string"}, "output": {"type": "string"}, "changes": {"type": "object", "description": "what changed, by name; a backup's run also names its snapshot"}}},
            "WindowOccurrence": {"type": "object", "required": ["name", "starts_at", "ends_at"], "properties": {
                "name": {"type": "string"}, "description": {"type": ["string", "null"]}, "starts_at": {"type": "string", "format": "date-time"},
                "ends_at": {"type": "string", "format": "date-time"}, "notice_at": {"type": "string", "format": "date-time"}, "active": {"type": "boolean"},
                "checks": {"type": "array", "items": {"type": "string"}}, "components": {"type": "array", "items": {"type": "string"}},
                "announce": {"type": "array", "items": {"type": "string"}, "description": "channels told at notice_at, the start and the end"},
                "mode": {"type": "boolean", "description": "the app's maintenance mode is on for its length"}}},
            "AuditEntry": {"type": "object", "required": ["at", "actor", "action"], "properties": {
                "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"}, "action": {"type": "string"}, "target": {"type": "string"}, "detail": {"type": "string"}}}
    });
    merge(&mut doc["paths"], paths);
    merge(&mut doc["components"]["schemas"], schemas);
}

/// Backups: each with its standing, its runs and drills, and queuing a run or a drill.
fn backups(doc: &mut Value) {
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let runs = json!({"type": "array", "items": {"$ref": "#/components/schemas/TaskRun"}});
    let queued = json!({"202": {"description": "queued", "content": {"application/json": {"schema": {"type": "object", "properties": {"backup": {"type": "string"}, "check": {"type": "string"}, "state": {"type": "string"}}}}}}, "403": error, "404": error, "409": error});
    let paths = json!({
        "/api/v1/backups": {"get": {"summary": "Every backup with its schedule, targets and standing: last run, last success, last drill, RPO, RTO", "responses": {"200": {"description": "backups", "content": {"application/json": {"schema": {"type": "object", "properties": {"backups": {"type": "array", "items": {"$ref": "#/components/schemas/Backup"}}}}}}}, "503": error}}},
        "/api/v1/backups/{name}/runs": {"get": {"summary": "A backup's runs and its restore drills, newest first", "parameters": [name, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}], "responses": {"200": {"description": "runs", "content": {"application/json": {"schema": {"type": "object", "properties": {"backup": {"type": "string"}, "runs": runs, "drills": runs}}}}}, "400": error, "404": error, "503": error}}},
        "/api/v1/backups/{name}/run": {"post": {"summary": "Queue a run of a scheduled backup now (admin)", "parameters": [name], "responses": queued}},
        "/api/v1/backups/{name}/drill": {"post": {"summary": "Queue a restore drill of a backup's newest snapshot now (admin); the backup needs a `drill` schedule", "parameters": [name], "responses": queued}}
    });
    let run = json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/BackupRun"}]});
    let ms = json!({"type": ["integer", "null"], "description": "milliseconds"});
    let schemas = json!({
        "Backup": {"type": "object", "required": ["name", "kind", "status"], "properties": {
            "name": {"type": "string"}, "kind": {"type": "string"}, "target": {"type": "string"},
            "schedule": {"type": ["string", "null"]}, "next_run": {"type": ["string", "null"], "format": "date-time"},
            "drill": {"type": ["string", "null"]}, "next_drill": {"type": ["string", "null"], "format": "date-time"},
            "max_age_ms": ms, "rto_target_ms": ms, "targets_met": {"type": ["boolean", "null"]},
            "status": {"type": "object", "properties": {
                "last_run": run, "last_success": run, "last_drill": run, "last_passed_drill": run,
                "newest_good": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"snapshot": {"type": "string"}, "taken": {"type": "string", "format": "date-time"}}}]},
                "good": {"type": "array", "items": {"type": "string"}, "description": "snapshots a drill proved"},
                "rpo": ms, "rto": ms, "age": ms, "dedup_ratio": {"type": ["number", "null"]}}}}},
        "BackupRun": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"}, "ok": {"type": "boolean"}, "duration": {"type": "integer", "description": "milliseconds"},
            "summary": {"type": "string"}, "snapshot": {"type": ["string", "null"]}, "size": {"type": ["integer", "null"]}}}
    });
    merge(&mut doc["paths"], paths);
    merge(&mut doc["components"]["schemas"], schemas);
}

/// Incidents and on-call: listing, one incident, changes by responders, measures, who is on call.
fn incidents(doc: &mut Value) {
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}});
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let object = json!({"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}});
    let changed = json!({"200": {"description": "the incident as changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Incident"}}}}, "400": error, "403": error, "404": error, "409": error, "503": error});
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let text = json!({"type": "object", "required": ["text"], "additionalProperties": false, "properties": {"text": {"type": "string"}}});
    let change = |summary: &str, request: Option<Value>| {
        let mut op = json!({"summary": summary, "parameters": [id.clone()], "responses": changed.clone()});
        if let Some(request) = request {
            op["requestBody"] = request;
        }
        json!({"post": op})
    };
    let paths = json!({
        "/api/v1/incidents": {
            "get": {"summary": "Incidents, newest first: the open ones, or all", "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "all"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}],
                "responses": {"200": {"description": "incidents", "content": {"application/json": {"schema": {"type": "object", "properties": {"incidents": {"type": "array", "items": {"$ref": "#/components/schemas/Incident"}}}}}}}, "400": error, "503": error}},
            "post": {"summary": "Open an incident by hand (responder)", "requestBody": body(json!({"type": "object", "required": ["severity", "title"], "additionalProperties": false, "properties": {
                "severity": {"type": "string"}, "title": {"type": "string"}, "type": {"type": ["string", "null"]}, "components": {"type": "array", "items": {"type": "string"}}}})),
                "responses": {"201": {"description": "opened", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Incident"}}}}, "400": error, "403": error, "503": error}}},
        "/api/v1/incidents/measures": {"get": {"summary": "MTTA, MTTR and targets met per severity", "parameters": [{"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 3660, "default": 30}}], "responses": {"200": object.clone(), "400": error, "503": error}}},
        "/api/v1/incidents/{id}": {"get": {"summary": "One incident with its timeline (deliveries included)", "parameters": [id.clone()], "responses": {"200": {"description": "the incident", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Incident"}}}}, "400": error, "404": error, "503": error}}},
        "/api/v1/incidents/{id}/ack": change("Acknowledge: escalation stops (responder)", None),
        "/api/v1/incidents/{id}/notes": change("Add a note (responder)", Some(body(text.clone()))),
        "/api/v1/incidents/{id}/status": change("Move it on: investigating, identified, monitoring, resolved (responder)", Some(body(json!({"type": "object", "required": ["status"], "additionalProperties": false, "properties": {"status": {"type": "string"}, "text": {"type": ["string", "null"]}}})))),
        "/api/v1/incidents/{id}/resolve": change("Resolve (responder); the body is optional", None),
        "/api/v1/incidents/{id}/commander": change("Name the incident commander (responder)", Some(body(json!({"type": "object", "required": ["person"], "additionalProperties": false, "properties": {"person": {"type": "string"}}})))),
        "/api/v1/incidents/{id}/postmortem": {
            "get": {"summary": "The post-mortem draft, as Markdown", "parameters": [id.clone()], "responses": {"200": {"description": "the draft", "content": {"application/json": {"schema": {"type": "object", "properties": {"incident": {"type": "integer"}, "markdown": {"type": "string"}}}}}}, "400": error, "404": error, "503": error}},
            "post": change("Record where the finished post-mortem is (responder)", Some(body(json!({"type": "object", "required": ["location"], "additionalProperties": false, "properties": {"location": {"type": "string"}}}))))["post"].clone()},
        "/api/v1/oncall": {"get": {"summary": "Who is on call in each schedule, and whom each escalation level pages", "parameters": [{"name": "at", "in": "query", "schema": {"type": "string"}}], "responses": {"200": object.clone(), "400": error, "503": error}}},
        "/api/v1/oncall/overrides": {"post": {"summary": "Someone covers a schedule for a span (responder)", "requestBody": body(json!({"type": "object", "required": ["schedule", "person", "start", "end"], "additionalProperties": false, "properties": {
            "schedule": {"type": "string"}, "person": {"type": "string"}, "start": {"type": "string"}, "end": {"type": "string"}, "comment": {"type": ["string", "null"]}}})),
            "responses": {"201": object.clone(), "400": error, "403": error, "503": error}}},
        "/api/v1/oncall/overrides/{id}": {"delete": {"summary": "Remove an override (responder)", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": object, "400": error, "403": error, "404": error, "503": error}}}
    });
    let schemas = json!({
        "Incident": {"type": "object", "required": ["id", "severity", "status", "title", "timeline"], "properties": {
            "id": {"type": "integer"}, "severity": {"type": "string"},
            "status": {"type": "string", "enum": ["triggered", "acknowledged", "investigating", "identified", "monitoring", "resolved"]},
            "title": {"type": "string"}, "opened_at": {"type": "string", "format": "date-time"},
            "acknowledged_by": {"type": ["string", "null"]}, "resolved_at": {"type": ["string", "null"], "format": "date-time"},
            "timeline": {"type": "array", "items": {"type": "object", "required": ["at", "author", "kind", "text"], "properties": {
                "at": {"type": "string", "format": "date-time"}, "author": {"type": "string"}, "kind": {"type": "string"}, "text": {"type": "string"}}}}}}
    });
    merge(&mut doc["paths"], paths);
    merge(&mut doc["components"]["schemas"], schemas);
}

fn merge(target: &mut Value, more: Value) {
    if let (Some(target), Value::Object(more)) = (target.as_object_mut(), more) {
        target.extend(more);
    }
}
