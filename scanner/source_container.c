/*
 * source_container.c - the AiiDA 2.x source kind: node trees from db_dbnode.repository_metadata
 * at the backup's exported snapshot, file bytes from the disk-objectstore container
 * <root>/container/ (see source.h; the container's format is container_format.h).
 *
 * A node's tree is read through one of a few sessions that import the snapshot, so any number
 * of reader threads share them; each file of it is an object key, found as a loose file or as
 * a byte range of a pack through packs.idx, and only that range is read, inflated when stored
 * compressed and checked against the key as it streams. `verdi storage maintain` may pack
 * loose objects and delete the loose copies while a backup runs: objects never change, they
 * move, from loose to packed (written and indexed before the loose copy goes) or from pack to
 * pack, so every lookup tries the loose file, then the index, then the loose file once more.
 * An object the snapshot's database references that is in neither place, or whose bytes do not
 * match its key, is ST_ERR_CHANGED naming node and key: the backup leaves that node for the
 * next run and completes with a warning.
 */
#include "scanner/source_internal.h"

#include "common/error.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "scanner/container_format.h"
#include "scanner/container_metadata.h"
#include "scanner/pg_session_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Sessions that read node trees at the snapshot; opened as readers need them. */
#define TREE_SESSIONS_MAX 8
/* Bounds on a tree from the database (untrusted input): folder depth and entries per node. */
#define TREE_DEPTH_MAX 128
#define TREE_ENTRIES_MAX 1000000
/* Longest name of one entry of a tree. */
#define NAME_MAX_BYTES 255
/* Stored bytes read per pread from a compressed object. */
#define INFLATE_CHUNK ((size_t)64 << 10)
/* Modes recorded for the entries of a tree (2.x records none). */
#define TREE_DIR_MODE 0755
#define TREE_FILE_MODE 0644

typedef struct container_source {
	char *dir;         /* <root>/container, resolved */
	char *root;        /* as the user named it */
	char *config_text; /* config.json as read */
	container_config config;
	container_index *index;
	scan_db *db;
	container_metadata *metadata; /* repository_metadata, read in batches once attached */
	const char *vanish; /* STRATA_FAULT_LOOSE_VANISH (tests only): the key of a loose object
			     * deleted just before it is opened, as `maintain` deletes a packed one */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	pg_session *sessions[TREE_SESSIONS_MAX];
	bool busy[TREE_SESSIONS_MAX];
	int session_count;
} container_source;

typedef struct container_entry {
	source_entry base;
	int fd;
	bool compressed;
	bool z_ready;
	uint64_t pos;       /* file offset of the next stored byte */
	uint64_t remaining; /* stored bytes not read yet */
	uint64_t produced;  /* content bytes returned */
	uint64_t size;      /* content size */
	z_stream z;
	st_sha256 *sha;
	unsigned char *in;  /* INFLATE_CHUNK bytes (compressed objects) */
	char key[CONTAINER_KEY_LEN + 1];
	char what[];        /* "object '<key>' of '<path>' of node '<uuid>'", for messages */
} container_entry;

int source_container_new(void **out, const char *dir, const char *root)
{
	container_source *cs = st_calloc(1, sizeof *cs);
	cs->dir = st_strdup(dir);
	cs->root = st_strdup(root);
	cs->vanish = getenv("STRATA_FAULT_LOOSE_VANISH");
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->idle, NULL);
	int rc = container_config_read(&cs->config, &cs->config_text, dir);
	if (rc == 0)
		rc = container_index_open(&cs->index, dir);
	*out = cs;
	return rc;
}

static void container_close(void *driver)
{
	container_source *cs = driver;
	for (int i = 0; i < cs->session_count; i++)
		pg_session_close(cs->sessions[i]);
	container_metadata_free(cs->metadata);
	container_index_close(cs->index);
	pthread_cond_destroy(&cs->idle);
	pthread_mutex_destroy(&cs->lock);
	free(cs->config_text);
	free(cs->dir);
	free(cs->root);
	free(cs);
}

const char *source_container_config(void *driver)
{
	return ((container_source *)driver)->config_text;
}

static int query_on_session(void *ctx, const char *sql, PGresult **out);

/* The container must be the one the database names: AiiDA itself refuses a profile whose
 * container id differs from the 'repository|uuid' setting. */
