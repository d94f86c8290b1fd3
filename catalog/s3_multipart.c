/*
 * s3_multipart.c - multipart uploads (see s3_multipart.h).
 *
 * Memory stays bounded whatever the object's size: a part is never held in memory; libcurl
 * reads it from the spool file in small blocks as it sends, S3_PARTS_IN_FLIGHT of them at once.
 */
#include "catalog/s3_multipart.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Answers of the create and complete steps: a few hundred bytes. */
#define ANSWER_MAX (64 * 1024)
#define LIST_UPLOADS_MAX (8 * 1024 * 1024)

void s3_part_plan(uint64_t size, uint64_t part_size, s3_part **out, size_t *out_count)
{
	if (part_size < S3_PART_MIN)
		part_size = S3_PART_MIN;
	if ((size + part_size - 1) / part_size > S3_PARTS_MAX) {
		uint64_t need = (size + S3_PARTS_MAX - 1) / S3_PARTS_MAX;
		part_size = (need + S3_MIB - 1) / S3_MIB * S3_MIB;
	}
	size_t count = size == 0 ? 1 : (size_t)((size + part_size - 1) / part_size);
	s3_part *parts = st_calloc(count, sizeof *parts);
	for (size_t i = 0; i < count; i++) {
		parts[i].offset = (uint64_t)i * part_size;
		parts[i].len = size - parts[i].offset < part_size ? size - parts[i].offset : part_size;
	}
	*out = parts;
	*out_count = count;
}

/* "uploadId=ID" (percent-encoded, as SigV4 wants a query), after "partNumber=N&" for a part. */
static char *upload_query(const char *upload_id, size_t part_number)
{
	char *enc = s3_encode(upload_id, false);
	char *q = part_number ? st_sprintf("partNumber=%zu&uploadId=%s", part_number, enc) : st_sprintf("uploadId=%s", enc);
	free(enc);
	return q;
}

static int create_upload(s3_client *c, const char *key, char **out_id)
{
	char *answer = st_malloc(ANSWER_MAX);
	s3_request req = S3_REQUEST_INIT;
	req.method = "POST";
	req.key = key;
	req.query = "uploads=";
	req.recv = answer;
	req.recv_cap = ANSWER_MAX;
	s3_response resp;
	int rc = s3_perform_expect(c, &req, 200, "start a multipart upload", &resp);
	if (rc == 0)
		rc = s3_parse_upload_id(answer, resp.received, out_id);
	free(answer);
	return rc;
}

/* Uploads the parts of fd, S3_PARTS_IN_FLIGHT at once; their ETags in *out_etags. */
static int upload_parts(s3_client *c, const char *key, const char *upload_id, int fd, uint64_t size,
			char ***out_etags, size_t *out_count)
{
	s3_part *parts = NULL;
	size_t count = 0;
	s3_part_plan(size, S3_PART_SIZE, &parts, &count);
	s3_request *reqs = st_calloc(count, sizeof *reqs);
	s3_response *resps = st_calloc(count, sizeof *resps);
	char **queries = st_calloc(count, sizeof *queries);
	for (size_t i = 0; i < count; i++) {
		queries[i] = upload_query(upload_id, i + 1);
		s3_request req = S3_REQUEST_INIT;
		req.method = "PUT";
		req.key = key;
		req.query = queries[i];
		req.body_fd = fd;
		req.body_offset = parts[i].offset;
		req.body_len = (size_t)parts[i].len;
		reqs[i] = req;
	}
	int rc = s3_perform_many(c, reqs, count, resps, S3_PARTS_IN_FLIGHT);
	char **etags = st_calloc(count, sizeof *etags);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (resps[i].status != 200)
			rc = s3_error(c, &resps[i], ST_ERR_DEST, "upload a part");
		else if (resps[i].etag[0] == '\0')
			rc = st_error_set(ST_ERR_REMOTE, "the upload of part %zu was answered without an ETag", i + 1);
		else
			etags[i] = st_strdup(resps[i].etag);
	}
	for (size_t i = 0; i < count; i++)
		free(queries[i]);
	free(queries);
	free(resps);
	free(reqs);
	free(parts);
	if (rc != 0) {
		for (size_t i = 0; i < count; i++)
			free(etags[i]);
		free(etags);
		return rc;
	}
	*out_etags = etags;
	*out_count = count;
	return 0;
}

/* Whether key holds an object of size bytes made of count parts: a completion whose answer was
 * lost, then retried, finds the upload gone (NoSuchUpload) although it succeeded. */
static bool completed_already(s3_client *c, const char *key, uint64_t size, size_t count)
{
	s3_request req = S3_REQUEST_INIT;
	req.method = "HEAD";
	req.key = key;
	s3_response resp;
	if (s3_perform(c, &req, &resp) != 0) {
		st_error_clear();
		return false;
	}
	char suffix[32];
	snprintf(suffix, sizeof suffix, "-%zu", count);
	size_t elen = strlen(resp.etag), slen = strlen(suffix);
	return resp.status == 200 && resp.content_length == size && elen > slen &&
	       strcmp(resp.etag + elen - slen, suffix) == 0;
}

