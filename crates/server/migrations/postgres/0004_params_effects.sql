-- PostgreSQL copy of the SQLite migration of the same number (the SQL is portable).
-- Node parameters with an effect (portable SQL like 0001-0003: TEXT JSON, BIGINT unix
-- milliseconds, UUID text ids).

-- `order.source` `priority`: the job queue takes higher priorities first (-1 low, 0 normal,
-- 1 high), FIFO within one (`seq` orders jobs created in the same millisecond). Jobs queued
-- before this migration are normal.
ALTER TABLE jobs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_queue ON jobs (status, priority, created_at, seq);

-- `output.publish`: the named deliverables of a product, one per name (with `overwrite` a
-- newer one replaces the row). `artifact_id` is the stored bytes (null for the material
-- report, which travels as data).
CREATE TABLE deliverables (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    order_line_id TEXT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    node_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    artifact_id TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (product_id, name)
);
CREATE INDEX deliverables_run ON deliverables (run_id);

-- `output.publish` `notify`: the outbox a mail/webhook sender consumes.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    order_line_id TEXT,
    product_id TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id),
    -- JSON array of the published deliverable names.
    deliverables TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered BOOLEAN NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX notifications_outbox ON notifications (delivered, created_at);
