/*
 * db_dump.c - pg_dump at the scan's snapshot, stored as objects and deltas (see db_dump.h).
 */
#include "engine/db_dump.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/mem.h"
#include "engine/db_info.h"
#include "engine/dump_rebuild.h"
#include "engine/zdelta.h"
#include "engine/pg_tools.h"
#include "scanner/pg_session.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files smaller than this are always stored in full, without a signature. */
#define DELTA_MIN_SIZE ((uint64_t)64 << 10)
/* Size of a data file's name in the dump ("<toc id>.dat"). */
#define DUMP_FILE_NAME_MAX 32

struct db_dump {
	dest *d;
	pg_tool pg_dump;
	pg_tool pg_restore;
	char *scratch;     /* <scratch dir>/dump-<pid> */
	char *dump_dir;    /* <scratch>/dump */
	char *snapshot_id;
	char *dsn;         /* without password */
	char *password;
	char *jobs;
	char *db_info;
	int64_t reuse_from; /* the snapshot whose dump describes the database as it is now, or 0 */
	pthread_t thread;
	bool thread_started;
	int dump_rc;
	st_error dump_error;
	double dump_seconds;
};

static int read_facts(db_dump *dump, scan_db *db)
{
	pg_session *s = scan_db_session(db);
	const scan_db_info *source = scan_db_get_info(db);
	db_info info = {.server_version = (char *)source->server_version,
			.pg_dump_version = dump->pg_dump.version,
			.database = (char *)source->database};
	char *size = NULL;
	int rc = pg_session_schema_version(s, &info.schema_version);
	if (rc == 0)
		rc = pg_session_query_text(s, "SELECT pg_database_size(current_database())", &size);
	if (rc == 0)
		rc = pg_session_table_counts(s, &info.tables, &info.table_count);
	if (rc == 0) {
		info.size_bytes = size ? strtoll(size, NULL, 10) : 0;
		dump->db_info = db_info_to_json(&info);
	}
	free(info.schema_version);
	pg_table_rows_free(info.tables, info.table_count);
	free(size);
	return rc;
}

static void *run_pg_dump(void *arg)
{
	db_dump *dump = arg;
	char *snapshot = st_sprintf("--snapshot=%s", dump->snapshot_id);
	char *file = st_sprintf("--file=%s", dump->dump_dir);
	char *dbname = st_sprintf("--dbname=%s", dump->dsn);
	char *jobs = st_sprintf("--jobs=%s", dump->jobs);
	const char *args[] = {"--format=directory", "--compress=0", "--no-password", snapshot, file, jobs, dbname, NULL};
	double started = st_now_seconds();
	dump->dump_rc = pg_tool_run(&dump->pg_dump, args, dump->password, NULL);
	dump->dump_seconds = st_now_seconds() - started;
	if (dump->dump_rc != 0)
		st_error_save(&dump->dump_error);
	free(snapshot);
	free(file);
	free(dbname);
	free(jobs);
	return NULL;
}

static void free_dump(db_dump *dump)
{
	if (dump->scratch != NULL)
		st_remove_tree(dump->scratch);
	free(dump->scratch);
	free(dump->dump_dir);
	free(dump->snapshot_id);
	free(dump->dsn);
	free(dump->password);
	free(dump->jobs);
	free(dump->db_info);
	free(dump);
}

/* Whether the recorded version's server and pg_dump are the ones a dump now would use. */
static bool same_tools(const db_dump *dump, const scan_db_info *source, const catalog_snapshot *snap)
{
	db_info recorded;
	if (snap->db_info == NULL || db_info_parse(&recorded, snap->db_info, snap->id) != 0) {
		st_error_clear();
		return false;
	}
	bool same = recorded.server_version && strcmp(recorded.server_version, source->server_version) == 0 &&
		    recorded.pg_dump_version && strcmp(recorded.pg_dump_version, dump->pg_dump.version) == 0;
	db_info_release(&recorded);
	return same;
}

/* Finds the newest snapshot with a dump of the database as it is now (the same data version,
 * server and pg_dump): its dump is this snapshot's too, and pg_dump need not run. */