static int container_attach(void *driver, scan_db *db)
{
	container_source *cs = driver;
	pg_session *s = scan_db_session(db);
	const char *database = scan_db_get_info(db)->database;
	char *has_column = NULL, *expected = NULL;
	int rc = pg_session_query_text(s,
				       "SELECT count(*) FROM information_schema.columns WHERE table_name = 'db_dbnode'"
				       " AND column_name = 'repository_metadata' AND table_schema = current_schema()",
				       &has_column);
	if (rc == 0 && (has_column == NULL || strcmp(has_column, "0") == 0))
		rc = st_error_set(ST_ERR_SOURCE,
				  "repository '%s' holds an AiiDA 2.x container but database '%s' has no"
				  " db_dbnode.repository_metadata (not an AiiDA 2.x database)",
				  cs->root, database);
	if (rc == 0)
		rc = pg_session_query_text(s, "SELECT val #>> '{}' FROM db_dbsetting WHERE key = 'repository|uuid'",
					   &expected);
	if (rc == 0 && expected == NULL)
		rc = st_error_set(ST_ERR_SOURCE, "database '%s' has no setting 'repository|uuid' to check container '%s' against",
				  database, cs->dir);
	else if (rc == 0 && strcmp(expected, cs->config.container_id) != 0)
		rc = st_error_set(ST_ERR_SOURCE,
				  "container '%s' has container_id '%s' but database '%s' names '%s' (setting 'repository|uuid')",
				  cs->dir, cs->config.container_id, database, expected);
	if (rc == 0) {
		cs->db = db;
		if (cs->metadata == NULL)
			cs->metadata = container_metadata_new(query_on_session, cs);
	}
	free(has_column);
	free(expected);
	return rc;
}

/* A session of the pool: an idle one, else a new one while the pool is not full (a slot whose
 * session failed to open is tried again), else the next one released. */
static int session_acquire(container_source *cs, int *out)
{
	int slot = -1;
	pthread_mutex_lock(&cs->lock);
	while (slot < 0) {
		for (int i = 0; i < cs->session_count && slot < 0; i++)
			if (!cs->busy[i])
				slot = i;
		if (slot < 0 && cs->session_count < TREE_SESSIONS_MAX)
			slot = cs->session_count++;
		if (slot < 0)
			pthread_cond_wait(&cs->idle, &cs->lock);
	}
	cs->busy[slot] = true;
	bool open = cs->sessions[slot] != NULL;
	pthread_mutex_unlock(&cs->lock);
	*out = slot;
	if (open)
		return 0;
	pg_session *s = NULL;
	int rc = scan_db_open_session(&s, cs->db);
	pthread_mutex_lock(&cs->lock);
	cs->sessions[slot] = s;
	if (rc != 0) {
		cs->busy[slot] = false;
		pthread_cond_signal(&cs->idle);
	}
	pthread_mutex_unlock(&cs->lock);
	return rc;
}

static void session_release(container_source *cs, int slot)
{
	pthread_mutex_lock(&cs->lock);
	cs->busy[slot] = false;
	pthread_cond_signal(&cs->idle);
	pthread_mutex_unlock(&cs->lock);
}

/* Runs one query of the metadata cache on a session of the pool. */
static int query_on_session(void *ctx, const char *sql, PGresult **out)
{
	container_source *cs = ctx;
	int slot = -1;
	int rc = session_acquire(cs, &slot);
	if (rc == 0) {
		rc = pg_session_exec_status(cs->sessions[slot], sql, PGRES_TUPLES_OK, out);
		session_release(cs, slot);
	}
	return rc;
}

/* The node's repository_metadata at the snapshot (caller frees); NULL when the row is gone. */
static int read_metadata(container_source *cs, const scan_node *node, char **out)
{
	*out = NULL;
	if (cs->db == NULL)
		return st_error_set(ST_ERR_GENERIC, "container source of '%s' is not attached to a database", cs->root);
	return container_metadata_get(cs->metadata, node->id, out);
}

/* Where an object is now: a loose file (*out_loose) or a packed range (*out_packed). */
typedef struct object_place {
	bool loose;
	bool packed;
	uint64_t loose_size;
	container_object packed_at;
} object_place;

