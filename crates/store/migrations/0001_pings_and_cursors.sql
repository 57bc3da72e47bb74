-- Heartbeat pings received at /ping/{id}, newest looked up by id.
CREATE TABLE pings (
    id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    body TEXT
);
CREATE INDEX pings_by_id_time ON pings (id, at_ms DESC);

-- Where each log check stopped reading, so a restart resumes rather than rereads.
CREATE TABLE log_cursors (
    check_name TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL
);
