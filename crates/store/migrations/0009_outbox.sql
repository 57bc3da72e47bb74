-- The outbox: every notification, written before any attempt to send it. `key` is its
-- idempotency key (the group, firing or resolved, and the group's sequence number): a key is
-- inserted once, and delivered once its delivery is recorded. `state` is pending, delivered,
-- failed (refused for good, with the receiver's answer) or expired (retried until `expires_ms`).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    answer TEXT,
    delivered_ms INTEGER,
    message TEXT NOT NULL,
    UNIQUE (key, channel)
);
CREATE INDEX outbox_due ON outbox (state, due_ms);
CREATE INDEX outbox_by_channel ON outbox (channel, state, id);

-- Notification groups (route + group labels): their alerts and timers, saved with the outbox
-- rows they produce and the alert events they took in (the `notify` consumer cursor).
CREATE TABLE notify_groups (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
