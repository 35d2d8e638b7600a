-- Order lines and user materials (issue 4). Portable SQL like 0001/0002: TEXT JSON, BIGINT
-- unix milliseconds, UUID text ids, DOUBLE PRECISION for material factors.

-- A product + an output type (+ per-line parameter overrides) to render. `product_id` names a
-- product kept on disk and `output_type_id` an output type that may be deleted later, so
-- neither is a foreign key: dispatch reports a missing one.
CREATE TABLE order_lines (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    output_type_id TEXT NOT NULL,
    -- JSON object: `<node id or node type>.<param>` -> value.
    overrides TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    reference TEXT,
    priority BIGINT NOT NULL,
    -- The primary run of the latest dispatch.
    last_run_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX order_lines_product ON order_lines (product_id);
CREATE INDEX order_lines_output_type ON order_lines (output_type_id);
CREATE INDEX order_lines_created ON order_lines (created_at);

-- Materials users added to the library (or defaults they replaced, by name). The engine's
-- default library is not stored: user materials are merged over it when read.
CREATE TABLE materials (
    name TEXT PRIMARY KEY,
    -- JSON [r, g, b, a], linear.
    base_color TEXT NOT NULL,
    metallic DOUBLE PRECISION NOT NULL,
    roughness DOUBLE PRECISION NOT NULL,
    -- JSON [r, g, b], linear.
    emissive TEXT NOT NULL,
    opacity DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