static int complete_upload(s3_client *c, const char *key, const char *upload_id, char *const *etags, size_t count,
			   uint64_t size)
{
	size_t body_len = 0;
	char *body = s3_complete_body(etags, count, &body_len);
	char *query = upload_query(upload_id, 0);
	char *answer = st_malloc(ANSWER_MAX);
	s3_request req = S3_REQUEST_INIT;
	req.method = "POST";
	req.key = key;
	req.query = query;
	req.body = body;
	req.body_len = body_len;
	req.recv = answer;
	req.recv_cap = ANSWER_MAX;
	s3_response resp;
	int rc = s3_perform(c, &req, &resp);
	if (rc == 0 && resp.status == 404 && strcmp(resp.code, "NoSuchUpload") == 0 &&
	    completed_already(c, key, size, count))
		resp.status = 0; /* done: nothing to check in this answer */
	else if (rc == 0 && resp.status != 200)
		rc = s3_error(c, &resp, ST_ERR_DEST, "complete a multipart upload");
	else if (rc == 0)
		rc = s3_parse_complete(answer, resp.received);
	free(answer);
	free(query);
	free(body);
	return rc;
}

/* Best effort: a failure leaves the parts for s3_multipart_abort_stale. */
static int abort_upload(s3_client *c, const char *key, const char *upload_id)
{
	char *query = upload_query(upload_id, 0);
	s3_request req = S3_REQUEST_INIT;
	req.method = "DELETE";
	req.key = key;
	req.query = query;
	s3_response resp;
	int rc = s3_perform(c, &req, &resp);
	if (rc == 0 && resp.status != 204 && resp.status != 200 && resp.status != 404)
		rc = s3_error(c, &resp, ST_ERR_DEST, "abort a multipart upload");
	free(query);
	return rc;
}

int s3_multipart_upload(s3_client *c, const char *key, int fd, uint64_t size)
{
	char *upload_id = NULL;
	char **etags = NULL;
	size_t count = 0;
	int rc = create_upload(c, key, &upload_id);
	if (rc != 0)
		return rc;
	rc = upload_parts(c, key, upload_id, fd, size, &etags, &count);
	if (rc == 0)
		rc = complete_upload(c, key, upload_id, etags, count, size);
	if (rc != 0) {
		st_error saved;
		st_error_save(&saved);
		abort_upload(c, key, upload_id);
		st_error_restore(&saved);
	}
	for (size_t i = 0; i < count; i++)
		free(etags[i]);
	free(etags);
	free(upload_id);
	return rc;
}

/* One page of the uploads under enc_prefix, after the markers (NULL: the first page). */
static int list_uploads_page(s3_client *c, const char *enc_prefix, const char *key_marker, const char *id_marker,
			     char *body, s3_upload **uploads, size_t *count, char **out_key, char **out_id)
{
	char *query;
	if (key_marker != NULL) {
		char *ek = s3_encode(key_marker, false), *ei = s3_encode(id_marker, false);
		query = st_sprintf("key-marker=%s&prefix=%s&upload-id-marker=%s&uploads=", ek, enc_prefix, ei);
		free(ek);
		free(ei);
	} else {
		query = st_sprintf("prefix=%s&uploads=", enc_prefix);
	}
	s3_response resp;
	int rc = s3_list_page(c, query, body, LIST_UPLOADS_MAX, "list the bucket's multipart uploads", &resp);
	if (rc == 0)
		rc = s3_parse_uploads(body, resp.received, uploads, count, out_key, out_id);
	free(query);
	return rc;
}

int s3_multipart_abort_stale(s3_client *c, const char *prefix, size_t *out_aborted)
{
	*out_aborted = 0;
	char *enc_prefix = s3_encode(prefix, false);
	char *body = st_malloc(LIST_UPLOADS_MAX);
	s3_upload *uploads = NULL;
	size_t count = 0;
	char *key_marker = NULL, *id_marker = NULL;
	int rc = 0;
	do {
		char *next_key = NULL, *next_id = NULL;
		rc = list_uploads_page(c, enc_prefix, key_marker, id_marker, body, &uploads, &count, &next_key, &next_id);
		free(key_marker);
		free(id_marker);
		key_marker = next_key;
		id_marker = next_id;
	} while (rc == 0 && key_marker != NULL);
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (strncmp(uploads[i].key, prefix, plen) != 0)
			continue; /* not ours: the gateway's prefix filter is not trusted blindly */
		rc = abort_upload(c, uploads[i].key, uploads[i].upload_id);
		*out_aborted += rc == 0;
	}
	free(key_marker);
	free(id_marker);
	s3_uploads_free(uploads, count);
	free(body);
	free(enc_prefix);
	return rc;
}
