-- Alembic revision 70d60420526 (11 hex characters, exact): property_lookup table with the
-- deferred foreign key to actors (docs/storage-model.md §4.5 #2).

-- +goose Up
CREATE TABLE property_lookup (
    property_name varchar(255) NOT NULL,
    value text NOT NULL,
    actor_id varchar(255) NOT NULL,
    CONSTRAINT property_lookup_pkey PRIMARY KEY (property_name, value),
    CONSTRAINT fk_property_lookup_actor FOREIGN KEY (actor_id)
        REFERENCES actors (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX idx_property_lookup_actor_id ON property_lookup (actor_id);
UPDATE alembic_version SET version_num = '70d60420526' WHERE version_num = '3307e3616c5e';

-- +goose Down
DROP TABLE property_lookup;
UPDATE alembic_version SET version_num = '3307e3616c5e' WHERE version_num = '70d60420526';
