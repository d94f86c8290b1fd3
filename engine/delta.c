/*
 * delta.c - librsync patches (see delta.h).
 */
#include "engine/delta.h"

#include "common/error.h"

#include <errno.h>
#include <librsync.h>
#include <stdio.h>
#include <unistd.h>

static int close_output(FILE *f, const char *path, int rc)
{
	if (fflush(f) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to write '%s'", path);
	if (fclose(f) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to write '%s'", path);
	return rc;
}

/* A stdio stream on a duplicate of fd, so that closing the stream leaves fd open. */
static FILE *stream_of(int fd, const char *mode, const char *what)
{
	int copy = dup(fd);
	FILE *f = copy >= 0 ? fdopen(copy, mode) : NULL;
	if (f == NULL) {
		st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", what);
		if (copy >= 0)
			close(copy);
	}
	return f;
}

int delta_patch_fd(int basis_fd, int delta_fd, int out_fd, const char *what)
{
	FILE *basis = stream_of(basis_fd, "rb", what);
	FILE *delta = basis ? stream_of(delta_fd, "rb", what) : NULL;
	FILE *out = delta ? stream_of(out_fd, "wb", what) : NULL;
	int rc = out ? 0 : st_error_code();
	if (rc == 0) {
		rs_result result = rs_patch_file(basis, delta, out, NULL);
		if (result != RS_DONE)
			rc = st_error_set(ST_ERR_CORRUPT, "unable to apply the delta of '%s': %s", what, rs_strerror(result));
		rc = close_output(out, what, rc);
	}
	if (basis)
		fclose(basis);
	if (delta)
		fclose(delta);
	return rc;
}
