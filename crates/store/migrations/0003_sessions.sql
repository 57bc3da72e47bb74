-- Dashboard sessions, by the SHA-256 of the cookie's token (the token itself is never stored).
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
