/*
 * import.c - an exported archive as a new snapshot of a destination (see import.h).
 *
 * The plan (which entry is which node's, which folder is recorded, the node ids) is made from
 * the manifest alone, before the pending snapshot exists; the archive's data is read once
 * afterwards. The manifest is sorted by path, and a node folder's name has a fixed length, so
 * the entries of one node folder are the ones right after it.
 */
#include "engine/import.h"

#include "engine/archive_verify.h"
#include "engine/db_dump.h"

#include "catalog/dest.h"
#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/mem.h"
#include "engine/restore.h"
#include "scanner/node_tree.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define REPOSITORY "repository"
#define DATABASE "database"
/* Components of a node folder's path: repository/node/xx/yy/<u[4:]>. */
#define NODE_FOLDER_DEPTH 5

typedef struct import_node {
	char uuid[CATALOG_UUID_LEN + 1];
	int64_t id;
	int64_t ctime_us;
	const archive_entry *folder; /* NULL: a node without a folder */
	size_t first;                /* its entries: manifest entries first .. first + count - 1 */
	size_t count;
	bool listed;                 /* matched by the manifest's nodes */
} import_node;

typedef struct import_job {
	const import_options *o;
	import_result *out;
	dest *d;
	store *objects;
	archive_verifier *v;
	const archive_manifest *m;
	import_node *nodes;
	size_t node_count;
	catalog_folder *folders;
	size_t folder_count;
	st_hash **chunks;            /* per manifest entry: a chunked file's chunk hashes, or NULL */
	catalog_snapshot snap;
	bool created;
	char *scratch;               /* <scratch>/import-<pid>, removed at the end */
	char *dump_dir;
	int dump_fd;
	catalog_dump_file *dump_files;
	size_t dump_file_count;
	int server_major;
} import_job;

static size_t components(const char *path)
{
	size_t n = 1;
	for (; *path; path++)
		n += *path == '/';
	return n;
}

static int not_importable(const archive_entry *e)
{
	return st_error_set(ST_ERR_CORRUPT,
			    "archive entry '%s' is not a repository, shard or node folder's (import takes "
			    "repository/node/<xx>/<yy>/<u[4:]>/... and database/<file>)",
			    e->path);
}

static int plan_folder(import_job *job, const archive_entry *e)
{
	catalog_folder *f = &job->folders[job->folder_count];
	size_t len = strlen(e->path);
	if (e->type != ARCHIVE_ITEM_DIR || len >= sizeof f->path)
		return not_importable(e);
	memcpy(f->path, e->path, len + 1);
	f->mode = (uint32_t)e->mode;
	f->mtime_ns = e->mtime_ns;
	if (restore_check_folder(f) != 0) {
		st_error_clear();
		return not_importable(e);
	}
	job->folder_count++;
	return 0;
}

/* repository/node/xx/yy/<u[4:]>: a folder whose name makes a uuid that restore writes there. */
static int plan_node(import_job *job, const archive_entry *e, size_t index)
{
	const char *rest = e->path + strlen(REPOSITORY "/node/");
	char uuid[CATALOG_UUID_LEN + 1], expected[PATH_MAX];
	bool shaped = strncmp(e->path, REPOSITORY "/node/", strlen(REPOSITORY "/node/")) == 0 && strlen(rest) > 6 &&
		      rest[2] == '/' && rest[5] == '/';
	int n = shaped ? snprintf(uuid, sizeof uuid, "%.2s%.2s%s", rest, rest + 3, rest + 6) : 0;
	if (e->type != ARCHIVE_ITEM_DIR || n != CATALOG_UUID_LEN ||
	    scan_node_dir(expected, sizeof expected, REPOSITORY, uuid) != 0 || strcmp(expected, e->path) != 0) {
		st_error_clear();
		return not_importable(e);
	}
	import_node *node = &job->nodes[job->node_count++];
	memcpy(node->uuid, uuid, sizeof uuid);
	node->folder = e;
	node->first = index + 1;
	return 0;
}

