/*
 * backup.c - the backup job (see backup.h): selection, the pipeline, and the final commit.
 */
#include "engine/backup.h"

#include "engine/backup_pipeline.h"
#include "engine/db_restore.h"
#include "engine/reconcile.h"

#include "catalog/dest.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/workers.h"
#include "scanner/source.h"
#include "scanner/source_db.h"
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define SELECT_BATCH 1024
/* Catalog connections for the dedup lookups of the I/O workers. */
#define DEDUP_READERS 4

typedef struct backup_job {
	const backup_options *options;
	backup_result *result;
	dest *destination;
	store *objects;
	store_stats files_stored;   /* what the file pipeline stored */
	catalog *dedup_readers[DEDUP_READERS];
	catalog *node_reader;
	scan_db *db;
	source *source;             /* NULL for a database-only backup */
	catalog_snapshot previous;
	bool has_previous;
	catalog_snapshot snapshot;
	reconcile_diff diff;        /* ids missing from the catalog, and vanished from the database */
	id_list reread;             /* held without a folder that exists now (full scan), ascending */
	catalog_folder *folders;    /* the folders above the node folders, read at the end of the scan */
	size_t folder_count;
	pipeline_stats stats;
	atomic_int phase;           /* backup_phase; READING stands for the three of the files */
	pthread_mutex_t progress_lock; /* one progress callback at a time */
	pthread_t progress_thread;
	bool progress_started;
	atomic_bool progress_stop;
	db_dump *dump;
	catalog_dump_file *dump_files;
	size_t dump_file_count;
	double started;             /* st_now_seconds() at the start */
	double step_started;        /* st_now_seconds() when the current step (backup_timing) began */
} backup_job;

static const char *const timing_names[BACKUP_TIME_END] = {
	[BACKUP_TIME_OPEN] = "open",
	[BACKUP_TIME_RECONCILE] = "reconcile",
	[BACKUP_TIME_START] = "start",
	[BACKUP_TIME_FILES] = "files",
	[BACKUP_TIME_FOLDERS] = "folders",
	[BACKUP_TIME_DUMP_WAIT] = "dump_wait",
	[BACKUP_TIME_DUMP_STORE] = "dump_store",
	[BACKUP_TIME_COMMIT] = "commit",
};

const char *backup_timing_name(backup_timing step)
{
	return step < BACKUP_TIME_END ? timing_names[step] : "";
}

/* Ends a step: the time since the last one ended is its. */
static void step_done(backup_job *job, backup_timing step)
{
	double now = st_now_seconds();
	job->result->step_seconds[step] += now - job->step_started;
	job->step_started = now;
}

static int64_t wall_clock_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Whether the database carries the mark of a restore from this destination (db_restore.h). */
static int restored_from_here(backup_job *job, bool *out)
{
	char *id = NULL, *comment = NULL;
	*out = false;
	int rc = catalog_meta_get(dest_catalog(job->destination), "destination_id", &id);
	if (rc == 0)
		rc = pg_session_query_text(scan_db_session(job->db),
					   "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
					   " WHERE datname = current_database()",
					   &comment);
	if (rc == 0 && id != NULL && comment != NULL) {
		char *prefix = st_sprintf(DB_RESTORE_MARK_PREFIX "%s snapshot ", id);
		*out = strncmp(comment, prefix, strlen(prefix)) == 0;
		free(prefix);
	}
	free(comment);
	free(id);
	return rc;
}

/* The destination belongs to one source database; a backup of another one is refused, unless
 * the database was restored from this destination (the history continues) or --adopt says it
 * replaces the one before. */
static int check_source_identity(backup_job *job)
{
	const scan_db_info *info = scan_db_get_info(job->db);
	char *identity = st_sprintf("%s/%s", info->system_id, info->database);
	char *stored = NULL;
	bool restored = false;
	catalog *cat = dest_catalog(job->destination);
	int rc = catalog_meta_get(cat, "source_identity", &stored);
	if (rc == 0 && stored == NULL) {
		rc = catalog_meta_set(cat, "source_identity", identity);
	} else if (rc == 0 && strcmp(stored, identity) != 0) {
		if (!job->options->adopt && (rc = restored_from_here(job, &restored)) != 0)
			goto cleanup;
		if (job->options->adopt || restored) {
			st_log_note("database '%s' %s: the destination's history continues with it (it held '%s')",
				    info->database,
				    restored ? "was restored from this destination" : "is adopted (--adopt)", stored);
			rc = catalog_meta_set(cat, "source_identity", identity);
		} else {
			rc = st_error_set(ST_ERR_DEST,
					  "destination '%s' holds backups of another database ('%s'), not of '%s' (if "
					  "this database replaces that one, e.g. restored from a copy, back it up with --adopt)",
					  job->options->dest_path, stored, identity);
		}
	}
cleanup:
	free(stored);
	free(identity);
	return rc;
}

