/*
 * aiida_profile.c - AiiDA profiles in config.json (see aiida_profile.h).
 */
#include "engine/aiida_profile.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_DIR_NAME ".aiida"
#define CONFIG_FILE_NAME "config.json"
/* config.json of a big installation is a few kilobytes; this is generous. */
#define CONFIG_MAX (16u << 20)
/* The first config version of the 2.x layout (storage.backend + storage.config). */
#define CONFIG_VERSION_2X 6
/* What a new config.json says when strata writes the first profile into it. */
#define CONFIG_VERSION_NEW_1X 5
#define CONFIG_VERSION_NEW_2X 9

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* entry with "~" expanded, trailing slashes dropped, and ".aiida" appended unless it ends so. */
static char *candidate_dir(const char *entry)
{
	char *path;
	const char *home = getenv("HOME");
	if (entry[0] == '~' && (entry[1] == '/' || entry[1] == '\0') && home != NULL)
		path = st_sprintf("%s%s", home, entry + 1);
	else
		path = st_strdup(entry);
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(base, CONFIG_DIR_NAME) == 0)
		return path;
	char *joined = st_sprintf("%s%s" CONFIG_DIR_NAME, path, strcmp(path, "/") == 0 ? "" : "/");
	free(path);
	return joined;
}

char *aiida_config_dir(const char *config_dir)
{
	if (config_dir != NULL)
		return st_strdup(config_dir);
	const char *list = getenv("AIIDA_PATH");
	char *chosen = NULL;
	if (list != NULL) {
		char *copy = st_strdup(list), *save = NULL;
		for (char *entry = strtok_r(copy, ":", &save); entry != NULL; entry = strtok_r(NULL, ":", &save)) {
			free(chosen);
			chosen = candidate_dir(entry);
			if (is_dir(chosen))
				break;
		}
		free(copy);
	}
	if (chosen == NULL)
		chosen = candidate_dir("~");
	return chosen;
}

void aiida_profile_free(aiida_profile *p)
{
	if (p == NULL)
		return;
	char *fields[] = {p->name, p->backend, p->engine, p->host, p->port, p->user, p->database,
			  p->repository_uri, p->repository, p->uuid};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		free(fields[i]);
	st_json_free(p->entry);
	if (p->password != NULL) {
		/* The secret does not outlive its use. */
		memset(p->password, 0, strlen(p->password));
		free(p->password);
	}
	free(p);
}

/* A string member, or a number written as text (ports); NULL when absent or null. */
static char *text_of(const st_json *obj, const char *key)
{
	const st_json *v = st_json_get(obj, key);
	int64_t n = 0;
	if (st_json_string_value(v) != NULL)
		return st_strdup(st_json_string_value(v));
	if (st_json_int_value(v, &n))
		return st_sprintf("%" PRId64, n);
	return NULL;
}

typedef struct profile_keys {
	const char *engine, *host, *port, *user, *password, *database, *repository_uri;
} profile_keys;

static const profile_keys keys_1x = {"AIIDADB_ENGINE", "AIIDADB_HOST", "AIIDADB_PORT", "AIIDADB_USER",
				     "AIIDADB_PASS", "AIIDADB_NAME", "AIIDADB_REPOSITORY_URI"};
static const profile_keys keys_2x = {"database_engine", "database_hostname", "database_port", "database_username",
				     "database_password", "database_name", "repository_uri"};

static bool is_postgres_backend(aiida_format format, const char *backend)
{
	if (format == AIIDA_FORMAT_1X)
		return strcmp(backend, "django") == 0 || strcmp(backend, "sqlalchemy") == 0;
	return strcmp(backend, "core.psql_dos") == 0 || strcmp(backend, "psql_dos") == 0;
}

