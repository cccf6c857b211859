-- Alembic revision c3d4e5f6a7b8: drop idx_properties_value, whose B-tree entries made large
-- property values unstorable (docs/storage-model.md §4.5 #5).

-- +goose Up
DROP INDEX IF EXISTS idx_properties_value;
UPDATE alembic_version SET version_num = 'c3d4e5f6a7b8' WHERE version_num = 'b2c3d4e5f6a7';

-- +goose Down
CREATE INDEX idx_properties_value ON properties (value);
UPDATE alembic_version SET version_num = 'b2c3d4e5f6a7' WHERE version_num = 'c3d4e5f6a7b8';
