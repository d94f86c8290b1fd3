-- The AiiDA 1.x schema (Django backend, migration db.0045_dbgroup_extras, schema
-- version 1.0.45) as strata-genrepo creates it. Kept close to what Django
-- generates: serial ids, uuid columns UNIQUE, foreign keys DEFERRABLE INITIALLY
-- DEFERRED, the same indexed columns. Index names are readable instead of
-- Django's hashed ones. The whole file is sent as one multi-statement query.
--
-- The lines between '-- time-indexes-begin' and '-- time-indexes-end' are
-- skipped with --no-time-indexes (the SQLAlchemy backend has no such index).
--
-- This file is compiled into strata-genrepo (see bench/CMakeLists.txt); it can
-- also be fed to psql directly.

CREATE TABLE IF NOT EXISTS django_migrations (
    id serial PRIMARY KEY,
    app varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    applied timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS db_dbuser (
    id serial PRIMARY KEY,
    email varchar(254) NOT NULL UNIQUE,
    first_name varchar(254) NOT NULL,
    last_name varchar(254) NOT NULL,
    institution varchar(254) NOT NULL
);

CREATE TABLE IF NOT EXISTS db_dbcomputer (
    id serial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    name varchar(255) NOT NULL UNIQUE,
    hostname varchar(255) NOT NULL,
    description text NOT NULL,
    scheduler_type varchar(255) NOT NULL,
    transport_type varchar(255) NOT NULL,
    metadata jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS db_dbnode (
    id serial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    node_type varchar(255) NOT NULL,
    process_type varchar(255),
    label varchar(255) NOT NULL,
    description text NOT NULL,
    ctime timestamptz NOT NULL,
    mtime timestamptz NOT NULL,
    attributes jsonb,
    extras jsonb,
    user_id integer NOT NULL
        REFERENCES db_dbuser (id) DEFERRABLE INITIALLY DEFERRED,
    dbcomputer_id integer
        REFERENCES db_dbcomputer (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX IF NOT EXISTS db_dbnode_node_type_idx ON db_dbnode (node_type);
CREATE INDEX IF NOT EXISTS db_dbnode_node_type_like_idx ON db_dbnode (node_type varchar_pattern_ops);
CREATE INDEX IF NOT EXISTS db_dbnode_process_type_idx ON db_dbnode (process_type);
CREATE INDEX IF NOT EXISTS db_dbnode_label_idx ON db_dbnode (label);
CREATE INDEX IF NOT EXISTS db_dbnode_user_id_idx ON db_dbnode (user_id);
CREATE INDEX IF NOT EXISTS db_dbnode_dbcomputer_id_idx ON db_dbnode (dbcomputer_id);
-- time-indexes-begin
CREATE INDEX IF NOT EXISTS db_dbnode_ctime_idx ON db_dbnode (ctime);
CREATE INDEX IF NOT EXISTS db_dbnode_mtime_idx ON db_dbnode (mtime);
-- time-indexes-end

CREATE TABLE IF NOT EXISTS db_dblink (
    id serial PRIMARY KEY,
    input_id integer NOT NULL
        REFERENCES db_dbnode (id) DEFERRABLE INITIALLY DEFERRED,
    output_id integer NOT NULL
        REFERENCES db_dbnode (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    label varchar(255) NOT NULL,
    type varchar(255) NOT NULL
);
CREATE INDEX IF NOT EXISTS db_dblink_input_id_idx ON db_dblink (input_id);
CREATE INDEX IF NOT EXISTS db_dblink_output_id_idx ON db_dblink (output_id);
CREATE INDEX IF NOT EXISTS db_dblink_label_idx ON db_dblink (label);
CREATE INDEX IF NOT EXISTS db_dblink_type_idx ON db_dblink (type);

CREATE TABLE IF NOT EXISTS db_dbgroup (
    id serial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    label varchar(255) NOT NULL,
    type_string varchar(255) NOT NULL,
    time timestamptz NOT NULL,
    description text NOT NULL,
    extras jsonb NOT NULL,
    user_id integer NOT NULL
        REFERENCES db_dbuser (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (label, type_string)
);
CREATE INDEX IF NOT EXISTS db_dbgroup_label_idx ON db_dbgroup (label);
CREATE INDEX IF NOT EXISTS db_dbgroup_type_string_idx ON db_dbgroup (type_string);

CREATE TABLE IF NOT EXISTS db_dbgroup_dbnodes (
    id serial PRIMARY KEY,
    dbgroup_id integer NOT NULL
        REFERENCES db_dbgroup (id) DEFERRABLE INITIALLY DEFERRED,
    dbnode_id integer NOT NULL
        REFERENCES db_dbnode (id) DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (dbgroup_id, dbnode_id)
);
CREATE INDEX IF NOT EXISTS db_dbgroup_dbnodes_dbnode_id_idx ON db_dbgroup_dbnodes (dbnode_id);

CREATE TABLE IF NOT EXISTS db_dbauthinfo (
    id serial PRIMARY KEY,
    aiidauser_id integer NOT NULL
        REFERENCES db_dbuser (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    dbcomputer_id integer NOT NULL
        REFERENCES db_dbcomputer (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    metadata jsonb NOT NULL,
    auth_params jsonb NOT NULL,
    enabled boolean NOT NULL,
    UNIQUE (aiidauser_id, dbcomputer_id)
);

CREATE TABLE IF NOT EXISTS db_dbcomment (
    id serial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    dbnode_id integer NOT NULL
        REFERENCES db_dbnode (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    ctime timestamptz NOT NULL,
    mtime timestamptz NOT NULL,
    user_id integer NOT NULL
        REFERENCES db_dbuser (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    content text NOT NULL
);
CREATE INDEX IF NOT EXISTS db_dbcomment_dbnode_id_idx ON db_dbcomment (dbnode_id);

CREATE TABLE IF NOT EXISTS db_dblog (
    id serial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    time timestamptz NOT NULL,
    loggername varchar(255) NOT NULL,
    levelname varchar(50) NOT NULL,
    dbnode_id integer NOT NULL
        REFERENCES db_dbnode (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    message text NOT NULL,
    metadata jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS db_dblog_dbnode_id_idx ON db_dblog (dbnode_id);
CREATE INDEX IF NOT EXISTS db_dblog_levelname_idx ON db_dblog (levelname);
CREATE INDEX IF NOT EXISTS db_dblog_loggername_idx ON db_dblog (loggername);

CREATE TABLE IF NOT EXISTS db_dbsetting (
    id serial PRIMARY KEY,
    key varchar(1024) NOT NULL UNIQUE,
    val jsonb,
    description text NOT NULL,
    time timestamptz NOT NULL
);
