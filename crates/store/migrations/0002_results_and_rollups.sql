-- Check names are stored once; rows carry a small integer.
CREATE TABLE check_names (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- Every check result, kept for the raw retention (default 7 days). The message and the
-- observations are kept only for failures and status changes: that is when someone reads them.
CREATE TABLE results (
    check_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    latency_us INTEGER NOT NULL,
    message TEXT,
    observations TEXT,
    PRIMARY KEY (check_id, at_ms)
) WITHOUT ROWID;

-- Aggregates per check per period: tier 60 (minute), 3600 (hour), 86400 (day). Latency is a
-- histogram with fixed buckets b0..b16 (upper bounds in rollup.rs), so percentiles over any
-- window are sums of rows, never a scan of raw results.
CREATE TABLE rollups (
    tier INTEGER NOT NULL,
    start_s INTEGER NOT NULL,
    check_id INTEGER NOT NULL,
    total INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
    b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,
    b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,
    b12 INTEGER NOT NULL, b13 INTEGER NOT NULL, b14 INTEGER NOT NULL, b15 INTEGER NOT NULL,
    b16 INTEGER NOT NULL,
    PRIMARY KEY (tier, start_s, check_id)
) WITHOUT ROWID;
CREATE INDEX rollups_by_check ON rollups (check_id, tier, start_s);

-- Status changes (up -> down at T), for uptime bars and, later, incidents.
CREATE TABLE transitions (
    check_id INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    message TEXT,
    PRIMARY KEY (check_id, at_ms)
) WITHOUT ROWID;

-- The current status of each check and how far its results are rolled up.
CREATE TABLE check_state (
    check_id INTEGER PRIMARY KEY,
    ok INTEGER NOT NULL,
    since_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    rolled_up_to_s INTEGER NOT NULL DEFAULT 0
);

-- Small facts about the store itself, e.g. up to when each rollup tier is compacted.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