static int find_unchanged(db_dump *dump, const scan_db_info *source)
{
	catalog_snapshot snap;
	bool found = false;
	if (source->data_version[0] == '\0')
		return 0;
	int rc = catalog_snapshot_latest_with_database(dest_catalog(dump->d), &snap, &found);
	if (rc != 0 || !found)
		return rc;
	if (snap.data_version != NULL && strcmp(snap.data_version, source->data_version) == 0 &&
	    same_tools(dump, source, &snap)) {
		dump->reuse_from = snap.id;
		dump->db_info = st_strdup(snap.db_info);
	}
	catalog_snapshot_release(&snap);
	return 0;
}

int db_dump_start(db_dump **out, dest *d, scan_db *db, const char *dsn, int jobs)
{
	db_dump *dump = st_calloc(1, sizeof *dump);
	dump->d = d;
	char *dbname = NULL;
	int server_major = pg_session_server_major(scan_db_session(db));
	int rc = pg_tool_find(&dump->pg_dump, "pg_dump", server_major);
	if (rc == 0)
		rc = pg_tool_find(&dump->pg_restore, "pg_restore", server_major);
	if (rc == 0)
		rc = find_unchanged(dump, scan_db_get_info(db));
	if (rc == 0 && dump->reuse_from != 0) {
		*out = dump;
		return 0;
	}
	if (rc == 0)
		rc = pg_dsn_split(dsn, &dump->dsn, &dump->password, &dbname);
	free(dbname);
	if (rc == 0)
		rc = read_facts(dump, db);
	char *root = NULL;
	if (rc == 0)
		rc = dest_scratch_dir(d, &root);
	if (rc == 0) {
		dump->scratch = st_sprintf("%s/dump-%d", root, (int)getpid());
		dump->dump_dir = st_sprintf("%s/dump", dump->scratch);
		rc = st_mkdir_p(dump->scratch, 0700);
	}
	free(root);
	if (rc == 0) {
		dump->snapshot_id = st_strdup(scan_db_get_info(db)->snapshot_id);
		dump->jobs = st_sprintf("%d", jobs > 0 ? jobs : 1);
		int err = pthread_create(&dump->thread, NULL, run_pg_dump, dump);
		if (err != 0)
			rc = st_error_set_errno(ST_ERR_GENERIC, err, "unable to start pg_dump");
		dump->thread_started = err == 0;
	}
	if (rc != 0) {
		free_dump(dump);
		return rc;
	}
	*out = dump;
	return 0;
}

/* What storing a dump directory needs: a backup's dump, or an imported one. */
typedef struct dump_store {
	dest *d;
	store *objects;
	const pg_tool *pg_restore;  /* lists the dump's table of contents */
	const char *dump_dir;
	const char *scratch;        /* for rebuilt previous versions and deltas */
} dump_store;

/* "3354; 0 16403 TABLE DATA public db_dbnode postgres" -> id 3354, key "TABLE DATA public
 * db_dbnode" (the owner, last, is left out). */
typedef struct toc_item {
	char file[DUMP_FILE_NAME_MAX];
	char *key;
} toc_item;

static int read_toc(const dump_store *dump, toc_item **out, size_t *out_count)
{
	char *listing = NULL;
	const char *args[] = {"--list", dump->dump_dir, NULL};
	int rc = pg_tool_run(dump->pg_restore, args, NULL, &listing);
	toc_item *items = NULL;
	size_t count = 0;
	for (char *save = NULL, *line = rc == 0 && listing ? strtok_r(listing, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		long id = 0;
		int consumed = 0;
		if (line[0] == ';' || sscanf(line, "%ld; %*u %*u %n", &id, &consumed) < 1 || consumed == 0)
			continue;
		char *key = st_strdup(line + consumed);
		char *space = strrchr(key, ' ');
		if (space != NULL)
			*space = '\0';
		items = st_realloc(items, (count + 1) * sizeof *items);
		snprintf(items[count].file, sizeof items[count].file, "%ld.dat", id);
		items[count++].key = key;
	}
	free(listing);
	*out = items;
	*out_count = count;
	return rc;
}

static const char *key_of(const toc_item *items, size_t count, const char *file)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(items[i].file, file) == 0)
			return items[i].key;
	return file;
}

/* How far from its end read_trailer looks for the end-of-data line. */
#define TRAILER_SEARCH 64

