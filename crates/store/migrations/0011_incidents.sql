-- Incidents, each one JSON document (the incident crate owns its meaning: status, alerts,
-- targets, escalation progress, timeline) with the columns queries need. `version` is bumped
-- by every write, which names the version it read: two writers (the daemon's timer and a
-- CLI acknowledgement) never overwrite each other. `watched` is 1 while the daemon still has
-- something to do for it (open, or a post-mortem reminder pending).
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL DEFAULT 1,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    group_key TEXT,
    opened_ms INTEGER NOT NULL,
    resolved_ms INTEGER,
    watched INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX incidents_watched ON incidents (watched, id);
CREATE INDEX incidents_opened ON incidents (opened_ms);

-- On-call overrides set with the CLI or the API (those in the config are not stored).
CREATE TABLE oncall_overrides (
    id TEXT PRIMARY KEY,
    schedule TEXT NOT NULL,
    starts_ms INTEGER NOT NULL,
    ends_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX oncall_overrides_by_end ON oncall_overrides (ends_ms);