static int fill_profile(aiida_profile *p, const st_json *entry, const char *path)
{
	const st_json *settings = entry;
	const profile_keys *k = p->format == AIIDA_FORMAT_1X ? &keys_1x : &keys_2x;
	if (p->format == AIIDA_FORMAT_1X) {
		p->backend = text_of(entry, "AIIDADB_BACKEND");
	} else {
		const st_json *storage = st_json_get(entry, "storage");
		p->backend = text_of(storage, "backend");
		settings = st_json_get(storage, "config");
	}
	if (p->backend == NULL)
		return st_error_set(ST_ERR_USAGE, "profile '%s' in '%s' names no storage backend (%s)", p->name, path,
				    p->format == AIIDA_FORMAT_1X ? "AIIDADB_BACKEND" : "storage.backend");
	if (!is_postgres_backend(p->format, p->backend))
		return st_error_set(ST_ERR_USAGE,
				    "profile '%s' uses storage backend '%s', which strata cannot back up (PostgreSQL "
				    "storage only: core.psql_dos, or django/sqlalchemy in AiiDA 1.x)",
				    p->name, p->backend);
	p->engine = text_of(settings, k->engine);
	p->host = text_of(settings, k->host);
	p->port = text_of(settings, k->port);
	p->user = text_of(settings, k->user);
	p->password = text_of(settings, k->password);
	p->database = text_of(settings, k->database);
	p->repository_uri = text_of(settings, k->repository_uri);
	p->uuid = text_of(entry, "PROFILE_UUID");
	if (p->engine != NULL && strstr(p->engine, "postgres") == NULL)
		return st_error_set(ST_ERR_USAGE, "profile '%s' uses database engine '%s', not PostgreSQL", p->name,
				    p->engine);
	if (p->database == NULL || p->database[0] == '\0')
		return st_error_set(ST_ERR_USAGE, "profile '%s' in '%s' has no database name (%s)", p->name, path,
				    k->database);
	if (p->repository_uri == NULL)
		return st_error_set(ST_ERR_USAGE, "profile '%s' in '%s' has no repository URI (%s)", p->name, path,
				    k->repository_uri);
	if (strncmp(p->repository_uri, "file://", 7) != 0 || p->repository_uri[7] != '/')
		return st_error_set(ST_ERR_USAGE,
				    "profile '%s' has repository URI '%s', which is not file:// and an absolute path",
				    p->name, p->repository_uri);
	p->repository = st_strdup(p->repository_uri + 7);
	if (p->port != NULL) {
		char *end = NULL;
		long port = strtol(p->port, &end, 10);
		if (p->port[0] == '\0' || *end != '\0' || port < 1 || port > 65535)
			return st_error_set(ST_ERR_USAGE, "profile '%s' has port '%s', which is not a port number", p->name,
					    p->port);
	}
	return 0;
}

/* The names of the profiles, for an error message (caller frees). */
static int add_name(void *ctx, const char *key, const st_json *value)
{
	(void)value;
	char **names = ctx;
	char *joined = st_sprintf("%s%s'%s'", *names, **names ? ", " : "", key);
	free(*names);
	*names = joined;
	return 0;
}

static void strip_secrets(st_json *obj);

/* The format of a config.json: by CONFIG_VERSION.CURRENT, or by the entry's shape. */
static int config_format(const st_json *config, const st_json *entry, int *out_version, aiida_format *out)
{
	int64_t version = 0;
	if (st_json_int_value(st_json_get(st_json_get(config, "CONFIG_VERSION"), "CURRENT"), &version)) {
		*out_version = (int)version;
		*out = version >= CONFIG_VERSION_2X ? AIIDA_FORMAT_2X : AIIDA_FORMAT_1X;
		return version >= 3 ? 0 : -1;
	}
	*out_version = 0;
	*out = st_json_get(entry, "storage") != NULL ? AIIDA_FORMAT_2X : AIIDA_FORMAT_1X;
	return 0;
}

