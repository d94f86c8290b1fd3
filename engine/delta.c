/*
 * delta.c - librsync signatures, deltas and patches (see delta.h).
 */
#include "engine/delta.h"

#include "common/error.h"

#include <errno.h>
#include <librsync.h>
#include <stdio.h>
#include <unistd.h>

#define DELTA_BLOCK_LEN 1024
#define DELTA_STRONG_LEN 12

static int open_files(FILE **a, const char *a_path, const char *a_mode, FILE **b, const char *b_path,
		      const char *b_mode)
{
	*a = fopen(a_path, a_mode);
	if (*a == NULL)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", a_path);
	*b = fopen(b_path, b_mode);
	if (*b == NULL) {
		int rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", b_path);
		fclose(*a);
		return rc;
	}
	return 0;
}

static int close_output(FILE *f, const char *path, int rc)
{
	if (fflush(f) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to write '%s'", path);
	if (fclose(f) != 0 && rc == 0)
		rc = st_error_set_errno(ST_ERR_GENERIC, errno, "unable to write '%s'", path);
	return rc;
}

static int rsync_error(rs_result result, const char *what, const char *path)
{
	return st_error_set(ST_ERR_GENERIC, "unable to %s '%s': %s", what, path, rs_strerror(result));
}

int delta_signature(const char *basis_path, const char *sig_path)
{
	FILE *basis, *sig;
	int rc = open_files(&basis, basis_path, "rb", &sig, sig_path, "wb");
	if (rc != 0)
		return rc;
	rs_result result = rs_sig_file(basis, sig, DELTA_BLOCK_LEN, DELTA_STRONG_LEN, RS_RK_BLAKE2_SIG_MAGIC, NULL);
	if (result != RS_DONE)
		rc = rsync_error(result, "compute the signature of", basis_path);
	fclose(basis);
	return close_output(sig, sig_path, rc);
}

int delta_create(const char *sig_path, const char *new_path, const char *delta_path)
{
	FILE *sig_file = fopen(sig_path, "rb");
	if (sig_file == NULL)
		return st_error_set_errno(ST_ERR_GENERIC, errno, "unable to open '%s'", sig_path);
	rs_signature_t *sig = NULL;
	rs_result result = rs_loadsig_file(sig_file, &sig, NULL);
	fclose(sig_file);
	if (result != RS_DONE)
		return rsync_error(result, "load the signature", sig_path);
	int rc = 0;
	if ((result = rs_build_hash_table(sig)) != RS_DONE) {
		rs_free_sumset(sig);
		return rsync_error(result, "index the signature", sig_path);
	}
	FILE *new_file, *delta;
	if ((rc = open_files(&new_file, new_path, "rb", &delta, delta_path, "wb")) != 0) {
		rs_free_sumset(sig);
		return rc;
	}
	result = rs_delta_file(sig, new_file, delta, NULL);
	if (result != RS_DONE)
		rc = rsync_error(result, "compute the delta of", new_path);
	rs_free_sumset(sig);
	fclose(new_file);
	return close_output(delta, delta_path, rc);
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
