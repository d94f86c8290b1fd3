/*
 * container_format.c - config.json, loose paths and packs.idx of a disk-objectstore container
 * (see container_format.h).
 *
 * packs.idx is read through one read-only SQLite connection shared by every thread under a
 * mutex: a lookup by the unique hashkey index costs microseconds, far less than the file read
 * that follows it. Each statement runs in autocommit, so a lookup sees what `verdi storage
 * maintain` committed up to that moment - which is what finding a moved object again needs.
 */
#include "scanner/container_format.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest pack id and offsets accepted from an index row (disk-objectstore's are small
 * integers and byte offsets well below 2^62). */
#define INDEX_NUMBER_MAX (INT64_C(1) << 62)
/* How long a lookup waits for a writer (maintain) that holds the index. */
#define INDEX_BUSY_MS 10000

static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	return n > 0 && n <= CONTAINER_ID_MAX &&
	       strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == n;
}

static int check_int(const st_json *doc, const char *key, int64_t min, int64_t max, int64_t *out, const char *what)
{
	if (!st_json_int_value(st_json_get(doc, key), out) || *out < min || *out > max)
		return st_error_set(ST_ERR_SOURCE, "%s: '%s' is missing or not an integer from %lld to %lld", what, key,
				    (long long)min, (long long)max);
	return 0;
}

int container_config_parse(container_config *out, const char *text, const char *what)
{
	st_json *doc = NULL;
	int64_t version = 0, prefix = 0, target = 0;
	memset(out, 0, sizeof *out);
	int rc = st_json_parse(&doc, text, what);
	if (rc != 0)
		return st_error_reclassify(ST_ERR_SOURCE);
	const char *hash_type = st_json_string_value(st_json_get(doc, "hash_type"));
	const char *compression = st_json_string_value(st_json_get(doc, "compression_algorithm"));
	const char *id = st_json_string_value(st_json_get(doc, "container_id"));
	if (!st_json_is_object(doc))
		rc = st_error_set(ST_ERR_SOURCE, "%s is not a JSON object", what);
	if (rc == 0)
		rc = check_int(doc, "container_version", 1, 1, &version, what);
	if (rc == 0)
		rc = check_int(doc, "loose_prefix_len", 0, CONTAINER_PREFIX_MAX, &prefix, what);
	if (rc == 0)
		rc = check_int(doc, "pack_size_target", 1, INDEX_NUMBER_MAX, &target, what);
	if (rc == 0 && (hash_type == NULL || strcmp(hash_type, "sha256") != 0))
		rc = st_error_set(ST_ERR_SOURCE, "%s: hash_type '%s' is not 'sha256'", what, hash_type ? hash_type : "");
	if (rc == 0 && (compression == NULL || strncmp(compression, "zlib+", 5) != 0))
		rc = st_error_set(ST_ERR_SOURCE, "%s: compression_algorithm '%s' is not zlib", what,
				  compression ? compression : "");
	if (rc == 0 && !valid_id(id))
		rc = st_error_set(ST_ERR_SOURCE, "%s: container_id is missing or not 1 to %d letters, digits or '-'", what,
				  CONTAINER_ID_MAX);
	if (rc == 0) {
		snprintf(out->container_id, sizeof out->container_id, "%s", id);
		out->loose_prefix_len = (int)prefix;
		out->pack_size_target = target;
	}
	st_json_free(doc);
	return rc;
}

int container_config_read(container_config *out, char **out_text, const char *dir)
{
	char *path = st_sprintf("%s/config.json", dir);
	char *text = NULL;
	struct stat st;
	*out_text = NULL;
	int rc = 0;
	if (lstat(path, &st) != 0)
		rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read container configuration '%s'", path);
	else if (!S_ISREG(st.st_mode))
		rc = st_error_set(ST_ERR_SOURCE, "container configuration '%s' is not a regular file", path);
	else if ((rc = st_read_small_file(&text, NULL, path, CONTAINER_CONFIG_MAX)) != 0)
		rc = st_error_reclassify(ST_ERR_SOURCE);
	else if (strlen(text) == 0)
		rc = st_error_set(ST_ERR_SOURCE, "container configuration '%s' is empty", path);
	if (rc == 0) {
		char *what = st_sprintf("container configuration '%s'", path);
		rc = container_config_parse(out, text, what);
		free(what);
	}
	if (rc == 0) {
		*out_text = text;
		text = NULL;
	}
	free(text);
	free(path);
	return rc;
}