/* The lowest id either side holds: where the comparison of ids starts. */
static int lowest_id(backup_job *job, int64_t *out)
{
	int64_t in_catalog = 0, in_db = scan_db_get_info(job->db)->min_node_id;
	int rc = catalog_node_min_current(job->node_reader, &in_catalog);
	if (in_db == 0 || (in_catalog != 0 && in_catalog < in_db))
		in_db = in_catalog;
	*out = in_db;
	return rc;
}

/* The ids at or below the last watermark on which database and catalog disagree: by ranges
 * (reconcile.h), or every id with --full-scan. */
static int reconcile_ids(backup_job *job)
{
	int64_t lo = 0, hi = job->previous.watermark;
	int rc = lowest_id(job, &lo);
	if (rc == 0 && lo > 0)
		rc = job->options->full_scan ? reconcile_every_id(&job->diff, job->db, job->node_reader, lo, hi)
					     : reconcile_ranges(&job->diff, job->db, job->node_reader, lo, hi);
	backup_result *r = job->result;
	r->reconcile_ranges_compared = job->diff.ranges_compared;
	r->reconcile_ranges_listed = job->diff.ranges_listed;
	r->reconcile_ids_listed = job->diff.ids_listed;
	r->reconciled = rc == 0 && (job->options->full_scan || job->diff.ranges_listed > 0);
	return rc;
}

/* Nodes held without a folder whose folder exists now are read again: this repairs a
 * destination that was backed up from a repository that was missing or incomplete. */
static int find_nodes_to_reread(backup_job *job)
{
	catalog_folderless_node *nodes = NULL;
	size_t count = 0;
	int rc = catalog_node_current_folderless(job->node_reader, job->previous.watermark, &nodes, &count);
	for (size_t i = 0; i < count && rc == 0; i++) {
		bool exists = false;
		scan_node node = {.id = nodes[i].node_id};
		snprintf(node.uuid, sizeof node.uuid, "%s", nodes[i].uuid);
		if ((rc = source_node_exists(&exists, job->source, &node)) != 0 || !exists)
			continue;
		id_list_append(&job->reread, nodes[i].node_id);
		id_list_append(&job->diff.missing, nodes[i].node_id);
	}
	free(nodes);
	if (rc == 0 && job->reread.count > 0)
		st_log_info("reading %zu node(s) again that were recorded without a folder and have one now",
			    job->reread.count);
	return rc;
}

/* A deleted node's folder was removed from its shards, whose mtimes changed with it. */
static int note_vanished(backup_job *job)
{
	int rc = 0;
	for (size_t i = 0; i < job->diff.vanished.count && rc == 0; i++) {
		scan_node node = {.id = job->diff.vanished.ids[i]};
		bool found = false;
		rc = catalog_node_current_uuid(job->node_reader, node.id, node.uuid, &found);
		if (rc == 0 && found)
			source_note_node(job->source, &node);
	}
	return rc;
}

/* The database's content is what the previous snapshot with files was complete for: no node
 * can have been added below the watermark or deleted since, so there is nothing to reconcile. */
static bool database_unchanged(const backup_job *job)
{
	const char *now = scan_db_get_info(job->db)->data_version;
	return job->has_previous && !job->options->full_scan && now[0] != '\0' && job->previous.data_version != NULL &&
	       strcmp(job->previous.data_version, now) == 0;
}

static int plan_selection(backup_job *job)
{
	if (!job->has_previous)
		return 0;
	job->result->database_unchanged = database_unchanged(job);
	if (job->result->database_unchanged)
		return 0;
	int rc = reconcile_ids(job);
	if (rc == 0 && job->options->full_scan)
		rc = find_nodes_to_reread(job);
	if (rc == 0)
		rc = note_vanished(job);
	return rc;
}

