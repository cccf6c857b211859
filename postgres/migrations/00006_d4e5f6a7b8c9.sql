-- Alembic revision d4e5f6a7b8c9: expression index on attributes.data ->> 'chain_id'
-- (docs/storage-model.md §4.5 #6).

-- +goose Up
CREATE INDEX IF NOT EXISTS idx_attributes_chain_id ON attributes ((data ->> 'chain_id')) WHERE (data ->> 'chain_id') IS NOT NULL;
UPDATE alembic_version SET version_num = 'd4e5f6a7b8c9' WHERE version_num = 'c3d4e5f6a7b8';

-- +goose Down
DROP INDEX IF EXISTS idx_attributes_chain_id;
UPDATE alembic_version SET version_num = 'c3d4e5f6a7b8' WHERE version_num = 'd4e5f6a7b8c9';