bool container_key_valid(const char *key)
{
	for (int i = 0; i < CONTAINER_KEY_LEN; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
			return false;
	return key[CONTAINER_KEY_LEN] == '\0';
}

void container_loose_path(char *out, size_t cap, const container_config *config, const char *key)
{
	int p = config->loose_prefix_len;
	if (p == 0)
		snprintf(out, cap, "loose/%s", key);
	else
		snprintf(out, cap, "loose/%.*s/%s", p, key, key + p);
}

int container_loose_stat(const char *dir, const container_config *config, const char *key, bool *out_found,
			 uint64_t *out_size)
{
	char rel[96];
	char path[PATH_MAX];
	struct stat st;
	container_loose_path(rel, sizeof rel, config, key);
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	*out_found = false;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s'", path);
	}
	if (!S_ISREG(st.st_mode))
		return st_error_set(ST_ERR_SOURCE, "loose object '%s' is not a regular file", path);
	*out_found = true;
	*out_size = (uint64_t)st.st_size;
	return 0;
}

struct container_index {
	sqlite3 *db;            /* NULL: no packs.idx, nothing is packed */
	sqlite3_stmt *find;
	sqlite3_stmt *add;
	char *path;             /* for messages */
	pthread_mutex_t lock;
};

static int index_error(container_index *idx, const char *doing)
{
	return st_error_set(ST_ERR_SOURCE, "unable to %s pack index '%s': %s", doing, idx->path,
			    idx->db ? sqlite3_errmsg(idx->db) : "out of memory");
}

static container_index *index_new(const char *dir)
{
	container_index *idx = st_calloc(1, sizeof *idx);
	idx->path = st_sprintf("%s/packs.idx", dir);
	pthread_mutex_init(&idx->lock, NULL);
	return idx;
}

int container_index_open(container_index **out, const char *dir)
{
	container_index *idx = index_new(dir);
	struct stat st;
	int rc = 0;
	*out = NULL;
	if (lstat(idx->path, &st) != 0) {
		if (errno != ENOENT)
			rc = st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat pack index '%s'", idx->path);
	} else if (!S_ISREG(st.st_mode)) {
		rc = st_error_set(ST_ERR_SOURCE, "pack index '%s' is not a regular file", idx->path);
	} else if (sqlite3_open_v2(idx->path, &idx->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
				   NULL) != SQLITE_OK) {
		rc = index_error(idx, "open");
	} else {
		sqlite3_busy_timeout(idx->db, INDEX_BUSY_MS);
		if (sqlite3_prepare_v2(idx->db,
				       "SELECT compressed, size, offset, length, pack_id FROM db_object WHERE hashkey = ?",
				       -1, &idx->find, NULL) != SQLITE_OK)
			rc = index_error(idx, "read");
	}
	if (rc != 0) {
		container_index_close(idx);
		return rc;
	}
	*out = idx;
	return 0;
}

static bool in_range(sqlite3_int64 v)
{
	return v >= 0 && v < INDEX_NUMBER_MAX;
}

int container_index_find(container_index *idx, const char *key, container_object *out, bool *out_found)
{
	*out_found = false;
	if (idx->db == NULL)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&idx->lock);
	sqlite3_bind_text(idx->find, 1, key, -1, SQLITE_STATIC);
	int step = sqlite3_step(idx->find);
	if (step == SQLITE_ROW) {
		sqlite3_int64 compressed = sqlite3_column_int64(idx->find, 0), size = sqlite3_column_int64(idx->find, 1),
			      offset = sqlite3_column_int64(idx->find, 2), length = sqlite3_column_int64(idx->find, 3),
			      pack = sqlite3_column_int64(idx->find, 4);
		if (!in_range(size) || !in_range(offset) || !in_range(length) || !in_range(pack) ||
		    (compressed != 0 && compressed != 1) || (compressed == 0 && size != length))
			rc = st_error_set(ST_ERR_SOURCE, "pack index '%s' holds an invalid row for object '%s'", idx->path,
					  key);
		else {
			*out = (container_object){.compressed = compressed == 1, .size = (uint64_t)size,
						  .offset = (uint64_t)offset, .length = (uint64_t)length, .pack_id = pack};
			*out_found = true;
		}
	} else if (step != SQLITE_DONE) {
		rc = index_error(idx, "read");
	}
	sqlite3_reset(idx->find);
	sqlite3_clear_bindings(idx->find);
	pthread_mutex_unlock(&idx->lock);
	return rc;
}