/* The trailer of a table's data file in pg_dump's directory format: from the end-of-data line
 * ("\\.") to the end of the file (pg_dump 15 writes "\\.\n\n\n"); *out_len 0 when fd's
 * last bytes hold no such line. */
static int read_trailer(int fd, const char *path, char out[TRAILER_SEARCH], size_t *out_len)
{
	*out_len = 0;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to stat '%s'", path);
	size_t len = st.st_size < TRAILER_SEARCH ? (size_t)st.st_size : TRAILER_SEARCH;
	char last[TRAILER_SEARCH + 1];
	last[0] = '\n'; /* a file that is only the trailer (a table without rows) */
	int rc = st_pread_all(fd, last + 1, len, (uint64_t)st.st_size - len, path);
	const char *marker = NULL;
	for (const char *p = last; rc == 0 && (p = memmem(p, len + 1 - (size_t)(p - last), "\n\\.\n", 4)) != NULL; p++)
		marker = p;
	if (marker != NULL && (len == (size_t)st.st_size || marker > last)) {
		*out_len = len + 1 - (size_t)(marker + 1 - last);
		memcpy(out, marker + 1, *out_len);
	}
	return rc;
}

/* Hashes path; with prev, also learns in the same read whether path only grew from it: whether
 * prev was path's first *out_kept_len bytes plus path's trailer (0 when not). */
