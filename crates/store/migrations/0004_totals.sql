-- Running totals per check: everything the check recorded before `at_s` (the end of a minute in
-- which it ran). A window's counts and latency histogram are the difference of two rows, so a
-- 30-day availability costs two index seeks per check instead of summing hundreds of rollups.
-- Compaction writes a row for every minute with results; retention thins rows older than a day
-- to the last one of each hour.
CREATE TABLE totals (
    check_id INTEGER NOT NULL,
    at_s INTEGER NOT NULL,
    total INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
    b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,
    b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,
    b12 INTEGER NOT NULL, b13 INTEGER NOT NULL, b14 INTEGER NOT NULL, b15 INTEGER NOT NULL,
    b16 INTEGER NOT NULL,
    PRIMARY KEY (check_id, at_s)
) WITHOUT ROWID;

-- A store from before this migration: running sums of its compacted hours, then of the minutes
-- after them, so windows over existing history keep working.
INSERT INTO totals
SELECT check_id, start_s + tier,
    SUM(total) OVER w, SUM(ok) OVER w, SUM(latency_sum_us) OVER w,
    SUM(b0) OVER w, SUM(b1) OVER w, SUM(b2) OVER w, SUM(b3) OVER w, SUM(b4) OVER w, SUM(b5) OVER w,
    SUM(b6) OVER w, SUM(b7) OVER w, SUM(b8) OVER w, SUM(b9) OVER w, SUM(b10) OVER w, SUM(b11) OVER w,
    SUM(b12) OVER w, SUM(b13) OVER w, SUM(b14) OVER w, SUM(b15) OVER w, SUM(b16) OVER w
FROM rollups
WHERE (tier = 3600 AND start_s < (SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'compacted_3600'))
   OR (tier = 60 AND start_s >= (SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'compacted_3600'))
WINDOW w AS (PARTITION BY check_id ORDER BY start_s ROWS UNBOUNDED PRECEDING);
