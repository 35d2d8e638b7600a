-- PostgreSQL copy of the SQLite migration of the same number (the SQL is portable).
-- Token lifecycle (issue 11): optional expiry and revocation. Rows stay after revocation so the
-- rollout history can still name who a token was. BIGINT unix milliseconds, NULL = never.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
