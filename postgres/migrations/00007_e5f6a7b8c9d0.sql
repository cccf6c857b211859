-- Alembic revision e5f6a7b8c9d0 (head): properties.name widened to text (docs/storage-model.md §4.5 #7).

-- +goose Up
ALTER TABLE properties ALTER COLUMN name TYPE text;
UPDATE alembic_version SET version_num = 'e5f6a7b8c9d0' WHERE version_num = 'd4e5f6a7b8c9';

-- +goose Down
ALTER TABLE properties ALTER COLUMN name TYPE varchar(255);
UPDATE alembic_version SET version_num = 'd4e5f6a7b8c9' WHERE version_num = 'e5f6a7b8c9d0';
