-- Every run of a maintenance task: when, how long, how it ended, what it changed (JSON of
-- numbers by name), and the tail of its output. Kept as long as rollups.
CREATE TABLE task_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    summary TEXT NOT NULL,
    output TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX task_runs_by_task ON task_runs (task, started_ms);

-- Who changed what, and why: maintenance-mode switches and other changes made by hand.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (at_ms);