/* An entry below a node folder: the entries of the last node folder come right after it. */
static int plan_node_entry(import_job *job, const archive_entry *e, size_t index)
{
	import_node *node = job->node_count > 0 ? &job->nodes[job->node_count - 1] : NULL;
	size_t len = node != NULL ? strlen(node->folder->path) : 0;
	if (node == NULL || strncmp(e->path, node->folder->path, len) != 0 || e->path[len] != '/' ||
	    node->first + node->count != index)
		return not_importable(e);
	for (const char *part = e->path + len + 1; part != NULL;) {
		const char *slash = strchr(part, '/');
		if ((slash ? (size_t)(slash - part) : strlen(part)) > NAME_MAX)
			return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' has a name longer than %d bytes", e->path,
					    NAME_MAX);
		part = slash ? slash + 1 : NULL;
	}
	node->count++;
	if (e->type == ARCHIVE_ITEM_FILE) {
		job->out->files++;
		job->out->bytes += e->size;
	}
	return 0;
}

static int plan_database(import_job *job, const archive_entry *e)
{
	bool top = strcmp(e->path, DATABASE) == 0;
	if (top ? e->type != ARCHIVE_ITEM_DIR : e->type != ARCHIVE_ITEM_FILE || strchr(e->path + 9, '/') != NULL)
		return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' is not a file of the database's dump directory",
				    e->path);
	job->out->dump_files += !top;
	return 0;
}

static int plan_entry(import_job *job, size_t i)
{
	const archive_entry *e = archive_manifest_entry(job->m, i);
	if (strncmp(e->path, DATABASE, strlen(DATABASE)) == 0)
		return plan_database(job, e);
	size_t depth = components(e->path);
	if (depth == 2 && strcmp(e->path, REPOSITORY "/node") != 0)
		return not_importable(e);
	if (depth < NODE_FOLDER_DEPTH)
		return plan_folder(job, e);
	if (depth == NODE_FOLDER_DEPTH)
		return plan_node(job, e, i);
	return plan_node_entry(job, e, i);
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const import_node *)a)->uuid, ((const import_node *)b)->uuid);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* A node of the manifest's list: its folder node, or a new folderless one. */
static int plan_listed(import_job *job, const st_json *o, size_t folder_nodes)
{
	const char *uuid = st_json_string_value(st_json_get(o, "uuid"));
	int64_t id = 0, ctime_us = 0;
	bool folder = false;
	char unused[PATH_MAX];
	if (uuid == NULL || scan_node_dir(unused, sizeof unused, REPOSITORY, uuid) != 0 ||
	    !st_json_int_value(st_json_get(o, "id"), &id) || id < 1 ||
	    !st_json_int_value(st_json_get(o, "ctime_us"), &ctime_us) ||
	    !st_json_bool_value(st_json_get(o, "folder"), &folder)) {
		st_error_clear();
		return st_error_set(ST_ERR_CORRUPT, "the archive's manifest lists a malformed node");
	}
	import_node key = {0};
	memcpy(key.uuid, uuid, sizeof key.uuid);
	import_node *node = bsearch(&key, job->nodes, folder_nodes, sizeof *job->nodes, cmp_node);
	if ((node != NULL) != folder)
		return st_error_set(ST_ERR_CORRUPT, "the archive's manifest lists node %s %s a folder, and the archive %s",
				    uuid, folder ? "with" : "without", folder ? "has none" : "has one");
	if (node == NULL) {
		node = &job->nodes[job->node_count++];
		*node = key;
	}
	if (node->listed)
		return st_error_set(ST_ERR_CORRUPT, "the archive's manifest lists node %s twice", uuid);
	node->listed = true;
	node->id = id;
	node->ctime_us = ctime_us;
	return 0;
}

/* Node ids and ctimes: from the manifest's nodes, or -1, -2, ... when it lists none. */
static int plan_ids(import_job *job)
{
	const st_json *listed = st_json_get(archive_manifest_document(job->m), "nodes");
	size_t folder_nodes = job->node_count, n = st_json_array_size(listed);
	int rc = 0;
	if (listed == NULL || st_json_is_null(listed)) {
		for (size_t i = 0; i < job->node_count; i++)
			job->nodes[i].id = -(int64_t)(i + 1);
		return 0;
	}
	job->nodes = st_realloc(job->nodes, (folder_nodes + n + 1) * sizeof *job->nodes);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = plan_listed(job, st_json_array_get(listed, i), folder_nodes);
	for (size_t i = 0; i < folder_nodes && rc == 0; i++) {
		if (!job->nodes[i].listed)
			rc = st_error_set(ST_ERR_CORRUPT, "node folder '%s' is not in the archive manifest's nodes",
					  job->nodes[i].folder->path);
	}
	int64_t *ids = st_calloc(job->node_count + 1, sizeof *ids);
	for (size_t i = 0; i < job->node_count; i++)
		ids[i] = job->nodes[i].id;
	qsort(ids, job->node_count, sizeof *ids, cmp_id);
	for (size_t i = 1; i < job->node_count && rc == 0; i++) {
		if (ids[i] == ids[i - 1])
			rc = st_error_set(ST_ERR_CORRUPT, "the archive's manifest gives node id %lld twice", (long long)ids[i]);
	}
	free(ids);
	return rc;
}