static int compare_ids(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static bool is_reread(const backup_job *job, int64_t id)
{
	return job->reread.count > 0 &&
	       bsearch(&id, job->reread.ids, job->reread.count, sizeof id, compare_ids) != NULL;
}

/* The phase as the caller sees it: the files' phase is told apart by the pipeline's state. */
static backup_phase current_phase(backup_job *job)
{
	backup_phase phase = (backup_phase)atomic_load(&job->phase);
	if (phase != BACKUP_PHASE_READING)
		return phase;
	if (atomic_load(&job->stats.sealing))
		return BACKUP_PHASE_SEALING;
	return atomic_load(&job->stats.readers_done) ? BACKUP_PHASE_COMPRESSING : BACKUP_PHASE_READING;
}

/* The files' bytes to expect: what was read, scaled by the nodes left to read. */
static int64_t bytes_expected(backup_job *job, int64_t nodes_done, int64_t nodes_expected, int64_t bytes_read)
{
	if (atomic_load(&job->stats.readers_done) || nodes_done <= 0 || nodes_expected <= nodes_done)
		return bytes_read;
	return (int64_t)((double)bytes_read * (double)nodes_expected / (double)nodes_done);
}

/* The pipeline's counters as the caller's progress callback sees them. */
static void report_progress(backup_job *job)
{
	if (job->options->progress == NULL)
		return;
	int64_t expected = scan_db_get_info(job->db)->node_count - job->previous.nodes;
	store_stats stored;
	pthread_mutex_lock(&job->progress_lock);
	store_get_stats(job->objects, &stored);
	backup_progress p = {
		.phase = current_phase(job),
		.nodes_done = atomic_load(&job->stats.nodes_done),
		.nodes_expected = expected > 0 ? expected : 0,
		.files_read = atomic_load(&job->stats.files_read),
		.bytes_read = atomic_load(&job->stats.bytes_read),
		.bytes_done = atomic_load(&job->stats.bytes_done),
		.objects_new = stored.objects_new,
		.stored_bytes = stored.stored_bytes,
		.seconds = st_now_seconds() - job->started,
	};
	p.bytes_expected = bytes_expected(job, p.nodes_done, p.nodes_expected, p.bytes_read);
	job->options->progress(job->options->progress_ctx, &p);
	pthread_mutex_unlock(&job->progress_lock);
}

/* The pipeline's hook: a stage changed what it does. */
static void pipeline_changed_hook(void *arg)
{
	report_progress(arg);
}

/* Enters a phase and tells the caller at once, whatever the timer says. */
static void set_phase(backup_job *job, backup_phase phase)
{
	atomic_store(&job->phase, (int)phase);
	report_progress(job);
}

static void *progress_thread(void *arg)
{
	backup_job *job = arg;
	struct timespec pause = {BACKUP_PROGRESS_INTERVAL_MS / 1000, (BACKUP_PROGRESS_INTERVAL_MS % 1000) * 1000000L};
	for (;;) {
		nanosleep(&pause, NULL);
		if (atomic_load(&job->progress_stop))
			break;
		report_progress(job);
	}
	return NULL;
}

static void start_progress(backup_job *job)
{
	if (job->options->progress != NULL)
		job->progress_started = pthread_create(&job->progress_thread, NULL, progress_thread, job) == 0;
}

static void stop_progress(backup_job *job)
{
	if (!job->progress_started)
		return;
	atomic_store(&job->progress_stop, true);
	pthread_join(job->progress_thread, NULL);
	job->progress_started = false;
}

/* The selection's bounds: above the watermark, ctimes and mtimes within the overlap of the
 * previous snapshot's database time (the database's own clock, as both are), the ids the
 * catalog lacks. */
static scan_selection selection_of(const backup_job *job)
{
	int64_t since = job->has_previous ? job->previous.db_time_us - job->options->overlap_seconds * 1000000
					  : INT64_MAX;
	scan_selection sel = {
		.watermark = job->has_previous ? job->previous.watermark : 0,
		.ctime_from_us = since,
		.mtime_from_us = since,
		.extra_ids = job->diff.missing.ids,
		.extra_count = job->diff.missing.count,
	};
	if (job->options->ctime_from_us != 0 && job->options->ctime_from_us < sel.ctime_from_us)
		sel.ctime_from_us = job->options->ctime_from_us;
	return sel;
}

/* One selected node: a new one is read; a held one only when its mtime moved since the version
 * held was read (its tree is then compared before its files are read, pipeline_submit_held). */
static int feed_node(backup_job *job, backup_pipeline *pipeline, const scan_node *node)
{
	catalog_node_state held = {0};
	int rc = job->has_previous ? catalog_node_current_state(job->node_reader, node->id, &held) : 0;
	if (rc != 0)
		return rc;
	bool reread = held.current && is_reread(job, node->id);
	if (held.current && !reread && held.mtime_us == node->mtime_us)
		return 0;
	source_note_node(job->source, node);
	return held.current && !reread ? pipeline_submit_held(pipeline, node, &held) : pipeline_submit(pipeline, node);
}

/* Streams the selected nodes into the pipeline. */
static int feed_nodes(backup_job *job, backup_pipeline *pipeline)
{
	scan_cursor *cursor = NULL;
	scan_node batch[SELECT_BATCH];
	size_t got = 0;
	scan_selection sel = selection_of(job);
	int rc = scan_db_select_nodes(&cursor, job->db, &sel);
	while (rc == 0 && (rc = scan_cursor_next(cursor, batch, SELECT_BATCH, &got)) == 0 && got > 0) {
		for (size_t i = 0; i < got && rc == 0; i++) {
			if ((rc = st_interrupt_check()) != 0)
				break;
			job->result->nodes_selected++;
			rc = feed_node(job, pipeline, &batch[i]);
		}
	}
	scan_cursor_close(cursor);
	return rc;
}

static int compression_level(const backup_options *o)
{
	return o->compression_level > 0 ? o->compression_level : BACKUP_COMPRESSION_LEVEL_DEFAULT;
}

static int run_pipeline(backup_job *job)
{
	const backup_options *o = job->options;
	int jobs = o->jobs > 0 ? o->jobs : st_cpu_count();
	int per_job = BACKUP_IO_THREADS_PER_JOB * jobs;
	int io = o->io_threads > 0 ? o->io_threads : (per_job > BACKUP_IO_THREADS_MAX ? BACKUP_IO_THREADS_MAX : per_job);
	pipeline_config config = {
		.destination = job->destination,
		.objects = job->objects,
		.snapshot_id = job->snapshot.id,
		.source = job->source,
		.io_threads = io,
		.cpu_threads = jobs,
		.changed = pipeline_changed_hook,
		.changed_ctx = job,
	};
	backup_pipeline *pipeline = NULL;
	set_phase(job, BACKUP_PHASE_READING);
	int rc = pipeline_start(&pipeline, &config, &job->stats);
	if (rc != 0)
		return rc;
	int feed_rc = feed_nodes(job, pipeline);
	if (feed_rc != 0 && (st_error_code() == ST_ERR_DATABASE || st_error_code() == ST_ERR_INTERRUPTED)) {
		st_error saved;
		st_error_save(&saved);
		pipeline_abort(pipeline);
		rc = st_error_restore(&saved);
	} else {
		/* A failed submit means a stage failed: finishing reports that stage's error. */
		rc = pipeline_finish(pipeline);
		if (rc == 0)
			rc = feed_rc;
	}
	store_get_stats(job->objects, &job->files_stored);
	return rc;
}

/* More catalog connections: one to feed nodes, a few for the dedup lookups of the I/O workers. */
static int open_store(backup_job *job)
{
	int rc = dest_open_reader(job->destination, &job->node_reader);
	for (int i = 0; i < DEDUP_READERS && rc == 0; i++)
		rc = dest_open_reader(job->destination, &job->dedup_readers[i]);
	store_options options = {
		.compression_level = compression_level(job->options),
		.readers = job->dedup_readers,
		.reader_count = DEDUP_READERS,
	};
	if (rc == 0)
		rc = store_open(&job->objects, job->destination, &options);
	return rc;
}

static void describe_source(backup_job *job)
{
	const scan_db_info *info = scan_db_get_info(job->db);
	const char *files = job->source != NULL ? source_path(job->source) : "";
	const char *profile = job->options->profile_name;
	snprintf(job->snapshot.source, sizeof job->snapshot.source, "%s%s%sdatabase '%s' (PostgreSQL %s%s%s)%s%s%s",
		 profile ? "profile '" : "", profile ? profile : "", profile ? "': " : "", info->database, info->server_version, info->system_id[0] ? ", system " : "", info->system_id,
		 files[0] ? ", repository '" : "", files, files[0] ? "'" : "");
}

/* The folders above the node folders that this backup touched, read once at the end of the
 * scan (after the nodes in them), for complete_snapshot to record. */
static int read_folders(backup_job *job)
{
	source_folder *found = NULL;
	size_t count = 0;
	int rc = source_folder_meta(job->source, &found, &count);
	if (rc != 0)
		return rc;
	job->folders = st_calloc(count ? count : 1, sizeof *job->folders);
	for (size_t i = 0; i < count; i++) {
		_Static_assert(sizeof job->folders[i].path >= sizeof found[i].path, "folder paths fit the catalog");
		memcpy(job->folders[i].path, found[i].path, sizeof found[i].path);
		job->folders[i].mode = found[i].mode;
		job->folders[i].mtime_ns = found[i].mtime_ns;
	}
	job->folder_count = count;
	free(found);
	return 0;
}

/* Marks vanished nodes deleted, records the folders and completes the snapshot, in one
 * transaction. */
static int complete_snapshot(backup_job *job)
{
	catalog *cat = dest_catalog(job->destination);
	catalog_snapshot *snap = &job->snapshot;
	int64_t gone_files = 0, gone_bytes = 0, reread_files = 0, reread_bytes = 0;
	backup_result *r = job->result;
	set_phase(job, BACKUP_PHASE_COMMITTING);
	int rc = catalog_begin(cat);
	if (rc == 0)
		rc = catalog_node_mark_deleted(cat, snap->id, job->diff.vanished.ids, job->diff.vanished.count,
					       &gone_files, &gone_bytes);
	if (rc == 0)
		rc = catalog_node_supersede(cat, snap->id, job->reread.ids, job->reread.count, &reread_files, &reread_bytes);
	if (rc == 0)
		rc = catalog_folder_add(cat, snap->id, job->folders, job->folder_count);
	for (size_t i = 0; i < job->dump_file_count && rc == 0; i++)
		rc = catalog_dump_file_add(cat, snap->id, &job->dump_files[i]);
	if (rc == 0)
		rc = store_publish(job->objects);
	store_stats stored;
	store_get_stats(job->objects, &stored);
	/* A node read again replaces its held version: it is not a new node. */
	r->nodes_reread = (int64_t)job->reread.count;
	r->nodes_rechecked = atomic_load(&job->stats.nodes_rechecked);
	r->nodes_unchanged = atomic_load(&job->stats.nodes_unchanged);
	r->nodes_changed = atomic_load(&job->stats.nodes_replaced);
	r->nodes_withdrawn = atomic_load(&job->stats.nodes_withdrawn);
	r->nodes_new = atomic_load(&job->stats.nodes_done) - r->nodes_reread - r->nodes_changed;
	gone_files += reread_files + atomic_load(&job->stats.replaced_files);
	gone_bytes += reread_bytes + atomic_load(&job->stats.replaced_bytes);
	r->nodes_deleted = (int64_t)job->diff.vanished.count;
	r->files_read = atomic_load(&job->stats.files_read);
	r->bytes_read = atomic_load(&job->stats.bytes_read);
	r->objects_new = job->files_stored.objects_new;
	r->bytes_new = job->files_stored.bytes_new;
	r->stored_bytes = stored.stored_bytes;
	r->packs_new = stored.packs_sealed;
	r->special_files_skipped = atomic_load(&job->stats.special_skipped);
	r->nodes_left = atomic_load(&job->stats.nodes_left);
	r->has_files = snap->has_files;
	r->has_database = snap->has_database;
	snap->finished_us = wall_clock_us();
	snap->new_nodes = r->nodes_new;
	snap->deleted_nodes = r->nodes_deleted;
	snap->nodes = job->previous.nodes + r->nodes_new - r->nodes_deleted - r->nodes_withdrawn;
	snap->files = job->previous.files + r->files_read - gone_files;
	snap->bytes = job->previous.bytes + r->bytes_read - gone_bytes;
	snap->new_bytes = r->bytes_new;
	snap->stored_bytes = r->stored_bytes;
	/* Complete for the database as it is: unless a node was left for the next run to read. */
	const char *data_version = scan_db_get_info(job->db)->data_version;
	if (data_version[0] != '\0' && (!snap->has_files || r->nodes_left == 0))
		snap->data_version = st_strdup(data_version);
	if (rc == 0)
		rc = catalog_snapshot_complete(cat, snap);
	if (rc == 0)
		rc = catalog_commit(cat);
	if (rc != 0)
		catalog_rollback(cat);
	/* On an object store, the snapshot becomes visible here, not at the commit. */
	if (rc == 0)
		rc = dest_publish(job->destination);
	r->snapshot_id = snap->id;
	r->nodes_total = snap->nodes;
	r->files_total = snap->files;
	r->bytes_total = snap->bytes;
	return rc;
}

/* What a killed run left: its pending snapshot and unsealed packs are discarded, its sealed
 * packs kept (their objects published, so this run does not store them again). */
static int discard_interrupted(backup_job *job)
{
	backup_result *r = job->result;
	catalog *cat = dest_catalog(job->destination);
	int rc = catalog_object_staged_totals(cat, &r->kept_packs, &r->kept_objects, &r->kept_bytes);
	if (rc == 0)
		rc = catalog_discard_pending(cat, &r->discarded_snapshots);
	if (rc == 0)
		rc = open_store(job);
	if (rc == 0)
		rc = store_remove_orphans(job->objects, &r->removed_packs);
	if (rc != 0 || (r->discarded_snapshots == 0 && r->removed_packs == 0 && r->kept_packs == 0))
		return rc;
	st_log_debug("interrupted backup: %d pending snapshot(s) discarded, %d unsealed pack(s) removed, %lld sealed"
		     " pack(s) kept (%lld objects, %lld bytes)",
		     r->discarded_snapshots, r->removed_packs, (long long)r->kept_packs, (long long)r->kept_objects,
		     (long long)r->kept_bytes);
	if (job->options->interrupted != NULL)
		job->options->interrupted(job->options->interrupted_ctx, r);
	return 0;
}

/* A destination's snapshots hold files of one kind: after an AiiDA 1.x -> 2.x migration the
 * same nodes' files are objects of a container, which the 1.x history cannot continue. */
static int check_source_kind(backup_job *job)
{
	if (job->source == NULL || !job->has_previous)
		return 0;
	bool container = source_container_config_text(job->source) != NULL;
	if (container == (job->previous.container != NULL))
		return 0;
	return st_error_set(ST_ERR_DEST,
			    "destination '%s' holds backups of AiiDA %s but repository '%s' is AiiDA %s (use a new destination)",
			    job->options->dest_path, container ? "1.x node folders" : "2.x containers",
			    job->options->repository, container ? "2.x (a container)" : "1.x (node folders)");
}

static int prepare(backup_job *job)
{
	/* The root's shape is checked before the destination is locked or the database contacted. */
	int rc = job->options->database_only ? 0 : source_open(&job->source, job->options->repository);
	if (rc == 0)
		rc = dest_open_wait(&job->destination, job->options->dest_path, DEST_WRITE, job->options->lock_wait_seconds);
	if (rc == 0)
		rc = discard_interrupted(job);
	if (rc == 0)
		rc = dest_clean_scratch(job->destination);
	if (rc == 0)
		rc = scan_db_open(&job->db, job->options->dsn);
	if (rc == 0 && job->source != NULL)
		rc = source_attach(job->source, job->db);
	if (rc == 0)
		rc = check_source_identity(job);
	if (rc == 0)
		rc = catalog_snapshot_latest_with_files(dest_catalog(job->destination), &job->previous, &job->has_previous);
	if (rc == 0)
		rc = check_source_kind(job);
	return rc;
}

/* A backup that fails cleanly removes its pending snapshot (a killed one leaves it to the next
 * run); sealed packs stay and are reused. */
static void discard_failed_snapshot(backup_job *job)
{
	st_error saved;
	int discarded = 0;
	st_error_save(&saved);
	catalog_discard_pending(dest_catalog(job->destination), &discarded);
	st_error_restore(&saved);
}

/* The database side: waits for pg_dump and stores its files. */
static int finish_dump(backup_job *job)
{
	db_dump *dump = job->dump;
	job->dump = NULL;
	set_phase(job, BACKUP_PHASE_DUMPING);
	db_dump_wait(dump);
	step_done(job, BACKUP_TIME_DUMP_WAIT);
	set_phase(job, BACKUP_PHASE_STORING_DUMP);
	int rc = db_dump_finish(dump, job->objects, job->snapshot.id, &job->dump_files, &job->dump_file_count,
				&job->snapshot.db_info, &job->result->db);
	step_done(job, BACKUP_TIME_DUMP_STORE);
	if (rc == 0)
		job->snapshot.has_database = true;
	return rc;
}

static int start_dump(backup_job *job)
{
	int jobs = job->options->jobs > 0 ? job->options->jobs : st_cpu_count();
	return db_dump_start(&job->dump, job->destination, job->db, job->options->dsn, jobs);
}

int backup_run(const backup_options *options, backup_result *out)
{
	backup_job job = {.options = options, .result = out, .started = st_now_seconds()};
	memset(out, 0, sizeof *out);
	job.step_started = job.started;
	atomic_init(&job.progress_stop, false);
	atomic_init(&job.phase, (int)(options->database_only ? BACKUP_PHASE_DUMPING : BACKUP_PHASE_READING));
	atomic_init(&job.stats.readers_done, false);
	atomic_init(&job.stats.sealing, false);
	pthread_mutex_init(&job.progress_lock, NULL);
	/* A malformed connection string is a usage error, found before anything is touched. */
	int rc = pg_dsn_check(options->dsn);
	if (rc == 0)
		rc = prepare(&job);
	if (rc == 0 && options->files_only && options->database_only)
		rc = st_error_set(ST_ERR_USAGE, "--files-only and --database-only exclude each other");
	step_done(&job, BACKUP_TIME_OPEN);
	if (rc == 0 && !options->database_only)
		rc = plan_selection(&job);
	step_done(&job, BACKUP_TIME_RECONCILE);
	if (rc == 0) {
		const scan_db_info *info = scan_db_get_info(job.db);
		job.snapshot.time_us = wall_clock_us();
		job.snapshot.db_time_us = info->db_time_us;
		job.snapshot.watermark = info->max_node_id > job.previous.watermark ? info->max_node_id
										    : job.previous.watermark;
		job.snapshot.has_files = !options->database_only;
		job.snapshot.profile = options->profile_json ? st_strdup(options->profile_json) : NULL;
		const char *container = job.source ? source_container_config_text(job.source) : NULL;
		job.snapshot.container = container ? st_strdup(container) : NULL;
		describe_source(&job);
	}
	/* pg_dump is found and checked before a pending snapshot exists. */
	if (rc == 0 && !options->files_only)
		rc = start_dump(&job);
	bool created = false;
	if (rc == 0)
		created = (rc = catalog_snapshot_create(dest_catalog(job.destination), &job.snapshot, &job.snapshot.id)) == 0;
	if (rc == 0)
		start_progress(&job);
	step_done(&job, BACKUP_TIME_START);
	if (rc == 0 && !options->database_only)
		rc = run_pipeline(&job);
	step_done(&job, BACKUP_TIME_FILES);
	if (rc == 0 && !options->database_only)
		rc = read_folders(&job);
	step_done(&job, BACKUP_TIME_FOLDERS);
	if (rc == 0 && job.dump != NULL)
		rc = finish_dump(&job);
	if (rc == 0)
		rc = complete_snapshot(&job);
	step_done(&job, BACKUP_TIME_COMMIT);
	stop_progress(&job);
	if (rc == 0)
		set_phase(&job, BACKUP_PHASE_DONE);
	db_dump_abort(job.dump);
	if (rc != 0 && created)
		discard_failed_snapshot(&job);
	out->seconds = st_now_seconds() - job.started;
	store_free(job.objects);
	for (int i = 0; i < DEDUP_READERS; i++)
		catalog_close(job.dedup_readers[i]);
	catalog_close(job.node_reader);
	source_close(job.source);
	scan_db_close(job.db);
	dest_close(job.destination);
	catalog_snapshot_release(&job.previous);
	catalog_snapshot_release(&job.snapshot);
	catalog_dump_files_free(job.dump_files, job.dump_file_count);
	reconcile_diff_release(&job.diff);
	id_list_release(&job.reread);
	free(job.folders);
	pthread_mutex_destroy(&job.progress_lock);
	return rc;
}
