/*
 * archive_restore.c - an exported archive back into a repository root (see archive_restore.h).
 */
#include "engine/archive_restore.h"

#include "engine/archive_verify.h"
#include "engine/restore_job.h"

#include "common/confine.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct restore_ctx {
	const archive_restore_options *o;
	archive_verifier *verifier;
	int root_fd;
	int dump_fd;
	archive_restore_result *out;
} restore_ctx;

/* Which root an entry is written below and its path there; fd -1: checked, not written. */
static void place(const restore_ctx *c, const char *name, int *out_fd, const char **out_rel)
{
	if (strncmp(name, "database", 8) == 0) {
		*out_fd = c->dump_fd;
		*out_rel = name[8] == '\0' ? "" : name + 9;
	} else {
		*out_fd = c->root_fd;
		*out_rel = name;
	}
}

static int set_fd_meta(int fd, mode_t mode, int64_t mtime_ns, const char *name)
{
	struct timespec times[2] = {st_timespec_from_ns(mtime_ns), st_timespec_from_ns(mtime_ns)};
	if (fchmod(fd, mode) != 0 || futimens(fd, times) != 0)
		return st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode and mtime of '%s'", name);
	return 0;
}

static int write_file(restore_ctx *c, const archive_entry *e, int root, const char *rel)
{
	int fd = -1;
	int rc = root >= 0 ? st_confine_create_file(&fd, root, rel, 0600, 0, e->path) : 0;
	if (rc == 0)
		rc = archive_verifier_copy_to_fd(c->verifier, fd, e->path);
	if (rc == 0 && fd >= 0)
		rc = set_fd_meta(fd, e->mode, e->mtime_ns, e->path);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && fd >= 0) {
		st_error saved;
		st_error_save(&saved);
		st_confine_unlink(root, rel, e->path);
		st_error_restore(&saved);
	}
	c->out->files++;
	return rc;
}

static int write_dir(restore_ctx *c, const archive_entry *e, int root, const char *rel)
{
	int fd = -1;
	c->out->directories++;
	if (root < 0 || rel[0] == '\0')
		return 0;
	int rc = st_confine_dir(&fd, root, rel, 0700, ST_CONFINE_CREATE, e->path);
	if (rc == 0 && fchmod(fd, e->mode) != 0)
		rc = st_error_set_errno(ST_ERR_TARGET, errno, "unable to set the mode of '%s'", e->path);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_symlink(restore_ctx *c, const archive_entry *e, int root, const char *rel)
{
	c->out->symlinks++;
	if (root < 0)
		return 0;
	int rc = st_confine_symlink(root, rel, e->target, 0, e->path);
	if (rc == 0)
		rc = st_confine_set_mtime(root, rel, e->mtime_ns, e->path);
	return rc;
}

static int restore_entry(restore_ctx *c, const archive_entry *e)
{
	int root;
	const char *rel;
	place(c, e->path, &root, &rel);
	switch (e->type) {
	case ARCHIVE_ITEM_FILE: return write_file(c, e, root, rel);
	case ARCHIVE_ITEM_DIR: return write_dir(c, e, root, rel);
	default: return write_symlink(c, e, root, rel);
	}
}

static size_t depth(const char *path)
{
	size_t n = 0;
	for (; *path; path++)
		n += *path == '/';
	return n;
}

static int cmp_depth_desc(const void *a, const void *b)
{
	size_t da = depth((*(const archive_entry *const *)a)->path), db = depth((*(const archive_entry *const *)b)->path);
	return da < db ? 1 : da > db ? -1 : 0;
}

/* After everything is written: nothing listed is missing, and folders get their mtimes,
 * deepest first (writing into a folder changes its mtime). */
static int finish(restore_ctx *c)
{
	const archive_manifest *m = archive_verifier_manifest(c->verifier);
	size_t count = archive_manifest_count(m), n = 0;
	int rc = archive_verifier_finish(c->verifier);
	const archive_entry **dirs = st_calloc(count + 1, sizeof *dirs);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		if (archive_manifest_entry(m, i)->type == ARCHIVE_ITEM_DIR)
			dirs[n++] = archive_manifest_entry(m, i);
	}
	qsort(dirs, n, sizeof *dirs, cmp_depth_desc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int root;
		const char *rel;
		place(c, dirs[i]->path, &root, &rel);
		if (root >= 0 && rel[0] != '\0')
			rc = st_confine_set_mtime(root, rel, dirs[i]->mtime_ns, dirs[i]->path);
	}
	free(dirs);
	return rc;
}