static int plan(import_job *job)
{
	size_t count = archive_manifest_count(job->m);
	int rc = 0;
	job->nodes = st_calloc(count + 1, sizeof *job->nodes);
	job->folders = st_calloc(count + 1, sizeof *job->folders);
	job->chunks = st_calloc(count + 1, sizeof *job->chunks);
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = plan_entry(job, i);
	if (rc == 0)
		rc = plan_ids(job);
	job->out->has_database = archive_manifest_find(job->m, DATABASE "/toc.dat") != NULL;
	if (rc == 0 && job->out->dump_files > 0 && !job->out->has_database)
		rc = st_error_set(ST_ERR_CORRUPT, "the archive's database/ holds no toc.dat");
	job->out->nodes = (int64_t)job->node_count;
	return rc;
}

/* ---- the snapshot's record ---- */

static int64_t wall_clock_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void describe(import_job *job)
{
	const st_json *doc = archive_manifest_document(job->m);
	const st_json *snap = st_json_get(doc, "snapshot");
	catalog_snapshot *s = &job->snap;
	int64_t watermark = 0;
	if (!st_json_int_value(st_json_get(snap, "time_us"), &s->time_us))
		s->time_us = wall_clock_us();
	st_json_int_value(st_json_get(snap, "db_time_us"), &s->db_time_us);
	for (size_t i = 0; i < job->node_count; i++)
		watermark = job->nodes[i].id > watermark ? job->nodes[i].id : watermark;
	if (!st_json_int_value(st_json_get(snap, "watermark"), &s->watermark) || s->watermark < watermark)
		s->watermark = watermark;
	s->has_files = archive_manifest_find(job->m, REPOSITORY) != NULL;
	s->has_database = job->out->has_database;
	s->profile = archive_manifest_object_text(job->m, "profile");
	s->db_info = archive_manifest_object_text(job->m, "db_info");
	const char *server = st_json_string_value(st_json_get(st_json_get(doc, "db_info"), "server_version"));
	job->server_major = server != NULL ? atoi(server) : 0;
	snprintf(s->source, sizeof s->source, "import of archive '%s' (its snapshot %lld)",
		 strcmp(job->o->input, "-") == 0 ? "standard input" : job->o->input,
		 (long long)archive_manifest_snapshot_id(job->m));
}

/* ---- reading the data ---- */

typedef struct entry_reader {
	archive_verifier *v;
	const archive_entry *e;
} entry_reader;

static int read_exact(void *ctx, void *buf, size_t len)
{
	entry_reader *r = ctx;
	for (size_t done = 0, n = 0; done < len; done += n) {
		int rc = archive_verifier_read(r->v, (char *)buf + done, len - done, &n);
		if (rc != 0)
			return rc;
		if (n == 0)
			return st_error_set(ST_ERR_CORRUPT, "archive entry '%s' ends early", r->e->path);
	}
	return 0;
}

/* A file of the repository, through the store; its end is read too, where its hash is checked. */
static int put_file(import_job *job, const archive_entry *e)
{
	size_t index = (size_t)(e - archive_manifest_entry(job->m, 0));
	size_t chunk_count = store_chunk_count((uint64_t)e->size);
	entry_reader r = {.v = job->v, .e = e};
	const store_reader reader = {.read = read_exact, .ctx = &r};
	st_hash hash;
	char end;
	size_t n = 0;
	if (chunk_count > 0)
		job->chunks[index] = st_calloc(chunk_count, sizeof **job->chunks);
	int rc = store_put(job->objects, &reader, (uint64_t)e->size, NULL, &hash, job->chunks[index]);
	if (rc == 0)
		rc = archive_verifier_read(job->v, &end, sizeof end, &n);
	if (rc == 0 && !st_hash_equal(&hash, &e->hash))
		rc = st_error_set(ST_ERR_CORRUPT, "archive entry '%s' does not match its manifest's hash", e->path);
	if (rc == 0)
		rc = store_flush_if_due(job->objects);
	return rc;
}

