-- Every batch the writer commits gets a sequence number, and each result the batch it came in.
-- Consumers of committed results (live state, metrics, alerts) that fell behind re-read the
-- batches they missed: `commits` gives the time span of a batch's results, so the re-read is an
-- index range per check, filtered by batch. Kept as long as raw results.
ALTER TABLE results ADD COLUMN batch INTEGER;

CREATE TABLE commits (
    seq INTEGER PRIMARY KEY,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
);
