-- Rollout (issue 8): the history of every rollout change of an output type, the shadow
-- comparisons (legacy vs shadow graph run) readiness counts, and per-output-type policy
-- overrides. Portable SQL like 0001-0003: TEXT JSON, BIGINT unix milliseconds, UUID text ids.

CREATE TABLE rollout_changes (
    id TEXT PRIMARY KEY,
    output_type_id TEXT NOT NULL,
    -- legacy | shadow | graph; from_state is NULL for the state an output type was created in.
    from_state TEXT,
    to_state TEXT NOT NULL,
    -- Who: {"role", "token", "label"} for a person, {"system": "..."} for an automatic change.
    actor TEXT NOT NULL,
    reason TEXT,
    forced BOOLEAN NOT NULL,
    automatic BOOLEAN NOT NULL,
    -- The readiness evaluation at the moment of the change (JSON).
    readiness TEXT,
    -- The output type's version after the change.
    output_type_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rollout_changes_output_type ON rollout_changes (output_type_id, created_at);

-- One row per shadow run whose comparison was started (the row is the claim: only one worker
-- compares a pair). status: pending | done | error.
CREATE TABLE shadow_comparisons (
    shadow_run_id TEXT PRIMARY KEY REFERENCES runs (id),
    legacy_run_id TEXT NOT NULL,
    output_type_id TEXT,
    workflow_id TEXT,
    workflow_version BIGINT,
    status TEXT NOT NULL,
    verdict TEXT,
    attributed_node TEXT,
    report_artifact_id TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX shadow_comparisons_output_type ON shadow_comparisons (output_type_id, created_at);

-- Per-output-type overrides of the server's rollout policy (a JSON object of policy fields).
CREATE TABLE rollout_policies (
    output_type_id TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX runs_output_type_trigger ON runs (output_type_id, trigger, created_at);