static int hash_file(const char *path, const catalog_dump_file *prev, st_hash *out, uint64_t *out_size,
		     uint64_t *out_kept_len)
{
	*out_kept_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", path);
	char trailer[TRAILER_SEARCH];
	st_hash_prefix grown = {.tail = trailer};
	int rc = prev != NULL ? read_trailer(fd, path, trailer, &grown.tail_len) : 0;
	bool ask = rc == 0 && grown.tail_len > 0 && prev->size >= grown.tail_len;
	if (ask) {
		grown.len = prev->size - grown.tail_len;
		grown.hash = prev->hash;
	}
	if (rc == 0)
		rc = st_hash_fd_prefix(out, out_size, fd, path, ask ? &grown : NULL);
	if (rc == 0 && ask && grown.found && *out_size > prev->size)
		*out_kept_len = grown.len;
	close(fd);
	return rc;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/* Writes prev's content (rebuilt through its delta chain and hash-checked) to old_path. */
static int rebuild_previous(const dump_store *dump, const catalog_dump_file *prev, const char *old_path)
{
	int dir_fd = open(dump->scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", dump->scratch);
	int fd = open(old_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = fd < 0 ? st_error_set_errno(ST_ERR_GENERIC, errno, "unable to create '%s'", old_path) : 0;
	const dump_rebuild_ctx ctx = {.objects = dump->objects, .cat = dest_catalog(dump->d), .scratch_fd = dir_fd,
				      .scratch_dir = dump->scratch};
	if (rc == 0)
		rc = dump_rebuild_to_fd(&ctx, prev, fd, prev->table_key);
	if (fd >= 0)
		close(fd);
	close(dir_fd);
	return rc;
}

/* Whether out may be stored as one more delta on prev's chain: a full copy at least every
 * DB_DUMP_MAX_CHAIN snapshots, and none for small files. */
static bool chain_may_grow(const catalog_dump_file *prev, const catalog_dump_file *out)
{
	return prev->chain_length + 1 < DB_DUMP_MAX_CHAIN && out->size >= DELTA_MIN_SIZE;
}

/* Stores the delta at delta_path as out, a link of prev's chain, when it costs less than a full
 * copy, the chain's earlier deltas counted; *out_done tells whether it did. */
static int keep_delta(const dump_store *dump, const catalog_dump_file *prev, const char *delta_path,
		      catalog_dump_file *out, bool *out_done)
{
	uint64_t delta_size = file_size(delta_path);
	if (delta_size >= out->size || prev->chain_bytes + delta_size >= out->size)
		return 0;
	int rc = store_put_file(dump->objects, delta_path, &out->content);
	out->storage = CATALOG_DUMP_ZDELTA;
	out->base_snapshot = prev->snapshot_id;
	out->chain_length = prev->chain_length + 1;
	out->chain_bytes = prev->chain_bytes + delta_size;
	*out_done = rc == 0;
	return rc;
}

/* A file that only grew from prev (its first kept_len bytes are prev without the trailer): a
 * delta of copy segments and the new rows, made without rebuilding prev. */
static int try_append(const dump_store *dump, const catalog_dump_file *prev, const char *path, uint64_t kept_len,
		      catalog_dump_file *out, bool *out_done)
{
	*out_done = false;
	if (kept_len == 0 || !chain_may_grow(prev, out))
		return 0;
	char *delta = st_sprintf("%s/file.delta", dump->scratch);
	int rc = zdelta_create_append(path, kept_len, delta);
	if (rc == 0)
		rc = keep_delta(dump, prev, delta, out, out_done);
	unlink(delta);
	free(delta);
	return rc;
}

/* Tries to store path as a zstd delta against prev, rebuilt from the store; *out_done false when
 * a full copy is better, or when prev cannot be rebuilt (damage is check's to report: this
 * snapshot then starts a new chain). */
static int try_delta(const dump_store *dump, const catalog_dump_file *prev, const char *path, catalog_dump_file *out,
		     bool *out_done)
{
	*out_done = false;
	if (!chain_may_grow(prev, out))
		return 0;
	char *old = st_sprintf("%s/previous", dump->scratch);
	char *delta = st_sprintf("%s/file.delta", dump->scratch);
	int rc = rebuild_previous(dump, prev, old);
	if (rc == ST_ERR_CORRUPT) {
		st_log_warn("dump file '%s' of snapshot %lld could not be rebuilt (%s); stored in full", prev->table_key,
			    (long long)prev->snapshot_id, st_error_message());
		st_error_clear();
		rc = 0;
	} else if (rc == 0) {
		rc = zdelta_create(old, path, delta);
		if (rc == 0)
			rc = keep_delta(dump, prev, delta, out, out_done);
	}
	unlink(old);
	unlink(delta);
	free(old);
	free(delta);
	return rc;
}

/* Stores one dump file: unchanged (reuse the previous row), delta, or full. */
static int store_one(const dump_store *dump, int64_t snapshot_id, const char *name, const char *key, catalog_dump_file *out,
		     db_dump_stats *stats)
{
	char *path = st_sprintf("%s/%s", dump->dump_dir, name);
	catalog_dump_file prev;
	bool has_prev = false, done = false;
	store_stats before, after;
	store_get_stats(dump->objects, &before);
	memset(out, 0, sizeof *out);
	uint64_t kept_len = 0;
	int rc = catalog_dump_file_previous(dest_catalog(dump->d), key, snapshot_id, &prev, &has_prev);
	if (rc == 0)
		rc = hash_file(path, has_prev ? &prev : NULL, &out->hash, &out->size, &kept_len);
	if (rc == 0 && has_prev && st_hash_equal(&prev.hash, &out->hash)) {
		/* Unchanged: the previous row (content, chain) describes it as it is. */
		*out = prev;
		has_prev = false;
		done = true;
	} else if (rc == 0 && has_prev) {
		rc = try_append(dump, &prev, path, kept_len, out, &done);
		stats->append_files += done;
		if (rc == 0 && !done)
			rc = try_delta(dump, &prev, path, out, &done);
	}
	if (rc == 0 && !done) {
		rc = store_put_file(dump->objects, path, &out->content);
		out->storage = CATALOG_DUMP_FULL;
		out->chain_bytes = 0; /* a chain's cost is the deltas stored since its full copy */
		out->hash = out->content.hash;
	}
	free((char *)out->name);
	free((char *)out->table_key);
	out->name = st_strdup(name);
	out->table_key = st_strdup(key);
	out->snapshot_id = snapshot_id;
	if (has_prev)
		catalog_dump_file_release(&prev);
	stats->files++;
	stats->bytes += (int64_t)out->size;
	stats->delta_files += out->storage != CATALOG_DUMP_FULL;
	store_get_stats(dump->objects, &after);
	stats->stored_bytes += after.stored_bytes - before.stored_bytes;
	free(path);
	return rc;
}

static int store_dump(const dump_store *dump, int64_t snapshot_id, catalog_dump_file **out_files, size_t *out_count,
		      db_dump_stats *stats)
{
	toc_item *toc = NULL;
	char **names = NULL;
	size_t toc_count = 0, name_count = 0;
	catalog_dump_file *files = NULL;
	size_t count = 0;
	store_stats before, after;
	store_get_stats(dump->objects, &before);
	int rc = read_toc(dump, &toc, &toc_count);
	if (rc == 0)
		rc = st_list_dir(dump->dump_dir, &names, &name_count);
	if (rc == 0)
		files = st_calloc(name_count ? name_count : 1, sizeof *files);
	for (size_t i = 0; i < name_count && rc == 0; i++) {
		rc = store_one(dump, snapshot_id, names[i], key_of(toc, toc_count, names[i]), &files[i], stats);
		count = i + 1;
		/* Sealed on time between files too (a delta can take a while): a kill loses seconds. */
		if (rc == 0)
			rc = store_flush_if_due(dump->objects);
	}
	if (rc == 0)
		rc = store_flush(dump->objects);
	store_get_stats(dump->objects, &after);
	stats->packs_new = after.packs_sealed - before.packs_sealed;
	for (size_t i = 0; i < toc_count; i++)
		free(toc[i].key);
	free(toc);
	for (size_t i = 0; i < name_count; i++)
		free(names[i]);
	free(names);
	if (rc != 0) {
		catalog_dump_files_free(files, count);
		return rc;
	}
	*out_files = files;
	*out_count = count;
	return 0;
}

/* The database did not change since snapshot from: its dump files are this snapshot's as they
 * are (content, chains), as an unchanged table's file is in store_one. */
static int reuse_dump(const dump_store *dump, int64_t from, catalog_dump_file **out_files, size_t *out_count,
		      db_dump_stats *stats)
{
	int rc = catalog_dump_files_of(dest_catalog(dump->d), from, out_files, out_count);
	for (size_t i = 0; rc == 0 && i < *out_count; i++) {
		stats->files++;
		stats->bytes += (int64_t)(*out_files)[i].size;
	}
	stats->reused_from = from;
	return rc;
}

void db_dump_abort(db_dump *dump)
{
	if (dump == NULL)
		return;
	if (dump->thread_started)
		pthread_join(dump->thread, NULL);
	free_dump(dump);
}

void db_dump_wait(db_dump *dump)
{
	if (dump->thread_started)
		pthread_join(dump->thread, NULL);
	dump->thread_started = false;
}

int db_dump_finish(db_dump *dump, store *objects, int64_t snapshot_id, catalog_dump_file **out_files,
		   size_t *out_count, char **out_db_info, db_dump_stats *stats)
{
	memset(stats, 0, sizeof *stats);
	int rc = 0;
	db_dump_wait(dump);
	stats->dump_seconds = dump->dump_seconds;
	snprintf(stats->pg_dump_version, sizeof stats->pg_dump_version, "%s", dump->pg_dump.version);
	if (dump->dump_rc != 0)
		rc = st_error_restore(&dump->dump_error);
	const dump_store ds = {.d = dump->d, .objects = objects, .pg_restore = &dump->pg_restore,
			       .dump_dir = dump->dump_dir, .scratch = dump->scratch};
	if (rc == 0 && dump->reuse_from != 0)
		rc = reuse_dump(&ds, dump->reuse_from, out_files, out_count, stats);
	else if (rc == 0)
		rc = store_dump(&ds, snapshot_id, out_files, out_count, stats);
	if (rc == 0) {
		*out_db_info = dump->db_info;
		dump->db_info = NULL;
	}
	free_dump(dump);
	return rc;
}

int db_dump_store_dir(dest *d, store *objects, const char *dump_dir, const char *scratch, int server_major,
		      int64_t snapshot_id, catalog_dump_file **out_files, size_t *out_count, db_dump_stats *stats)
{
	pg_tool pg_restore;
	memset(stats, 0, sizeof *stats);
	int rc = pg_tool_find(&pg_restore, "pg_restore", server_major);
	const dump_store ds = {.d = d, .objects = objects, .pg_restore = &pg_restore, .dump_dir = dump_dir,
			       .scratch = scratch};
	if (rc == 0)
		rc = store_dump(&ds, snapshot_id, out_files, out_count, stats);
	return rc;
}
