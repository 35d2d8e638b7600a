-- PostgreSQL copy of the SQLite migration of the same number (the SQL is portable).
-- Runs (issue 4): run records, one row per node run, the event log clients replay, artifact
-- metadata (bytes live in the artifact store on disk), and the persisted job queue.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    workflow_id TEXT,
    workflow_version BIGINT,
    output_type_id TEXT,
    product_id TEXT,
    inputs TEXT NOT NULL,
    overrides TEXT NOT NULL,
    -- What runs: the graph snapshot (graph, shadow) or the output type snapshot (legacy).
    graph TEXT,
    output_type TEXT,
    authoritative BOOLEAN NOT NULL,
    linked_run_id TEXT,
    link TEXT,
    rerun_of TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX runs_created ON runs (created_at);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_workflow ON runs (workflow_id);
CREATE INDEX runs_output_type ON runs (output_type_id);
CREATE INDEX runs_product ON runs (product_id);

CREATE TABLE node_runs (
    run_id TEXT NOT NULL REFERENCES runs (id),
    node_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    -- The whole NodeRun as JSON (times, params, outputs, artifacts, logs, error).
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, node_id)
);

CREATE TABLE run_events (
    run_id TEXT NOT NULL REFERENCES runs (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    node_id TEXT NOT NULL,
    role TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX artifacts_run ON artifacts (run_id);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    -- queued | running | done | interrupted
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_status ON jobs (status, created_at);