/* A file of the dump directory, into the scratch folder (its name is one plain component). */
static int write_dump_file(import_job *job, const archive_entry *e)
{
	int fd = -1;
	int rc = st_confine_create_file(&fd, job->dump_fd, e->path + strlen(DATABASE "/"), 0600, 0, job->dump_dir);
	if (rc == 0)
		rc = archive_verifier_copy_to_fd(job->v, fd, e->path);
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to write '%s/%s'", job->dump_dir, e->path);
	return rc;
}

static int read_data(import_job *job)
{
	const archive_entry *e = NULL;
	int got = 0, rc = 0;
	while (rc == 0 && (rc = st_interrupt_check()) == 0 && (got = archive_verifier_next(job->v, &e)) > 0) {
		if (e->type != ARCHIVE_ITEM_FILE)
			continue;
		rc = strncmp(e->path, DATABASE "/", strlen(DATABASE "/")) == 0 ? write_dump_file(job, e) : put_file(job, e);
	}
	if (rc == 0 && got < 0)
		rc = got;
	if (rc == 0)
		rc = archive_verifier_finish(job->v);
	if (rc == 0)
		rc = store_flush(job->objects);
	return rc;
}

static int store_dump(import_job *job)
{
	if (!job->out->has_database)
		return 0;
	db_dump_stats stats;
	return db_dump_store_dir(job->d, job->objects, job->dump_dir, job->scratch, job->server_major, job->snap.id,
				 &job->dump_files, &job->dump_file_count, &stats);
}

/* ---- the final transaction ---- */

static catalog_entry_type entry_type(archive_item_type type)
{
	return type == ARCHIVE_ITEM_FILE ? CATALOG_ENTRY_FILE
	       : type == ARCHIVE_ITEM_DIR ? CATALOG_ENTRY_DIR
					  : CATALOG_ENTRY_SYMLINK;
}

static int add_node(import_job *job, catalog *cat, const import_node *n)
{
	catalog_node node = {.node_id = n->id, .ctime_us = n->ctime_us, .uuid = n->uuid, .has_folder = n->folder != NULL};
	catalog_entry *entries = st_calloc(n->count + 1, sizeof *entries);
	size_t skip = n->folder != NULL ? strlen(n->folder->path) + 1 : 0;
	if (n->folder != NULL) {
		node.root_mode = (uint32_t)n->folder->mode;
		node.root_mtime_ns = n->folder->mtime_ns;
	}
	for (size_t i = 0; i < n->count; i++) {
		const archive_entry *e = archive_manifest_entry(job->m, n->first + i);
		catalog_entry *c = &entries[i];
		c->path = e->path + skip;
		c->target = e->target;
		c->mtime_ns = e->mtime_ns;
		c->mode = (uint32_t)e->mode;
		c->type = entry_type(e->type);
		if (e->type == ARCHIVE_ITEM_FILE) {
			c->size = (uint64_t)e->size;
			c->hash = e->hash;
			c->chunks = job->chunks[n->first + i];
			c->chunk_count = c->chunks != NULL ? store_chunk_count(c->size) : 0;
			node.files++;
			node.bytes += c->size;
		}
	}
	int rc = catalog_node_add(cat, job->snap.id, &node, entries, n->count);
	free(entries);
	return rc;
}

