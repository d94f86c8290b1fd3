/*
 * s3_http.h - requests to an S3-API endpoint through libcurl, for backend_s3.c; not a public API.
 *
 * The one place that knows libcurl: a client holds the endpoint, the bucket and the
 * credentials (from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
 * AWS_DEFAULT_REGION; never from the command line, never written anywhere) and a pool of curl
 * handles, so that requests from several threads run in parallel, each reusing its
 * connections. Requests are signed by libcurl (CURLOPT_AWS_SIGV4); no signing, HTTP or TLS code
 * of ours. Transient failures (a timeout, a refused or broken connection, 500, 502, 503
 * SlowDown, 504) are retried with exponential backoff; what remains is reported as
 * ST_ERR_REMOTE with a one-line message naming the URL. Every byte of a response is untrusted:
 * a body is received only into a buffer of a size fixed in advance, and anything larger fails.
 * s3_perform runs one request on the calling thread; s3_perform_many runs several at once on
 * one thread (libcurl's multi interface), with the same retries. The XML documents of the
 * protocol (listings, multipart uploads) are read and written here too, with libxml2.
 */
#ifndef STRATA_CATALOG_S3_HTTP_H
#define STRATA_CATALOG_S3_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct s3_client s3_client;

/* One request. key is the object key in the bucket (NULL: the bucket itself); query is
 * already sorted and percent-encoded (SigV4 needs it so), or NULL. */
typedef struct s3_request {
	const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE" */
	const char *key;
	const char *query;
	const char *if_match;      /* an ETag without its quotes, or NULL */
	bool if_none_match;        /* If-None-Match: * */
	const char *copy_source;   /* x-amz-copy-source: the key of the object to copy */
	uint64_t range_offset;     /* with range_len > 0: Range: bytes=offset-(offset+len-1) */
	uint64_t range_len;
	const void *body;          /* PUT or POST of body_len bytes from memory ... */
	size_t body_len;
	int body_fd;               /* ... or, when >= 0, of body_len bytes of this file from */
	uint64_t body_offset;      /* this offset (read with pread: one fd serves many requests) */
	void *recv;                /* the response body goes here, at most recv_cap bytes ... */
	size_t recv_cap;
	int recv_fd;               /* ... or, when >= 0, into this file (truncated first) */
} s3_request;

#define S3_REQUEST_INIT {.body_fd = -1, .recv_fd = -1}

typedef struct s3_response {
	long status;
	char etag[130];          /* without its quotes; "" when none */
	uint64_t content_length; /* of a HEAD, or of the body received */
	size_t received;         /* bytes written to recv / recv_fd */
	char code[64];           /* an error's <Code> (S3 error document), "" when none */
} s3_response;

/* A client for endpoint (scheme://host[:port]) and bucket, with the credentials of the
 * environment; ST_ERR_REMOTE when they are missing. */
int s3_client_new(s3_client **out, const char *endpoint, const char *bucket);
void s3_client_free(s3_client *c);

/* Runs req (with retries); 0 with out->status set for any HTTP answer that is not a transient
 * error, ST_ERR_REMOTE when the endpoint cannot be reached, ST_ERR_CORRUPT when a body is larger
 * than its buffer. */
int s3_perform(s3_client *c, const s3_request *req, s3_response *out);

/* s3_perform, then an answer other than HTTP expect is an error: s3_error(c, out, ST_ERR_DEST,
 * what). */
int s3_perform_expect(s3_client *c, const s3_request *req, long expect, const char *what, s3_response *out);

/* A GET of the bucket itself with query (a listing), its answer into body (at most cap bytes),
 * as s3_perform_expect with 200. */
int s3_list_page(s3_client *c, const char *query, char *body, size_t cap, const char *what, s3_response *out);

/* Runs the count requests of reqs (answers in out[i]), with up to in_flight of them in flight at
 * once on one thread (libcurl's multi interface), each retried as s3_perform retries. Returns 0
 * when every request got an answer (each status to be judged by the caller); at the first
 * request that fails as s3_perform would fail, the others are dropped, unfinished, and its
 * error is returned. */
int s3_perform_many(s3_client *c, const s3_request *reqs, size_t count, s3_response *out, size_t in_flight);

/* The URL of key (NULL: of the bucket), for messages (caller frees). */
char *s3_url(const s3_client *c, const char *key);

/* Percent-encodes s as SigV4 wants a query value or a key (slashes kept when keep_slash);
 * caller frees. */
char *s3_encode(const char *s, bool keep_slash);

/* The error of an answer that is not what was expected: a missing bucket or refused
 * credentials as ST_ERR_REMOTE, anything else as fallback; the message names what and the
 * answer. Returns the code recorded. */
int s3_error(const s3_client *c, const s3_response *r, int fallback, const char *what);

/* The keys of a ListObjectsV2 answer (body of len bytes) and its continuation token (NULL when
 * the listing is complete); ST_ERR_REMOTE for a body that is not such an answer. Keys are
 * appended to *keys (grown as needed; *count updated). */
int s3_parse_list(const char *body, size_t len, char ***keys, size_t *count, char **out_token);

/* The documents of multipart uploads (s3_multipart.c). */

/* The UploadId of an InitiateMultipartUploadResult (caller frees); ST_ERR_REMOTE otherwise. */
int s3_parse_upload_id(const char *body, size_t len, char **out);

/* The CompleteMultipartUpload document naming parts 1..count by their ETags (without
 * quotes); caller frees. */
char *s3_complete_body(char *const *etags, size_t count, size_t *out_len);

/* 0 when body is a CompleteMultipartUploadResult; ST_ERR_REMOTE (an <Error> document, which
 * S3 may send with status 200, or anything else) otherwise. */
int s3_parse_complete(const char *body, size_t len);

typedef struct s3_upload {
	char *key;
	char *upload_id;
} s3_upload;

/* The uploads of a ListMultipartUploadsResult, appended to *uploads (*count updated), and the
 * markers of the next page (both NULL when the listing is complete; caller frees). */
int s3_parse_uploads(const char *body, size_t len, s3_upload **uploads, size_t *count, char **out_key_marker,
		     char **out_id_marker);
void s3_uploads_free(s3_upload *uploads, size_t count);

#endif
