/*
 * s3_multipart.h - multipart uploads to an S3-API endpoint, for backend_s3.c; not a public API.
 *
 * An object larger than S3_MULTIPART_THRESHOLD (a sealed pack) is uploaded from its local
 * spool file as parts of S3_PART_SIZE bytes (the last one shorter): CreateMultipartUpload,
 * then UploadPart with S3_PARTS_IN_FLIGHT parts in flight at once (s3_perform_many: each part
 * read from the file with pread as it is sent, and retried on its own as any request is),
 * then CompleteMultipartUpload. Nothing is visible under the key until the completion
 * succeeds; any failure before it aborts the upload (AbortMultipartUpload), so that no parts
 * are left behind. A run killed in the middle cannot abort: s3_multipart_abort_stale removes
 * what such runs left, under the destination's write lock. Conditional headers are ignored on
 * CompleteMultipartUpload, so what must be a compare-and-swap (the catalog, the lock) is never
 * uploaded this way.
 *
 * Parts are 16 MiB: a 64 MiB pack takes four, all in flight together; the threshold is
 * twice a part, so that an object goes multipart only when that gives at least two parts
 * (S3 wants every part but the last to be at least 5 MiB).
 */
#ifndef STRATA_CATALOG_S3_MULTIPART_H
#define STRATA_CATALOG_S3_MULTIPART_H

#include "catalog/s3_http.h"

#include <stddef.h>
#include <stdint.h>

#define S3_MIB ((uint64_t)1024 * 1024)
/* Objects of more bytes than this go multipart. */
#define S3_MULTIPART_THRESHOLD (32 * S3_MIB)
#define S3_PART_SIZE (16 * S3_MIB)
#define S3_PARTS_IN_FLIGHT 4
/* S3's limits: every part but the last at least this large, at most this many parts. */
#define S3_PART_MIN (5 * S3_MIB)
#define S3_PARTS_MAX 10000

typedef struct s3_part {
	uint64_t offset;
	uint64_t len;
} s3_part;

/* The parts of an object of size (> 0) bytes: consecutive, covering it, each part_size long
 * but the last (part_size raised to S3_PART_MIN, and to the next multiple of 1 MiB that keeps
 * the count within S3_PARTS_MAX); caller frees *out. */
void s3_part_plan(uint64_t size, uint64_t part_size, s3_part **out, size_t *out_count);

/* Uploads the size bytes of fd (from offset 0) as key, by a multipart upload; aborted on any
 * failure. ST_ERR_REMOTE or ST_ERR_DEST with the error record set, as s3_perform. */
int s3_multipart_upload(s3_client *c, const char *key, int fd, uint64_t size);

/* Aborts every unfinished multipart upload of a key under prefix (what killed runs left);
 * *out_aborted counts them. Call only under the destination's write lock. */
int s3_multipart_abort_stale(s3_client *c, const char *prefix, size_t *out_aborted);

#endif
