-- Alembic revision a1b2c3d4e5f6: peer capability columns on trusts (docs/storage-model.md §4.5 #3).

-- +goose Up
ALTER TABLE trusts ADD COLUMN aw_supported text;
ALTER TABLE trusts ADD COLUMN aw_version varchar(50);
ALTER TABLE trusts ADD COLUMN capabilities_fetched_at timestamp with time zone;
UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6' WHERE version_num = '70d60420526';

-- +goose Down
ALTER TABLE trusts DROP COLUMN capabilities_fetched_at;
ALTER TABLE trusts DROP COLUMN aw_version;
ALTER TABLE trusts DROP COLUMN aw_supported;
UPDATE alembic_version SET version_num = '70d60420526' WHERE version_num = 'a1b2c3d4e5f6';