/* disk-objectstore's schema, as SQLAlchemy creates it from its Obj model. The hashkey index
 * is created at commit, over all the rows at once: SQLite then sorts the keys instead of
 * inserting a million random ones into a B-tree that outgrows its page cache. */
static const char index_schema[] =
	"PRAGMA journal_mode=wal;"
	"BEGIN;"
	"CREATE TABLE db_object (\n"
	"\tid INTEGER NOT NULL, \n"
	"\thashkey VARCHAR NOT NULL, \n"
	"\tcompressed BOOLEAN NOT NULL, \n"
	"\tsize INTEGER NOT NULL, \n"
	"\toffset INTEGER NOT NULL, \n"
	"\tlength INTEGER NOT NULL, \n"
	"\tpack_id INTEGER NOT NULL, \n"
	"\tPRIMARY KEY (id)\n"
	");";
static const char index_commit[] = "CREATE UNIQUE INDEX ix_db_object_hashkey ON db_object (hashkey);"
				   "COMMIT;";

int container_index_create(container_index **out, const char *dir)
{
	container_index *idx = index_new(dir);
	int rc = 0;
	*out = NULL;
	if (access(idx->path, F_OK) == 0 || errno != ENOENT)
		rc = st_error_set(ST_ERR_TARGET, "pack index '%s' exists already", idx->path);
	else if (sqlite3_open_v2(idx->path, &idx->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
				 NULL) != SQLITE_OK)
		rc = index_error(idx, "create");
	else if (sqlite3_exec(idx->db, index_schema, NULL, NULL, NULL) != SQLITE_OK ||
		 sqlite3_prepare_v2(idx->db,
				    "INSERT INTO db_object(hashkey, compressed, size, offset, length, pack_id)"
				    " VALUES (?, ?, ?, ?, ?, ?)",
				    -1, &idx->add, NULL) != SQLITE_OK)
		rc = index_error(idx, "write");
	if (rc != 0) {
		container_index_close(idx);
		return st_error_reclassify(ST_ERR_TARGET);
	}
	*out = idx;
	return 0;
}

int container_index_add(container_index *idx, const char *key, const container_object *obj)
{
	sqlite3_bind_text(idx->add, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(idx->add, 2, obj->compressed);
	sqlite3_bind_int64(idx->add, 3, (sqlite3_int64)obj->size);
	sqlite3_bind_int64(idx->add, 4, (sqlite3_int64)obj->offset);
	sqlite3_bind_int64(idx->add, 5, (sqlite3_int64)obj->length);
	sqlite3_bind_int64(idx->add, 6, obj->pack_id);
	int rc = sqlite3_step(idx->add) == SQLITE_DONE ? 0 : index_error(idx, "write");
	sqlite3_reset(idx->add);
	sqlite3_clear_bindings(idx->add);
	return rc == 0 ? 0 : st_error_reclassify(ST_ERR_TARGET);
}

int container_index_commit(container_index *idx)
{
	if (sqlite3_exec(idx->db, index_commit, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	index_error(idx, "commit");
	return st_error_reclassify(ST_ERR_TARGET);
}

void container_index_close(container_index *idx)
{
	if (idx == NULL)
		return;
	sqlite3_finalize(idx->find);
	sqlite3_finalize(idx->add);
	if (idx->db != NULL && !sqlite3_get_autocommit(idx->db))
		sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(idx->db);
	pthread_mutex_destroy(&idx->lock);
	free(idx->path);
	free(idx);
}
