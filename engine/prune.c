/*
 * prune.c - the prune job (see prune.h).
 */
#include "engine/prune.h"

#include "catalog/catalog.h"
#include "catalog/dest.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/mem.h"
#include "engine/dump_rebuild.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct prune_job {
	const prune_options *options;
	dest *d;
	store *objects;
	prune_result *out;
	int64_t first_new_pack; /* packs from this id on are this run's */
} prune_job;

/* Rebuilds one kept dump file and stores it as a full copy, whose description goes to
 * content (its chunks are the caller's to free). */
static int rebuild_one(prune_job *job, const dump_rebuild_ctx *ctx, const catalog_dump_file *file,
		       catalog_blob *content)
{
	int fd = -1;
	char *what = st_sprintf("dump file '%s' of snapshot %lld", file->name, (long long)file->snapshot_id);
	int rc = dump_rebuild_scratch(ctx, &fd);
	if (rc == 0)
		rc = dump_rebuild_to_fd(ctx, file, fd, what);
	if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to read back %s", what);
	size_t chunk_count = store_chunk_count(file->size);
	st_hash *chunks = st_calloc(chunk_count > 0 ? chunk_count : 1, sizeof *chunks);
	*content = (catalog_blob){.size = file->size, .chunks = chunks, .chunk_count = chunk_count};
	if (rc == 0)
		rc = store_put_fd(job->objects, fd, file->size, what, NULL, &content->hash, chunks);
	if (rc == 0) {
		job->out->dump_files_rebased++;
		job->out->bytes_rebased += file->size;
	}
	free(what);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Step 1: no kept dump file may build on a forgotten snapshot's version once it goes. Every
 * file is rebuilt through the chains as they are, and only then are the rows changed: a
 * later file's chain may run through an earlier one. */
static int rebase_dump_files(prune_job *job)
{
	catalog *cat = dest_catalog(job->d);
	catalog_dump_file *files = NULL;
	size_t count = 0;
	char *dir = NULL;
	int dir_fd = -1;
	int rc = catalog_dump_files_to_rebase(cat, &files, &count);
	if (rc != 0 || count == 0 || job->options->dry_run) {
		if (rc == 0)
			job->out->dump_files_rebased = (int64_t)count;
		for (size_t i = 0; i < count; i++)
			job->out->bytes_rebased += files[i].size;
		catalog_dump_files_free(files, count);
		return rc;
	}
	catalog_blob *contents = st_calloc(count, sizeof *contents);
	if ((rc = dest_scratch_dir(job->d, &dir)) == 0 &&
	    (dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to open '%s'", dir);
	const dump_rebuild_ctx ctx = {.objects = job->objects, .cat = cat, .scratch_fd = dir_fd, .scratch_dir = dir};
	size_t built = 0;
	for (; built < count && rc == 0; built++)
		if ((rc = st_interrupt_check()) == 0)
			rc = rebuild_one(job, &ctx, &files[built], &contents[built]);
	if (rc == 0)
		rc = store_seal(job->objects, NULL);
	if (rc == 0)
		rc = store_publish(job->objects);
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = catalog_dump_file_make_full(cat, files[i].snapshot_id, files[i].name, &contents[i]);
	for (size_t i = 0; i < built; i++)
		free((st_hash *)contents[i].chunks);
	free(contents);
	catalog_dump_files_free(files, count);
	if (rc == 0)
		rc = catalog_dump_fix_chains(cat);
	/* The mark below counts on it: nothing kept builds on what goes. */
	if (rc == 0 && (rc = catalog_dump_files_to_rebase(cat, &files, &count)) == 0 && count > 0) {
		rc = st_error_set(ST_ERR_CORRUPT, "dump file '%s' of snapshot %lld still builds on a forgotten snapshot",
				  files[0].name, (long long)files[0].snapshot_id);
		catalog_dump_files_free(files, count);
	}
	if (dir_fd >= 0)
		close(dir_fd);
	free(dir);
	return rc;
}

static void take_counts(prune_result *out, const catalog_prune_counts *c)
{
	out->node_versions_removed = c->node_versions;
	out->entries_removed = c->entries;
	out->dump_files_removed = c->dump_files;
	out->folder_records_removed = c->folder_records;
	out->objects_removed = c->objects;
}

/* Steps 2 to 4 (a dry run stops after the plan). */
static int mark_and_sweep(prune_job *job)
{
	catalog *cat = dest_catalog(job->d);
	store_prune_plan plan;
	catalog_prune_counts counts;
	store_stats before, after;
	store_get_stats(job->objects, &before);
	int rc = catalog_prune_mark(cat);
	if (rc == 0)
		rc = store_prune_decide(job->objects, job->options->max_unused, job->first_new_pack, &plan);
	if (rc != 0)
		return rc;
	prune_result *out = job->out;
	out->packs = plan.packs;
	out->total_bytes = plan.total_bytes;
	out->packs_deleted = (int64_t)plan.delete_count;
	out->packs_rewritten = (int64_t)plan.rewrite_count;
	out->objects_repacked = plan.rewrite_objects;
	out->bytes_repacked = plan.rewrite_bytes;
	out->freed_bytes = plan.freed_bytes;
	out->unused_after = plan.unused_after;
	if (job->options->dry_run) {
		rc = catalog_prune_count(cat, &counts);
	} else {
		st_log_info("prune: deleting %zu pack(s), rewriting %zu (%lld live objects)", plan.delete_count,
			    plan.rewrite_count, (long long)plan.rewrite_objects);
		rc = store_prune_rewrite(job->objects, &plan);
		if (rc == 0)
			rc = catalog_prune_apply(cat, &counts);
	}
	if (rc == 0)
		take_counts(out, &counts);
	store_get_stats(job->objects, &after);
	out->packs_written = after.packs_sealed - before.packs_sealed;
	store_prune_plan_release(&plan);
	return rc;
}

/* The id the first pack this run writes will get: above every pack there is. */
static int first_new_pack(catalog *cat, int64_t *out)
{
	catalog_pack *packs = NULL;
	size_t count = 0;
	int rc = catalog_pack_list(cat, &packs, &count);
	*out = count > 0 ? packs[count - 1].id + 1 : 1;
	free(packs);
	return rc;
}

/* After a failure: the transaction is rolled back; the packs this run wrote are not listed
 * any more and go now (or, if that fails too, at the next run). The first error stays. */
static void undo_writes(prune_job *job)
{
	st_error saved;
	st_error_save(&saved);
	catalog_rollback(dest_catalog(job->d));
	store_free(job->objects);
	job->objects = NULL;
	store *s = NULL;
	int removed = 0;
	if (store_open(&s, job->d, NULL) == 0 && store_remove_orphans(s, &removed) == 0 && removed > 0)
		st_log_info("prune: removed the %d pack(s) it had written", removed);
	store_free(s);
	st_error_restore(&saved);
}

int prune_run(const prune_options *options, prune_result *out)
{
	memset(out, 0, sizeof *out);
	double start = st_now_seconds();
	if (!(options->max_unused >= 0 && options->max_unused <= 1))
		return st_error_set(ST_ERR_USAGE, "--max-unused must be between 0%% and 100%%");
	prune_job job = {.options = options, .out = out};
	int discarded = 0;
	int rc = dest_open_wait(&job.d, options->dest_path, options->dry_run ? DEST_READ : DEST_WRITE,
				options->wait_seconds);
	if (rc == 0 && !options->dry_run)
		rc = catalog_discard_pending(dest_catalog(job.d), &discarded);
	if (rc == 0)
		rc = store_open(&job.objects, job.d, NULL);
	if (rc == 0 && !options->dry_run)
		rc = store_remove_orphans(job.objects, &out->orphans_removed);
	if (rc != 0)
		goto done;
	if (!options->dry_run && (rc = catalog_begin(dest_catalog(job.d))) != 0)
		goto done;
	rc = first_new_pack(dest_catalog(job.d), &job.first_new_pack);
	if (rc == 0)
		rc = catalog_prune_begin(dest_catalog(job.d), options->assume_forgotten, options->assume_forgotten_count);
	if (rc == 0)
		rc = rebase_dump_files(&job);
	if (rc == 0)
		rc = mark_and_sweep(&job);
	if (options->dry_run)
		goto done;
	if (rc == 0)
		rc = catalog_commit(dest_catalog(job.d));
	if (rc != 0) {
		undo_writes(&job);
		goto done;
	}
	/* On an object store the old packs may go only once the catalog that no longer names
	 * them is the published one; if publishing fails, the published catalog still names
	 * them, so they stay (and the packs this run wrote are the next run's orphans). */
	if ((rc = dest_publish(job.d)) != 0)
		goto done;
	/* Committed: the old packs are unreferenced now. Failing to delete them loses nothing
	 * (the next prune or backup deletes them), so it is a warning. */
	int removed = 0;
	if (store_remove_orphans(job.objects, &removed) != 0) {
		st_log_warn("prune is done, but not every old pack could be deleted (the next prune or backup deletes"
			    " them): %s", st_error_message());
		out->packs_left_behind = true;
	}
done:
	store_free(job.objects);
	dest_close(job.d);
	out->seconds = st_now_seconds() - start;
	return rc;
}
