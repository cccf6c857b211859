-- Alembic revision b2c3d4e5f6a7: subscription_suspensions (docs/storage-model.md §4.5 #4); subtarget
-- has the only server default of the schema ('').

-- +goose Up
CREATE TABLE subscription_suspensions (
    id varchar(255) NOT NULL,
    target varchar(255) NOT NULL,
    subtarget varchar(255) NOT NULL DEFAULT '',
    suspended_at timestamp with time zone NOT NULL,
    CONSTRAINT subscription_suspensions_pkey PRIMARY KEY (id, target, subtarget)
);
UPDATE alembic_version SET version_num = 'b2c3d4e5f6a7' WHERE version_num = 'a1b2c3d4e5f6';

-- +goose Down
DROP TABLE subscription_suspensions;
UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6' WHERE version_num = 'b2c3d4e5f6a7';
