/*
 * aiida_profile.h - AiiDA profiles: config.json found through AIIDA_PATH, read and extended.
 *
 * The configuration folder is resolved as AiiDA does: AIIDA_PATH is a colon-separated list;
 * empty entries are skipped; ".aiida" is appended to an entry unless it already ends with it;
 * the first entry that exists as a directory wins, otherwise the last one is used. Without
 * AIIDA_PATH it is ~/.aiida. The file is <folder>/config.json.
 *
 * Two formats are read: 1.x (config versions 3-5, AIIDADB_* keys) and 2.x (versions 6 and
 * later, storage.backend plus storage.config.database_* and repository_uri; the port is a number
 * or a string). Only PostgreSQL storage can be backed up: 1.x django/sqlalchemy and 2.x
 * (core.)psql_dos. Every error is one line (ST_ERR_USAGE: the user's configuration is wrong).
 *
 * The password is kept in the profile only to connect: aiida_profile_dsn() returns a
 * connection string with it, which must be passed to libpq and never printed or stored;
 * aiida_profile_describe() is the non-secret record a snapshot keeps.
 */
#ifndef STRATA_ENGINE_AIIDA_PROFILE_H
#define STRATA_ENGINE_AIIDA_PROFILE_H

#include "common/json.h"

#include <stdbool.h>

typedef enum aiida_format {
	AIIDA_FORMAT_1X = 1, /* config versions 3-5 */
	AIIDA_FORMAT_2X = 2  /* config versions 6 and later */
} aiida_format;

typedef struct aiida_profile {
	char *name;
	aiida_format format;
	int config_version;
	char *backend;        /* 1.x: django|sqlalchemy; 2.x: core.psql_dos or psql_dos */
	char *engine;         /* e.g. postgresql_psycopg2, may be NULL */
	char *host;           /* may be NULL or empty: libpq's default */
	char *port;           /* as text, may be NULL */
	char *user;
	char *password;       /* secret: for the connection only */
	char *database;
	char *repository_uri; /* file:///abs/path */
	char *repository;     /* the path of repository_uri */
	char *uuid;           /* PROFILE_UUID, may be NULL */
	st_json *entry;       /* the profile's entry without any secret (password, token) */
} aiida_profile;

/* The configuration folder (caller frees): config_dir when non-NULL, else through AIIDA_PATH
 * and HOME as described above. */
char *aiida_config_dir(const char *config_dir);

/* Loads profile name (NULL: the default profile) from <folder>/config.json. Errors name the
 * file: missing, malformed, unknown profile, no default profile, a repository_uri that is not
 * file://, a backend strata cannot back up (e.g. core.sqlite_dos). */
int aiida_profile_load(aiida_profile **out, const char *config_dir, const char *name);

/* Loads a profile from the text of a config.json; path names it in messages. */
int aiida_profile_parse(aiida_profile **out, const char *text, const char *path, const char *name);

void aiida_profile_free(aiida_profile *p);

/* A libpq keyword=value connection string for the profile, password included (caller frees).
 * Secret: connect with it, never print or store it. */
char *aiida_profile_dsn(const aiida_profile *p);

/* The non-secret record of a profile (caller frees): name, format, config_version, backend,
 * host, port, user, database, repository_uri, uuid, and entry: the whole entry without its
 * secrets, from which a restore writes a new profile of the same format. */
st_json *aiida_profile_describe(const aiida_profile *p);

/* What a new profile entry needs: its name, the format (from a recorded description, or 2.x),
 * the new connection and repository. password may be NULL (then the entry has none). */
typedef struct aiida_profile_entry {
	const char *name;
	const st_json *like;  /* aiida_profile_describe() of the backed-up profile, or NULL */
	const char *host;
	const char *port;
	const char *user;
	const char *password;
	const char *database;
	const char *repository; /* absolute path */
} aiida_profile_entry;

/* Whether <folder>/config.json has a profile called name (false when the file is missing);
 * *out_path receives the file's path (caller frees; may be NULL). */
int aiida_profile_exists(const char *config_dir, const char *name, bool *out, char **out_path);

/* Adds entry to <folder>/config.json (created, with a new folder, when missing), in the format
 * of the file's config version (of the recorded profile for a new file; 2.x without one), the
 * recorded entry's other settings (broker, options) kept and a new PROFILE_UUID; written
 * atomically with mode 0600. An existing profile of that name is refused (ST_ERR_TARGET)
 * unless replace. *out_path receives the file's path (caller frees; may be NULL). */
int aiida_profile_add(const char *config_dir, const aiida_profile_entry *entry, bool replace, char **out_path);

#endif