static int stat_loose(container_source *cs, const char *key, bool *out_found, uint64_t *out_size)
{
	char rel[96];
	char path[PATH_MAX];
	struct stat st;
	container_loose_path(rel, sizeof rel, &cs->config, key);
	snprintf(path, sizeof path, "%s/%s", cs->dir, rel);
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

/* Loose first, then the index, then loose again (an object repacked meanwhile). */
static int locate(container_source *cs, const char *key, object_place *out)
{
	memset(out, 0, sizeof *out);
	int rc = stat_loose(cs, key, &out->loose, &out->loose_size);
	if (rc == 0 && !out->loose)
		rc = container_index_find(cs->index, key, &out->packed_at, &out->packed);
	if (rc == 0 && !out->loose && !out->packed)
		rc = stat_loose(cs, key, &out->loose, &out->loose_size);
	return rc;
}

typedef struct tree_walk {
	container_source *cs;
	const scan_node *node;
	scan_tree *tree;
	char path[PATH_MAX];
	size_t len;
	int depth;
} tree_walk;

static int walk_folder(tree_walk *w, const st_json *folder);

static int bad_tree(tree_walk *w, const char *why)
{
	return st_error_set(ST_ERR_SOURCE, "repository_metadata of node '%s' is invalid at '%s': %s", w->node->uuid,
			    w->len ? w->path : "/", why);
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n <= NAME_MAX_BYTES && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int add_file(tree_walk *w, const char *key)
{
	if (!container_key_valid(key))
		return bad_tree(w, "the key is not a sha256 hex digest");
	object_place place;
	int rc = locate(w->cs, key, &place);
	if (rc != 0)
		return rc;
	if (!place.loose && !place.packed)
		return st_error_set(ST_ERR_CHANGED, "object '%s' of '%s' of node '%s' is missing from container '%s'", key,
				    w->path, w->node->uuid, w->cs->dir);
	scan_entry *e = scan_tree_append(w->tree);
	e->path = st_strdup(w->path);
	e->key = st_strdup(key);
	e->type = SCAN_ENTRY_FILE;
	e->mode = TREE_FILE_MODE;
	e->size = place.loose ? place.loose_size : place.packed_at.size;
	/* Read loose objects first, then packed ones in pack order. */
	e->inode = place.loose ? 0 : ((uint64_t)place.packed_at.pack_id + 1) << 40 | (place.packed_at.offset & ((UINT64_C(1) << 40) - 1));
	return 0;
}

static int walk_member(void *ctx, const char *name, const st_json *child)
{
	tree_walk *w = ctx;
	if (!valid_name(name))
		return bad_tree(w, "a name is empty, '.', '..', too long or holds '/'");
	if (!st_json_is_object(child))
		return bad_tree(w, "an entry is not an object");
	if (w->tree->count >= TREE_ENTRIES_MAX)
		return bad_tree(w, "too many entries");
	size_t saved = w->len;
	int n = snprintf(w->path + w->len, sizeof w->path - w->len, "%s%s", w->len ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof w->path - w->len)
		return bad_tree(w, "a path is too long");
	w->len += (size_t)n;
	const st_json *key = st_json_get(child, "k");
	int rc;
	if (key != NULL) {
		const char *k = st_json_string_value(key);
		rc = k ? add_file(w, k) : bad_tree(w, "a key is not a string");
	} else {
		scan_entry *e = scan_tree_append(w->tree);
		e->path = st_strdup(w->path);
		e->type = SCAN_ENTRY_DIR;
		e->mode = TREE_DIR_MODE;
		rc = walk_folder(w, child);
	}
	w->len = saved;
	w->path[saved] = '\0';
	return rc;
}

static int walk_folder(tree_walk *w, const st_json *folder)
{
	const st_json *children = st_json_get(folder, "o");
	if (children == NULL)
		return 0;
	if (!st_json_is_object(children))
		return bad_tree(w, "'o' is not an object");
	if (++w->depth > TREE_DEPTH_MAX) {
		w->depth--;
		return bad_tree(w, "folders are nested too deep");
	}
	int rc = st_json_object_each(children, walk_member, w);
	w->depth--;
	return rc;
}

static int container_node_tree(void *driver, const scan_node *node, scan_tree *out)
{
	container_source *cs = driver;
	char *text = NULL;
	st_json *doc = NULL;
	int rc = read_metadata(cs, node, &text);
	if (rc != 0 || text == NULL)
		return rc;
	char what[SCAN_UUID_LEN + 64];
	snprintf(what, sizeof what, "repository_metadata of node '%s'", node->uuid);
	if ((rc = st_json_parse(&doc, text, what)) != 0)
		rc = st_error_reclassify(ST_ERR_SOURCE);
	tree_walk w = {.cs = cs, .node = node, .tree = out};
	if (rc == 0 && (!st_json_is_object(doc) || st_json_get(doc, "k") != NULL))
		rc = bad_tree(&w, "the root is not a folder");
	if (rc == 0)
		rc = walk_folder(&w, doc);
	if (rc == 0 && out->count > 0) {
		out->exists = true;
		out->root_mode = TREE_DIR_MODE;
		scan_tree_sort(out);
	}
	st_json_free(doc);
	free(text);
	return rc;
}

static int container_node_exists(void *driver, const scan_node *node, bool *out)
{
	scan_tree tree = {0};
	int rc = container_node_tree(driver, node, &tree);
	/* A node whose object is missing still has files: it is read again, and reported. */
	if (rc == ST_ERR_CHANGED) {
		st_error_clear();
		rc = 0;
		tree.exists = true;
	}
	*out = rc == 0 && tree.exists;
	scan_tree_release(&tree);
	return rc;
}

static int entry_fail(container_entry *e, int code, const char *why)
{
	return st_error_set(code, "%s %s", e->what, why);
}

static int read_stored(container_entry *e, void *buf, size_t len, size_t *out_got)
{
	size_t want = len < e->remaining ? len : (size_t)e->remaining;
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(e->fd, (char *)buf + got, want - got, (off_t)(e->pos + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to read %s", e->what);
		if (n == 0)
			return entry_fail(e, ST_ERR_CHANGED, "ended early (the container is damaged)");
		got += (size_t)n;
	}
	e->pos += got;
	e->remaining -= got;
	*out_got = got;
	return 0;
}

static int read_inflated(container_entry *e, void *buf, size_t len)
{
	e->z.next_out = buf;
	e->z.avail_out = (uInt)len;
	while (e->z.avail_out > 0) {
		if (e->z.avail_in == 0) {
			size_t got = 0;
			int rc = read_stored(e, e->in, INFLATE_CHUNK, &got);
			if (rc != 0)
				return rc;
			if (got == 0)
				return entry_fail(e, ST_ERR_CHANGED, "ended early (truncated zlib stream)");
			e->z.next_in = e->in;
			e->z.avail_in = (uInt)got;
		}
		int z = inflate(&e->z, Z_NO_FLUSH);
		if (z == Z_STREAM_END && e->z.avail_out > 0)
			return entry_fail(e, ST_ERR_CHANGED, "inflates to fewer bytes than its size");
		if (z != Z_OK && z != Z_STREAM_END)
			return entry_fail(e, ST_ERR_CHANGED, "is not a valid zlib stream");
	}
	return 0;
}

static int entry_read(source_entry *base, void *buf, size_t len)
{
	container_entry *e = (container_entry *)base;
	if (len == 0)
		return 0;
	if (len > e->size - e->produced)
		return entry_fail(e, ST_ERR_GENERIC, "read past its size");
	int rc = 0;
	if (e->compressed) {
		rc = read_inflated(e, buf, len);
	} else {
		size_t got = 0;
		rc = read_stored(e, buf, len, &got);
		if (rc == 0 && got < len)
			rc = entry_fail(e, ST_ERR_CHANGED, "ended early (the container is damaged)");
	}
	if (rc != 0)
		return rc;
	st_sha256_update(e->sha, buf, len);
	e->produced += len;
	if (e->produced == e->size) {
		char actual[ST_SHA256_HEX_SIZE];
		st_sha256_final(actual, e->sha);
		e->sha = NULL;
		if (strcmp(actual, e->key) != 0)
			return entry_fail(e, ST_ERR_CHANGED, "does not match its key (its bytes are corrupt)");
	}
	return 0;
}

static void entry_close(source_entry *base)
{
	container_entry *e = (container_entry *)base;
	if (e->fd >= 0)
		close(e->fd);
	if (e->z_ready)
		inflateEnd(&e->z);
	st_sha256_free(e->sha);
	free(e->in);
	free(e);
}

static const source_entry_ops container_entry_ops = {
	.read = entry_read,
	.close = entry_close,
};

/* Opens the loose object: *out_opened false when it is not there. */
static int open_loose(container_source *cs, container_entry *e, bool *out_opened)
{
	char rel[96], path[PATH_MAX];
	container_loose_path(rel, sizeof rel, &cs->config, e->key);
	snprintf(path, sizeof path, "%s/%s", cs->dir, rel);
	*out_opened = false;
	if (cs->vanish != NULL && strcmp(cs->vanish, e->key) == 0)
		unlink(path);
	e->fd = source_open_file(path);
	if (e->fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0
							   : st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open '%s'", path);
	struct stat st;
	if (fstat(e->fd, &st) != 0)
		return st_error_set_errno(ST_ERR_SOURCE, errno, "unable to stat '%s'", path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
		return entry_fail(e, ST_ERR_CHANGED, "changed size while being read (the container is damaged)");
	e->remaining = e->size;
	*out_opened = true;
	return 0;
}

/* Opens the packed range: *out_opened false when the index does not list it. */
static int open_packed(container_source *cs, container_entry *e, bool *out_opened)
{
	container_object obj;
	bool found = false;
	*out_opened = false;
	int rc = container_index_find(cs->index, e->key, &obj, &found);
	if (rc != 0 || !found)
		return rc;
	if (obj.size != e->size)
		return entry_fail(e, ST_ERR_CHANGED, "changed size while being read (the container is damaged)");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/packs/%" PRId64, cs->dir, obj.pack_id);
	e->fd = source_open_file(path);
	if (e->fd < 0)
		return errno == ENOENT ? entry_fail(e, ST_ERR_CHANGED, "is in a pack that is missing")
				       : st_error_set_errno(ST_ERR_SOURCE, errno, "unable to open '%s'", path);
	e->pos = obj.offset;
	e->remaining = obj.length;
	e->compressed = obj.compressed;
	if (e->compressed) {
		e->in = st_malloc(INFLATE_CHUNK);
		if (inflateInit(&e->z) != Z_OK)
			return entry_fail(e, ST_ERR_GENERIC, "cannot be inflated (zlib refused to start)");
		e->z_ready = true;
	}
	*out_opened = true;
	return 0;
}

static int container_open_entry(void *driver, const scan_node *node, const scan_entry *entry, source_entry **out)
{
	container_source *cs = driver;
	if (entry->key == NULL || !container_key_valid(entry->key))
		return st_error_set(ST_ERR_GENERIC, "'%s' of node '%s' has no object key", entry->path, node->uuid);
	size_t cap = strlen(entry->path) + CONTAINER_KEY_LEN + SCAN_UUID_LEN + 40;
	container_entry *e = st_calloc(1, sizeof *e + cap);
	e->base.ops = &container_entry_ops;
	e->fd = -1;
	e->size = entry->size;
	memcpy(e->key, entry->key, sizeof e->key);
	snprintf(e->what, cap, "object '%s' of '%s' of node '%s'", entry->key, entry->path, node->uuid);
	bool opened = false;
	int rc = open_loose(cs, e, &opened);
	if (rc == 0 && !opened)
		rc = open_packed(cs, e, &opened);
	if (rc == 0 && !opened)
		rc = open_loose(cs, e, &opened);
	if (rc == 0 && !opened)
		rc = st_error_set(ST_ERR_CHANGED, "%s is missing from container '%s'", e->what, cs->dir);
	if (rc != 0) {
		entry_close(&e->base);
		return rc;
	}
	e->sha = st_sha256_new();
	if (e->size == 0) {
		/* Nothing will be read: the empty object is checked now. */
		char actual[ST_SHA256_HEX_SIZE];
		st_sha256_final(actual, e->sha);
		e->sha = NULL;
		if (strcmp(actual, e->key) != 0) {
			rc = entry_fail(e, ST_ERR_CHANGED, "does not match its key (its bytes are corrupt)");
			entry_close(&e->base);
			return rc;
		}
	}
	*out = &e->base;
	return 0;
}

static void container_note_node(void *driver, const scan_node *node)
{
	(void)driver;
	(void)node;
}

/* The container's folders are written fresh by a restore: none is recorded. */
static int container_folder_meta(void *driver, source_folder **out, size_t *out_count)
{
	(void)driver;
	*out = NULL;
	*out_count = 0;
	return 0;
}

const source_ops source_container_ops = {
	.kind = SOURCE_KIND_CONTAINER,
	.attach = container_attach,
	.node_exists = container_node_exists,
	.node_tree = container_node_tree,
	.open_entry = container_open_entry,
	.note_node = container_note_node,
	.folder_meta = container_folder_meta,
	.container_config = source_container_config,
	.close = container_close,
};
