/*
 * confine.h - creating files and folders below a root directory descriptor, never outside it.
 *
 * A restore writes into a target that someone else may have prepared: a symbolic link planted
 * at any level (the repository folder, a shard, a node folder, a file's own name) must not send
 * a write elsewhere. The root the user names is opened once (st_confine_root_open); everything
 * below it is reached relative to that descriptor without following any symbolic link: with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it, component by
 * component with O_NOFOLLOW | O_DIRECTORY otherwise (and whenever a component has to be created
 * or replaced). A link found in the way is refused with ST_ERR_TARGET, or, with
 * ST_CONFINE_REPLACE, removed - the link itself, never its target - and replaced. Files are
 * created with O_EXCL | O_NOFOLLOW, so an existing name (a link, or a hard link to a file
 * elsewhere) is never opened, written or truncated: it is refused or, replacing, unlinked first.
 *
 * Relative paths are '/'-separated; an empty, '.' or '..' component, or a leading '/', is
 * refused (ST_ERR_TARGET), whatever the caller checked before. The display argument names the
 * place in messages only (for example the target root); it is never opened.
 */
#ifndef STRATA_COMMON_CONFINE_H
#define STRATA_COMMON_CONFINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum st_confine_flags {
	ST_CONFINE_CREATE = 1 << 0,  /* create missing folders with the given mode */
	ST_CONFINE_REPLACE = 1 << 1, /* remove a link or file in the way instead of refusing it */
} st_confine_flags;

/* Opens the folder the user named as a root, creating it and its parents (mode) when missing.
 * The name is resolved once, as given (a link the user names is followed). */
int st_confine_root_open(int *out_fd, const char *path, mode_t mode);

/* Opens the folder relpath below dirfd (relpath "" opens dirfd again). */
int st_confine_dir(int *out_fd, int dirfd, const char *relpath, mode_t mode, unsigned flags,
		   const char *display);

/* Opens the folder relpath below dirfd if it is there: *out_fd is -1, and no error, when a
 * component is missing or is not a folder (a link is never followed, nor replaced). */
int st_confine_dir_existing(int *out_fd, int dirfd, const char *relpath, const char *display);

/* Creates and opens for reading and writing the file relpath below dirfd (its folder must exist), mode
 * masked by the umask. Replacing: an existing non-folder entry of that name is unlinked first. */
int st_confine_create_file(int *out_fd, int dirfd, const char *relpath, mode_t mode, unsigned flags,
			   const char *display);

/* Creates the symbolic link relpath below dirfd pointing at target (never followed). */
int st_confine_symlink(int dirfd, const char *relpath, const char *target, unsigned flags,
		       const char *display);

/* Removes the file or link relpath below dirfd (a missing one is fine). */
int st_confine_unlink(int dirfd, const char *relpath, const char *display);

/* Sets the mtime of relpath below dirfd without following a link at any level. */
int st_confine_set_mtime(int dirfd, const char *relpath, int64_t mtime_ns, const char *display);

/* Checks that relpath is a relative path of plain components (no '', '.', '..'). */
int st_confine_check_path(const char *relpath, const char *display);

/* Tests only: 1 makes st_confine_dir ignore openat2, as on a kernel without it. */
void st_confine_disable_openat2(int disable);

#endif