int aiida_profile_parse(aiida_profile **out, const char *text, const char *path, const char *name)
{
	st_json *config = NULL;
	aiida_profile *p = st_calloc(1, sizeof *p);
	char *what = st_sprintf("AiiDA configuration '%s'", path);
	int rc = st_json_parse(&config, text, what);
	if (rc != 0) {
		rc = st_error_reclassify(ST_ERR_USAGE);
		goto cleanup;
	}
	const st_json *profiles = st_json_get(config, "profiles");
	if (!st_json_is_object(profiles)) {
		rc = st_error_set(ST_ERR_USAGE, "%s has no profiles", what);
		goto cleanup;
	}
	if (name == NULL) {
		name = st_json_string_value(st_json_get(config, "default_profile"));
		if (name == NULL) {
			rc = st_error_set(ST_ERR_USAGE, "%s has no default profile (name one with --profile NAME)", what);
			goto cleanup;
		}
	}
	p->name = st_strdup(name);
	const st_json *entry = st_json_get(profiles, name);
	if (!st_json_is_object(entry)) {
		char *names = st_strdup("");
		st_json_each(profiles, add_name, &names);
		rc = st_error_set(ST_ERR_USAGE, "%s has no profile '%s' (profiles: %s)", what, name,
				  names[0] ? names : "none");
		free(names);
		goto cleanup;
	}
	if (config_format(config, entry, &p->config_version, &p->format) != 0) {
		rc = st_error_set(ST_ERR_USAGE, "%s has config version %d, older than AiiDA 1.x's (3 and later)", what,
				  p->config_version);
		goto cleanup;
	}
	rc = fill_profile(p, entry, path);
	if (rc == 0) {
		p->entry = st_json_copy(entry);
		strip_secrets(p->entry);
	}
cleanup:
	st_json_free(config);
	free(what);
	if (rc != 0) {
		aiida_profile_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int aiida_profile_load(aiida_profile **out, const char *config_dir, const char *name)
{
	char *dir = aiida_config_dir(config_dir);
	char *path = st_sprintf("%s/" CONFIG_FILE_NAME, dir);
	char *text = NULL;
	int rc = 0;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		rc = st_error_set(ST_ERR_USAGE, "AiiDA configuration '%s' does not exist (set AIIDA_PATH%s)", path,
				  config_dir ? "" : " or check HOME");
	else if ((rc = st_read_small_file(&text, NULL, path, CONFIG_MAX)) != 0)
		rc = st_error_reclassify(ST_ERR_USAGE);
	if (rc == 0)
		rc = aiida_profile_parse(out, text, path, name);
	free(text);
	free(path);
	free(dir);
	return rc;
}

/* Appends key='value' to *dsn, quoted as libpq reads it. */
static void append_pair(char **dsn, const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	size_t len = strlen(*dsn), vlen = strlen(value), klen = strlen(key);
	char *buf = st_realloc(*dsn, len + klen + 2 * vlen + 5);
	char *w = buf + len;
	if (len > 0)
		*w++ = ' ';
	memcpy(w, key, klen);
	w += klen;
	*w++ = '=';
	*w++ = '\'';
	for (const char *r = value; *r; r++) {
		if (*r == '\'' || *r == '\\')
			*w++ = '\\';
		*w++ = *r;
	}
	*w++ = '\'';
	*w = '\0';
	*dsn = buf;
}

char *aiida_profile_dsn(const aiida_profile *p)
{
	char *dsn = st_strdup("");
	append_pair(&dsn, "host", p->host);
	append_pair(&dsn, "port", p->port);
	append_pair(&dsn, "user", p->user);
	append_pair(&dsn, "password", p->password);
	append_pair(&dsn, "dbname", p->database);
	return dsn;
}

/* A key that holds a secret: passwords (AIIDADB_PASS, database_password, broker_password),
 * secrets and tokens. */
static bool is_secret_key(const char *key)
{
	static const char *const words[] = {"pass", "secret", "token"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(key, words[i]) != NULL)
			return true;
	return false;
}

static int collect_key(void *ctx, const char *key, const st_json *value)
{
	(void)value;
	st_json_append(ctx, st_json_string(key));
	return 0;
}

/* Removes every secret member of obj, at any depth. */
static void strip_secrets(st_json *obj)
{
	/* Member names are collected first: an object cannot change while it is iterated. */
	st_json *keys = st_json_array();
	st_json_each(obj, collect_key, keys);
	for (size_t i = 0; i < st_json_array_size(keys); i++) {
		const char *key = st_json_string_value(st_json_array_get(keys, i));
		if (is_secret_key(key))
			st_json_remove(obj, key);
		else if (st_json_get_object(obj, key) != NULL)
			strip_secrets(st_json_get_object(obj, key));
	}
	st_json_free(keys);
}

st_json *aiida_profile_describe(const aiida_profile *p)
{
	st_json *d = st_json_object();
	st_json_set_string(d, "name", p->name);
	st_json_set_string(d, "format", p->format == AIIDA_FORMAT_1X ? "1.x" : "2.x");
	st_json_set_int(d, "config_version", p->config_version);
	st_json_set_string(d, "backend", p->backend);
	st_json_set_string(d, "host", p->host);
	st_json_set_string(d, "port", p->port);
	st_json_set_string(d, "user", p->user);
	st_json_set_string(d, "database", p->database);
	st_json_set_string(d, "repository_uri", p->repository_uri);
	st_json_set_string(d, "uuid", p->uuid);
	st_json_set(d, "entry", st_json_copy(p->entry));
	return d;
}

/* A new PROFILE_UUID as AiiDA writes it: uuid4().hex. A restored profile gets its own, so it
 * does not share process queues with the original. */
static void new_profile_uuid(char out[33])
{
	unsigned char b[16] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, b, sizeof b) != (ssize_t)sizeof b)
			memset(b, 0x5a, sizeof b);
		close(fd);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* A port number as JSON: an integer when it is one, else its text. */
static void set_port(st_json *obj, const char *key, const char *port)
{
	char *end = NULL;
	long n = port != NULL ? strtol(port, &end, 10) : 0;
	if (port == NULL || port[0] == '\0')
		st_json_set_int(obj, key, 5432);
	else if (*end == '\0')
		st_json_set_int(obj, key, n);
	else
		st_json_set_string(obj, key, port);
}

static void fill_entry(st_json *entry, aiida_format format, const aiida_profile_entry *e)
{
	char uuid[33];
	new_profile_uuid(uuid);
	char *uri = st_sprintf("file://%s", e->repository);
	st_json_set_string(entry, "PROFILE_UUID", uuid);
	const profile_keys *k = format == AIIDA_FORMAT_1X ? &keys_1x : &keys_2x;
	st_json *settings = entry;
	if (format == AIIDA_FORMAT_1X) {
		if (st_json_get(entry, "AIIDADB_BACKEND") == NULL)
			st_json_set_string(entry, "AIIDADB_BACKEND", "django");
	} else {
		if (st_json_get_object(entry, "storage") == NULL) {
			st_json *storage = st_json_object();
			st_json_set_string(storage, "backend", "core.psql_dos");
			st_json_set(entry, "storage", storage);
		}
		st_json *storage = st_json_get_object(entry, "storage");
		if (st_json_get_object(storage, "config") == NULL)
			st_json_set(storage, "config", st_json_object());
		settings = st_json_get_object(storage, "config");
	}
	if (st_json_get(settings, k->engine) == NULL)
		st_json_set_string(settings, k->engine, "postgresql_psycopg2");
	st_json_set_string(settings, k->host, e->host ? e->host : "localhost");
	set_port(settings, k->port, e->port);
	st_json_set_string(settings, k->user, e->user);
	st_json_set_string(settings, k->password, e->password);
	st_json_set_string(settings, k->database, e->database);
	st_json_set_string(settings, k->repository_uri, uri);
	free(uri);
}

/* The config.json at path, or a new one when it does not exist (its folder dir is then
 * created, unless dir is NULL). */
static int load_or_new(st_json **out, const char *dir, const char *path, aiida_format format, int64_t version)
{
	char *text = NULL;
	bool missing = access(path, F_OK) != 0 && errno == ENOENT;
	int rc = missing ? 0 : st_read_small_file(&text, NULL, path, CONFIG_MAX);
	if (rc == 0 && !missing) {
		char *what = st_sprintf("AiiDA configuration '%s'", path);
		if ((rc = st_json_parse(out, text, what)) != 0)
			rc = st_error_reclassify(ST_ERR_USAGE);
		else if (!st_json_is_object(*out))
			rc = st_error_set(ST_ERR_USAGE, "%s is not a JSON object", what);
		free(what);
		free(text);
		return rc;
	}
	if (rc != 0)
		return st_error_reclassify(ST_ERR_USAGE);
	if (dir != NULL && (rc = st_mkdir_p(dir, 0700)) != 0)
		return rc;
	if (version <= 0)
		version = format == AIIDA_FORMAT_1X ? CONFIG_VERSION_NEW_1X : CONFIG_VERSION_NEW_2X;
	st_json *config = st_json_object();
	st_json *v = st_json_object();
	st_json_set_int(v, "CURRENT", version);
	st_json_set_int(v, "OLDEST_COMPATIBLE", version);
	st_json_set(config, "CONFIG_VERSION", v);
	*out = config;
	return 0;
}

int aiida_profile_add(const char *config_dir, const aiida_profile_entry *e, bool replace, char **out_path)
{
	char *dir = aiida_config_dir(config_dir);
	char *path = st_sprintf("%s/" CONFIG_FILE_NAME, dir);
	const char *format_name = st_json_string_value(st_json_get(e->like, "format"));
	aiida_format format = format_name != NULL && strcmp(format_name, "1.x") == 0 ? AIIDA_FORMAT_1X : AIIDA_FORMAT_2X;
	int64_t version = 0;
	st_json_int_value(st_json_get(e->like, "config_version"), &version);
	st_json *config = NULL;
	int rc = load_or_new(&config, dir, path, format, version);
	if (rc != 0)
		goto cleanup;
	/* An existing file's version decides: AiiDA reads every entry of a file one way. */
	int64_t current = 0;
	if (st_json_int_value(st_json_get(st_json_get(config, "CONFIG_VERSION"), "CURRENT"), &current))
		format = current >= CONFIG_VERSION_2X ? AIIDA_FORMAT_2X : AIIDA_FORMAT_1X;
	if (st_json_get_object(config, "profiles") == NULL)
		st_json_set(config, "profiles", st_json_object());
	st_json *profiles = st_json_get_object(config, "profiles");
	if (st_json_get(profiles, e->name) != NULL && !replace) {
		rc = st_error_set(ST_ERR_TARGET, "profile '%s' already exists in '%s' (--force replaces it)", e->name, path);
		goto cleanup;
	}
	const st_json *like_entry = st_json_get(e->like, "entry");
	const char *like_format = st_json_string_value(st_json_get(e->like, "format"));
	bool same_format = like_format != NULL && strcmp(like_format, format == AIIDA_FORMAT_1X ? "1.x" : "2.x") == 0;
	st_json *entry = st_json_is_object(like_entry) && same_format ? st_json_copy(like_entry) : st_json_object();
	fill_entry(entry, format, e);
	st_json_set(profiles, e->name, entry);
	if (st_json_string_value(st_json_get(config, "default_profile")) == NULL)
		st_json_set_string(config, "default_profile", e->name);
	char *text = st_json_dump_indented(config);
	rc = st_write_file_atomic_mode(path, text, strlen(text), 0600);
	/* A password may be in it: nothing of it stays in freed memory. */
	memset(text, 0, strlen(text));
	free(text);
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to set the mode of '%s'", path);
	if (rc == 0 && out_path != NULL) {
		*out_path = path;
		path = NULL;
	}
cleanup:
	st_json_free(config);
	free(path);
	free(dir);
	return rc;
}

int aiida_profile_exists(const char *config_dir, const char *name, bool *out, char **out_path)
{
	char *dir = aiida_config_dir(config_dir);
	char *path = st_sprintf("%s/" CONFIG_FILE_NAME, dir);
	st_json *config = NULL;
	*out = false;
	int rc = load_or_new(&config, NULL, path, AIIDA_FORMAT_2X, 0);
	if (rc == 0)
		*out = st_json_get(st_json_get(config, "profiles"), name) != NULL;
	st_json_free(config);
	if (rc == 0 && out_path != NULL) {
		*out_path = path;
		path = NULL;
	}
	free(path);
	free(dir);
	return rc;
}
