-- Products (issue 12): what was products/<id>/product.json, manifest.json and
-- material_map.json on one host's disk becomes a row, so several server processes share it.
-- The files themselves (uploads, preview GLB, thumbnail) are in the artifact store, named by
-- the keys here. JSON as TEXT, BIGINT unix milliseconds; publish_claimed is 0/1 (an integer, so
-- the Any driver reads it on both backends).
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    file_name TEXT NOT NULL,
    status TEXT NOT NULL,
    processing_run_id TEXT,
    source_files TEXT NOT NULL,
    manifest TEXT,
    material_map TEXT,
    material_map_version BIGINT NOT NULL DEFAULT 0,
    glb_key TEXT,
    thumbnail_key TEXT,
    publish_claimed BIGINT NOT NULL DEFAULT 0,
    published BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_by_created ON products (created_at DESC, id);
