-- The last line a log check matched, kept across runs (a quiet run does not forget it).
ALTER TABLE log_cursors ADD COLUMN last_match TEXT;
