-- Latency histograms become log-linear (within 2%) and sparse: a rollup keeps only the buckets
-- it has runs in, as a blob (rollup.rs, histogram.rs). Running totals drop their histogram
-- (percentiles come from rollups) and gain exact counts against each latency SLO threshold.
-- The old rollups are converted at open (sqlite/upgrade.rs), then `rollups_0007` is dropped.
DROP INDEX rollups_by_check;
ALTER TABLE rollups RENAME TO rollups_0007;

CREATE TABLE rollups (
    tier INTEGER NOT NULL,
    start_s INTEGER NOT NULL,
    check_id INTEGER NOT NULL,
    total INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    -- Per non-empty bucket: the gap from the previous bucket and the count, as varints.
    histogram BLOB NOT NULL,
    -- Per tracked latency threshold: its µs, valid and good runs, as varints (NULL: none).
    thresholds BLOB,
    PRIMARY KEY (tier, start_s, check_id)
) WITHOUT ROWID;
CREATE INDEX rollups_by_check ON rollups (check_id, tier, start_s);

ALTER TABLE totals RENAME TO totals_0007;
CREATE TABLE totals (
    check_id INTEGER NOT NULL,
    at_s INTEGER NOT NULL,
    total INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    thresholds BLOB,
    PRIMARY KEY (check_id, at_s)
) WITHOUT ROWID;
INSERT INTO totals SELECT check_id, at_s, total, ok, latency_sum_us, NULL FROM totals_0007;
DROP TABLE totals_0007;
