-- Every alert's state, so a restart resumes it exactly: a pending alert keeps its `for` clock, a
-- firing one is neither forgotten nor notified again. `saved` is the alert as JSON.
CREATE TABLE alerts (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    saved TEXT NOT NULL
);

-- The stream of alert state changes and due notifications, in order: what the API, the
-- dashboard and notifications read. Kept as long as rollups.
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    key TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX alert_events_by_key ON alert_events (key, id);
CREATE INDEX alert_events_by_time ON alert_events (at_ms);

-- How far a consumer of committed results that keeps its own state got, saved in the same
-- transaction as that state: after a crash it re-reads exactly the batches it had not taken in.
CREATE TABLE consumer_cursors (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);

-- Silences, set with `upkeep silence add` or the API: the document holds the matchers, the time
-- range, the author and the comment. Kept until they have been over for as long as rollups.
CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    ends_ms INTEGER NOT NULL,
    silence TEXT NOT NULL
);
