-- Alembic revision 3307e3616c5e (base): initial PostgreSQL schema (docs/storage-model.md §4.5 #1).
-- Also creates alembic_version exactly as Alembic does, so Python ActingWeb and
-- `alembic current` accept a database built by Go.

-- +goose Up
CREATE TABLE actors (
    id varchar(255) NOT NULL,
    creator varchar(255) NOT NULL,
    passphrase text NOT NULL,
    created_at timestamp without time zone,
    CONSTRAINT actors_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_actors_creator ON actors (creator);

CREATE TABLE attributes (
    id varchar(255) NOT NULL,
    bucket_name varchar(255) NOT NULL,
    bucket varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    data jsonb,
    "timestamp" timestamp without time zone,
    ttl_timestamp bigint,
    CONSTRAINT attributes_pkey PRIMARY KEY (id, bucket_name)
);
CREATE INDEX idx_attributes_ttl ON attributes (ttl_timestamp) WHERE ttl_timestamp IS NOT NULL;

CREATE TABLE peertrustees (
    id varchar(255) NOT NULL,
    peerid varchar(255) NOT NULL,
    baseuri text NOT NULL,
    type varchar(255) NOT NULL,
    passphrase text NOT NULL,
    CONSTRAINT peertrustees_pkey PRIMARY KEY (id, peerid)
);

CREATE TABLE properties (
    id varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    value text NOT NULL,
    CONSTRAINT properties_pkey PRIMARY KEY (id, name)
);
CREATE INDEX idx_properties_value ON properties (value);

CREATE TABLE subscription_diffs (
    id varchar(255) NOT NULL,
    subid_seqnr varchar(255) NOT NULL,
    subid varchar(255) NOT NULL,
    "timestamp" timestamp without time zone NOT NULL,
    diff text NOT NULL,
    seqnr integer NOT NULL,
    CONSTRAINT subscription_diffs_pkey PRIMARY KEY (id, subid_seqnr)
);

CREATE TABLE subscriptions (
    id varchar(255) NOT NULL,
    peer_sub_id varchar(255) NOT NULL,
    peerid varchar(255) NOT NULL,
    subid varchar(255) NOT NULL,
    granularity varchar(255),
    target varchar(255),
    subtarget varchar(255),
    resource varchar(255),
    seqnr integer NOT NULL,
    callback boolean NOT NULL,
    CONSTRAINT subscriptions_pkey PRIMARY KEY (id, peer_sub_id)
);

CREATE TABLE trusts (
    id varchar(255) NOT NULL,
    peerid varchar(255) NOT NULL,
    baseuri text NOT NULL,
    type varchar(255) NOT NULL,
    relationship varchar(255) NOT NULL,
    secret varchar(255) NOT NULL,
    "desc" text,
    approved boolean NOT NULL,
    peer_approved boolean NOT NULL,
    verified boolean NOT NULL,
    verification_token varchar(255),
    peer_identifier varchar(255),
    established_via varchar(255),
    created_at timestamp without time zone,
    last_accessed timestamp without time zone,
    last_connected_via varchar(255),
    client_name varchar(255),
    client_version varchar(255),
    client_platform varchar(255),
    oauth_client_id varchar(255),
    CONSTRAINT trusts_pkey PRIMARY KEY (id, peerid)
);
CREATE INDEX idx_trusts_secret ON trusts (secret);

CREATE TABLE IF NOT EXISTS alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
DELETE FROM alembic_version;
INSERT INTO alembic_version (version_num) VALUES ('3307e3616c5e');

-- +goose Down
DROP TABLE trusts;
DROP TABLE subscriptions;
DROP TABLE subscription_diffs;
DROP TABLE properties;
DROP TABLE peertrustees;
DROP TABLE attributes;
DROP TABLE actors;
DELETE FROM alembic_version;