static int complete(import_job *job)
{
	catalog *cat = dest_catalog(job->d);
	catalog_snapshot *s = &job->snap;
	int rc = catalog_begin(cat);
	if (rc == 0)
		rc = catalog_node_end_current(cat, s->id, &job->out->replaced_nodes);
	for (size_t i = 0; i < job->node_count && rc == 0; i++)
		rc = add_node(job, cat, &job->nodes[i]);
	if (rc == 0)
		rc = catalog_folder_add(cat, s->id, job->folders, job->folder_count);
	for (size_t i = 0; i < job->dump_file_count && rc == 0; i++)
		rc = catalog_dump_file_add(cat, s->id, &job->dump_files[i]);
	if (rc == 0)
		rc = store_publish(job->objects);
	store_stats stored;
	store_get_stats(job->objects, &stored);
	job->out->objects_new = stored.objects_new;
	job->out->bytes_new = stored.bytes_new;
	job->out->stored_bytes = stored.stored_bytes;
	s->finished_us = wall_clock_us();
	s->nodes = s->new_nodes = job->out->nodes;
	s->deleted_nodes = job->out->replaced_nodes;
	s->files = job->out->files;
	s->bytes = job->out->bytes;
	s->new_bytes = stored.bytes_new;
	s->stored_bytes = stored.stored_bytes;
	if (rc == 0)
		rc = catalog_snapshot_complete(cat, s);
	if (rc == 0)
		rc = catalog_commit(cat);
	if (rc != 0)
		catalog_rollback(cat);
	/* On an object store, the snapshot exists once the catalog is published. */
	if (rc == 0)
		rc = dest_publish(job->d);
	return rc;
}

/* ---- the job ---- */

/* The lock, what a killed run left, the store, and a scratch folder for the dump's files. */
static int open_destination(import_job *job)
{
	int discarded = 0, removed = 0;
	char *root = NULL;
	const store_options options = {.compression_level = job->o->compression_level};
	int rc = dest_open_wait(&job->d, job->o->dest_path, DEST_WRITE, job->o->lock_wait_seconds);
	if (rc == 0)
		rc = catalog_discard_pending(dest_catalog(job->d), &discarded);
	if (rc == 0)
		rc = store_open(&job->objects, job->d, &options);
	if (rc == 0)
		rc = store_remove_orphans(job->objects, &removed);
	if (rc == 0)
		rc = dest_clean_scratch(job->d);
	if (rc == 0)
		rc = dest_scratch_dir(job->d, &root);
	if (rc == 0) {
		job->scratch = st_sprintf("%s/import-%d", root, (int)getpid());
		job->dump_dir = st_sprintf("%s/dump", job->scratch);
		rc = st_mkdir_p(job->dump_dir, 0700);
	}
	if (rc == 0)
		rc = st_confine_root_open(&job->dump_fd, job->dump_dir, 0700);
	free(root);
	return rc;
}

static void release(import_job *job)
{
	if (job->dump_fd >= 0)
		close(job->dump_fd);
	if (job->scratch != NULL)
		st_remove_tree(job->scratch);
	free(job->scratch);
	free(job->dump_dir);
	for (size_t i = 0; job->chunks != NULL && i < archive_manifest_count(job->m); i++)
		free(job->chunks[i]);
	free(job->chunks);
	free(job->nodes);
	free(job->folders);
	catalog_dump_files_free(job->dump_files, job->dump_file_count);
	catalog_snapshot_release(&job->snap);
	store_free(job->objects);
	dest_close(job->d);
	archive_verifier_free(job->v);
}

int import_run(const import_options *o, import_result *out)
{
	double start = st_now_seconds();
	memset(out, 0, sizeof *out);
	import_job job = {.o = o, .out = out, .dump_fd = -1};
	/* The manifest and the plan come first: a file that is no archive touches nothing. */
	int rc = archive_verifier_open(&job.v, o->input);
	if (rc == 0) {
		job.m = archive_verifier_manifest(job.v);
		out->archive_snapshot_id = archive_manifest_snapshot_id(job.m);
		rc = plan(&job);
	}
	if (rc == 0)
		rc = open_destination(&job);
	if (rc == 0) {
		describe(&job);
		job.created = (rc = catalog_snapshot_create(dest_catalog(job.d), &job.snap, &job.snap.id)) == 0;
	}
	if (rc == 0)
		rc = read_data(&job);
	if (rc == 0)
		rc = store_dump(&job);
	if (rc == 0)
		rc = complete(&job);
	out->snapshot_id = job.snap.id;
	if (rc != 0 && job.created) {
		st_error saved;
		int discarded = 0;
		st_error_save(&saved);
		catalog_discard_pending(dest_catalog(job.d), &discarded);
		st_error_restore(&saved);
	}
	release(&job);
	out->seconds = st_now_seconds() - start;
	return rc;
}