static int open_root(int *out_fd, const char *path, const char *what)
{
	bool exists = false, empty = false;
	if (st_dir_state(path, &exists, &empty) != 0)
		return st_error_reclassify(ST_ERR_TARGET);
	if (exists && !empty)
		return st_error_set(ST_ERR_TARGET, "%s '%s' is not empty", what, path);
	return st_confine_root_open(out_fd, path, 0755);
}

/* The dump directory's place: the one asked for, or (for a database restore) a temporary one. */
static int dump_dir_name(const archive_restore_options *o, char **out_temp)
{
	*out_temp = NULL;
	if (o->dump_dir != NULL || o->to_dsn == NULL)
		return 0;
	return st_make_temp_dir(out_temp, "strata-archive");
}

static int restore_database(restore_ctx *c, const char *dump_dir)
{
	const archive_restore_options *o = c->o;
	archive_restore_result *out = c->out;
	if (archive_manifest_find(archive_verifier_manifest(c->verifier), "database/toc.dat") == NULL)
		return st_error_set(ST_ERR_NOTFOUND, "archive '%s' holds no database (no database/toc.dat)", o->input);
	char *facts = archive_manifest_object_text(archive_verifier_manifest(c->verifier), "db_info");
	const db_restore_options db = {.to_dsn = o->to_dsn, .dump_dir = dump_dir, .jobs = o->jobs,
				       .snapshot_id = out->snapshot_id, .facts = facts};
	int rc = db_restore_dump_dir(&db, &out->database);
	out->restored_database = rc == 0;
	free(facts);
	return rc;
}

static int add_profile(restore_ctx *c, const restore_profile_target *profile)
{
	char *record = archive_manifest_object_text(archive_verifier_manifest(c->verifier), "profile");
	int rc = restore_profile_add(profile, record, c->out->snapshot_id, c->out->profile_path,
				     sizeof c->out->profile_path);
	c->out->added_profile = rc == 0;
	free(record);
	return rc;
}

int archive_restore_run(const archive_restore_options *o, archive_restore_result *out)
{
	double start = st_now_seconds();
	memset(out, 0, sizeof *out);
	restore_ctx c = {.o = o, .root_fd = -1, .dump_fd = -1, .out = out};
	const restore_profile_target profile = {.name = o->to_profile, .to_dsn = o->to_dsn, .target_root = o->target_root,
						.config_dir = o->config_dir};
	char *temp_dump = NULL;
	int rc = restore_profile_check(&profile);
	if (rc == 0)
		rc = dump_dir_name(o, &temp_dump);
	const char *dump_dir = temp_dump != NULL ? temp_dump : o->dump_dir;
	if (rc == 0)
		rc = open_root(&c.root_fd, o->target_root, "restore target");
	if (rc == 0 && dump_dir != NULL)
		rc = open_root(&c.dump_fd, dump_dir, "dump directory");
	if (rc == 0)
		rc = archive_verifier_open(&c.verifier, o->input);
	if (rc == 0)
		out->snapshot_id = archive_manifest_snapshot_id(archive_verifier_manifest(c.verifier));
	const archive_entry *e = NULL;
	int got = 1;
	while (rc == 0 && (got = archive_verifier_next(c.verifier, &e)) > 0)
		rc = restore_entry(&c, e);
	if (rc == 0 && got < 0)
		rc = got;
	if (rc == 0)
		rc = finish(&c);
	if (rc == 0 && o->to_dsn != NULL)
		rc = restore_database(&c, dump_dir);
	if (rc == 0 && o->to_profile != NULL)
		rc = add_profile(&c, &profile);
	if (c.verifier != NULL)
		out->bytes = archive_verifier_bytes(c.verifier);
	if (temp_dump != NULL) {
		st_remove_tree(temp_dump);
		free(temp_dump);
	}
	if (c.root_fd >= 0)
		close(c.root_fd);
	if (c.dump_fd >= 0)
		close(c.dump_fd);
	archive_verifier_free(c.verifier);
	out->seconds = st_now_seconds() - start;
	return rc;
}
