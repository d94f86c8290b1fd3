/*
 * s3_http.c - S3 requests through libcurl (see s3_http.h).
 *
 * Handles are pooled: a request takes one (or makes one), resets it, and gives it back, so
 * every thread runs its own request and connections are reused. The ListObjectsV2 answer is
 * read with libxml2 (no network, no entity substitution, no DTD).
 */
#include "catalog/s3_http.h"

#include "common/error.h"
#include "common/mem.h"

#include <curl/curl.h>
#include <stddef.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Attempts of a request whose failure is transient, and the first pause (doubled each time). */
#define S3_ATTEMPTS 5
#define S3_BACKOFF_MS 200
#define S3_CONNECT_TIMEOUT_S 10L
/* A transfer slower than 1 byte/s for this long is a timeout. */
#define S3_STALL_S 60L
#define S3_ERROR_BODY_MAX 4096
#define S3_POOL_MAX 64
/* The longest a multi-handle loop sleeps between looks at its transfers. */
#define S3_MULTI_POLL_MS 100

struct s3_client {
	char *endpoint;
	char *bucket;
	char *access_key;
	char *secret_key;
	char *token_header;
	char *sigv4;
	long send_limit; /* bytes/s of each upload (STRATA_FAULT_S3_SEND_LIMIT, for tests); 0: none */
	pthread_mutex_t lock;
	CURL *pool[S3_POOL_MAX];
	size_t pooled;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

static char *env_value(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? st_strdup(v) : NULL;
}

int s3_client_new(s3_client **out, const char *endpoint, const char *bucket)
{
	pthread_once(&global_once, global_init);
	char *access = env_value("AWS_ACCESS_KEY_ID");
	char *secret = env_value("AWS_SECRET_ACCESS_KEY");
	if (access == NULL || secret == NULL) {
		free(access);
		free(secret);
		return st_error_set(ST_ERR_REMOTE, "no credentials for '%s/%s': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
				    endpoint, bucket);
	}
	s3_client *c = st_calloc(1, sizeof *c);
	c->endpoint = st_strdup(endpoint);
	c->bucket = st_strdup(bucket);
	c->access_key = access;
	c->secret_key = secret;
	char *token = env_value("AWS_SESSION_TOKEN");
	if (token != NULL)
		c->token_header = st_sprintf("x-amz-security-token: %s", token);
	free(token);
	char *region = env_value("AWS_DEFAULT_REGION");
	c->sigv4 = st_sprintf("aws:amz:%s:s3", region ? region : "us-east-1");
	free(region);
	/* A test's hook: slow uploads, so that a test can act while one is in flight. */
	const char *limit = getenv("STRATA_FAULT_S3_SEND_LIMIT");
	if (limit != NULL && limit[0] != '\0')
		c->send_limit = strtol(limit, NULL, 10);
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void wipe(char *s)
{
	if (s != NULL) {
		volatile char *p = s;
		while (*p)
			*p++ = '\0';
	}
	free(s);
}

void s3_client_free(s3_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->pooled; i++)
		curl_easy_cleanup(c->pool[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->endpoint);
	free(c->bucket);
	wipe(c->access_key);
	wipe(c->secret_key);
	wipe(c->token_header);
	free(c->sigv4);
	free(c);
}

char *s3_encode(const char *s, bool keep_slash)
{
	size_t n = strlen(s);
	char *out = st_malloc(n * 3 + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			out[j++] = (char)ch;
		} else {
			out[j++] = '%';
			out[j++] = "0123456789ABCDEF"[ch >> 4];
			out[j++] = "0123456789ABCDEF"[ch & 15];
		}
	}
	out[j] = '\0';
	return out;
}

char *s3_url(const s3_client *c, const char *key)
{
	if (key == NULL)
		return st_sprintf("%s/%s", c->endpoint, c->bucket);
	char *enc = s3_encode(key, true);
	char *url = st_sprintf("%s/%s/%s", c->endpoint, c->bucket, enc);
	free(enc);
	return url;
}

static CURL *take_handle(s3_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->pooled > 0)
		h = c->pool[--c->pooled];
	pthread_mutex_unlock(&c->lock);
	if (h == NULL)
		h = curl_easy_init();
	else
		curl_easy_reset(h);
	return h;
}

static void give_handle(s3_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->pooled < S3_POOL_MAX) {
		c->pool[c->pooled++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* The state of one attempt, shared with the callbacks. */
typedef struct transfer {
	const s3_request *req;
	s3_response *resp;
	CURL *h;
	uint64_t sent;
	char error_body[S3_ERROR_BODY_MAX + 1];
	size_t error_len;
	bool overflow;
	int write_errno;
} transfer;

static size_t on_read(char *buf, size_t size, size_t nitems, void *ctx)
{
	transfer *t = ctx;
	const s3_request *req = t->req;
	size_t want = size * nitems;
	uint64_t left = req->body_len - t->sent;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (req->body_fd >= 0) {
		ssize_t n = pread(req->body_fd, buf, want, (off_t)(req->body_offset + t->sent));
		if (n <= 0) {
			t->write_errno = n < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)n;
	} else {
		memcpy(buf, (const char *)req->body + t->sent, want);
	}
	t->sent += want;
	return want;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	transfer *t = ctx;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		/* An error document: the first few KiB are enough for its <Code>. */
		size_t room = S3_ERROR_BODY_MAX - t->error_len;
		size_t k = n < room ? n : room;
		memcpy(t->error_body + t->error_len, data, k);
		t->error_len += k;
		return n;
	}
	const s3_request *req = t->req;
	if (req->recv_fd >= 0) {
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(req->recv_fd, data + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				t->write_errno = w < 0 ? errno : EIO;
				return 0;
			}
			done += (size_t)w;
		}
		t->resp->received += n;
		return n;
	}
	if (req->recv == NULL || n > req->recv_cap - t->resp->received) {
		t->overflow = true;
		return 0;
	}
	memcpy((char *)req->recv + t->resp->received, data, n);
	t->resp->received += n;
	return n;
}

/* Keeps the ETag of the answer (quotes dropped: RGW's If-Match wants it bare). */
static size_t on_header(char *data, size_t size, size_t nitems, void *ctx)
{
	transfer *t = ctx;
	size_t n = size * nitems;
	if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
		size_t i = 5, end = n;
		while (i < end && (data[i] == ' ' || data[i] == '\t' || data[i] == '"'))
			i++;
		while (end > i && (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' ' ||
				   data[end - 1] == '"'))
			end--;
		size_t len = end - i;
		if (len >= sizeof t->resp->etag)
			len = 0;
		memcpy(t->resp->etag, data + i, len);
		t->resp->etag[len] = '\0';
	}
	return n;
}

/* The <Code> of an S3 error document: letters and digits only, or "". */
static void error_code(const char *body, size_t len, char *out, size_t cap)
{
	out[0] = '\0';
	const char *start = memmem(body, len, "<Code>", 6);
	if (start == NULL)
		return;
	start += 6;
	size_t i = 0;
	while (start + i < body + len && i + 1 < cap &&
	       ((start[i] >= 'A' && start[i] <= 'Z') || (start[i] >= 'a' && start[i] <= 'z') ||
		(start[i] >= '0' && start[i] <= '9')))
		i++;
	if (start + i < body + len && start[i] == '<') {
		memcpy(out, start, i);
		out[i] = '\0';
	}
}

static bool transient_curl(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR ||
	       cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
	       cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static bool transient_status(long status)
{
	return status == 500 || status == 502 || status == 503 || status == 504;
}

static struct curl_slist *request_headers(const s3_client *c, const s3_request *req)
{
	struct curl_slist *list = NULL;
	list = curl_slist_append(list, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	/* No "Expect:" here to suppress 100-continue: curl would sign the empty header and the
	 * gateway refuses the signature. */
	if (c->token_header != NULL)
		list = curl_slist_append(list, c->token_header);
	if (req->if_none_match)
		list = curl_slist_append(list, "If-None-Match: *");
	if (req->if_match != NULL) {
		char *h = st_sprintf("If-Match: %s", req->if_match);
		list = curl_slist_append(list, h);
		free(h);
	}
	if (req->copy_source != NULL) {
		char *enc = s3_encode(req->copy_source, true);
		char *h = st_sprintf("x-amz-copy-source: /%s/%s", c->bucket, enc);
		list = curl_slist_append(list, h);
		free(h);
		free(enc);
	}
	if (req->range_len > 0) {
		char *h = st_sprintf("Range: bytes=%llu-%llu", (unsigned long long)req->range_offset,
				     (unsigned long long)(req->range_offset + req->range_len - 1));
		list = curl_slist_append(list, h);
		free(h);
	}
	return list;
}

/* Sets h up for one attempt of t's request. */
static void attempt_setup(s3_client *c, transfer *t, const char *url, struct curl_slist *headers)
{
	const s3_request *req = t->req;
	CURL *h = t->h;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, S3_STALL_S);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(h, CURLOPT_PRIVATE, t);
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, t);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		if (c->send_limit > 0)
			curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)c->send_limit);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, t);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

/* The answer's status and length, after a transfer. */
static void attempt_result(transfer *t)
{
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &t->resp->status);
	curl_off_t length = -1;
	curl_easy_getinfo(t->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	t->resp->content_length = length > 0 ? (uint64_t)length : 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One request across its attempts: what s3_perform runs with curl_easy_perform and
 * s3_perform_many with a multi handle, with the same retry policy. */
typedef struct call {
	char *url;
	struct curl_slist *headers;
	transfer t;
	int attempts;  /* made so far */
	long backoff;  /* the pause before the attempt after the next one */
	long pause;    /* the pause before the next attempt */
	double due_ms; /* when the next attempt may start (now_ms) */
	bool started, running, done;
	int rc;
} call;

static void call_begin(call *k, s3_client *c, const s3_request *req, s3_response *out)
{
	memset(k, 0, sizeof *k);
	k->url = s3_url(c, req->key);
	if (req->query != NULL) {
		char *full = st_sprintf("%s?%s", k->url, req->query);
		free(k->url);
		k->url = full;
	}
	k->headers = request_headers(c, req);
	k->t.req = req;
	k->t.resp = out;
	k->t.h = take_handle(c);
	k->backoff = S3_BACKOFF_MS;
	k->started = true;
}

/* Readies the next attempt; an error (k->rc, k->done) when the receiving file cannot be reset. */
static bool call_attempt(call *k, s3_client *c)
{
	transfer *t = &k->t;
	memset(t->resp, 0, sizeof *t->resp);
	t->sent = 0;
	t->error_len = 0;
	t->overflow = false;
	t->write_errno = 0;
	k->attempts++;
	const s3_request *req = t->req;
	if (req->recv_fd >= 0 && (ftruncate(req->recv_fd, 0) != 0 || lseek(req->recv_fd, 0, SEEK_SET) != 0)) {
		k->rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to receive '%s'", k->url);
		k->done = true;
		return false;
	}
	attempt_setup(c, t, k->url, k->headers);
	return true;
}

/* Judges an attempt that ended with cc: done (k->done, k->rc) or to be retried after
 * k->backoff ms (then doubled into the next one; k->due_ms set). */
static void call_judge(call *k, CURLcode cc)
{
	transfer *t = &k->t;
	s3_response *out = t->resp;
	attempt_result(t);
	k->done = true;
	if (t->overflow) {
		k->rc = st_error_set(ST_ERR_CORRUPT, "'%s' answered with more bytes than asked for", k->url);
		return;
	}
	if (t->write_errno != 0) {
		k->rc = st_error_set_errno(ST_ERR_DEST, t->write_errno, "unable to transfer '%s'", k->url);
		return;
	}
	bool again = cc != CURLE_OK ? transient_curl(cc) : transient_status(out->status);
	if (cc == CURLE_OK && !again) {
		error_code(t->error_body, t->error_len, out->code, sizeof out->code);
		return;
	}
	if (!again || k->attempts == S3_ATTEMPTS) {
		if (cc != CURLE_OK)
			k->rc = st_error_set(ST_ERR_REMOTE, "unable to reach '%s': %s%s", k->url, curl_easy_strerror(cc),
					     again ? " (gave up after retries)" : "");
		else
			k->rc = st_error_set(ST_ERR_REMOTE, "'%s' answered HTTP %ld after %d attempts", k->url,
					     out->status, k->attempts);
		return;
	}
	k->done = false;
	k->pause = k->backoff;
	k->due_ms = now_ms() + (double)k->pause;
	k->backoff *= 2;
}

static void call_end(call *k, s3_client *c)
{
	if (!k->started)
		return;
	give_handle(c, k->t.h);
	curl_slist_free_all(k->headers);
	free(k->url);
	k->started = false;
}

int s3_perform(s3_client *c, const s3_request *req, s3_response *out)
{
	call k;
	call_begin(&k, c, req, out);
	while (call_attempt(&k, c)) {
		CURLcode cc = curl_easy_perform(k.t.h);
		call_judge(&k, cc);
		if (k.done)
			break;
		pause_ms(k.pause);
	}
	int rc = k.rc;
	call_end(&k, c);
	return rc;
}

int s3_perform_expect(s3_client *c, const s3_request *req, long expect, const char *what, s3_response *out)
{
	int rc = s3_perform(c, req, out);
	if (rc == 0 && out->status != expect)
		rc = s3_error(c, out, ST_ERR_DEST, what);
	return rc;
}

int s3_list_page(s3_client *c, const char *query, char *body, size_t cap, const char *what, s3_response *out)
{
	s3_request req = S3_REQUEST_INIT;
	req.method = "GET";
	req.query = query;
	req.recv = body;
	req.recv_cap = cap;
	return s3_perform_expect(c, &req, 200, what, out);
}

/* Starts the calls whose turn it is, up to in_flight running; the ms to wait for the next due
 * retry (or S3_MULTI_POLL_MS). */
static long start_due(s3_client *c, CURLM *m, call *calls, const s3_request *reqs, s3_response *out, size_t count,
		      size_t in_flight, size_t *running)
{
	double now = now_ms();
	double wait = S3_MULTI_POLL_MS;
	for (size_t i = 0; i < count && *running < in_flight; i++) {
		call *k = &calls[i];
		if (k->done || k->running)
			continue;
		if (k->started && k->due_ms > now) {
			if (k->due_ms - now < wait)
				wait = k->due_ms - now;
			continue;
		}
		if (!k->started)
			call_begin(k, c, &reqs[i], &out[i]);
		if (!call_attempt(k, c))
			break; /* its error ends the whole run */
		curl_multi_add_handle(m, k->t.h);
		k->running = true;
		(*running)++;
	}
	return (long)wait + 1;
}

int s3_perform_many(s3_client *c, const s3_request *reqs, size_t count, s3_response *out, size_t in_flight)
{
	if (in_flight == 0)
		in_flight = 1;
	CURLM *m = curl_multi_init();
	call *calls = st_calloc(count ? count : 1, sizeof *calls);
	size_t running = 0;
	int rc = 0;
	for (;;) {
		/* At most one call has failed: the loop ends at the first failure. */
		size_t finished = 0;
		for (size_t i = 0; i < count; i++) {
			if (calls[i].done && calls[i].rc != 0)
				rc = calls[i].rc;
			finished += calls[i].done;
		}
		if (rc != 0 || finished == count)
			break;
		long wait = start_due(c, m, calls, reqs, out, count, in_flight, &running);
		int active = 0;
		curl_multi_perform(m, &active);
		CURLMsg *msg;
		int queued = 0;
		bool failed = false, ended = false;
		while (!failed && (msg = curl_multi_info_read(m, &queued)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			transfer *t = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			call *k = (call *)((char *)t - offsetof(call, t));
			CURLcode cc = msg->data.result;
			curl_multi_remove_handle(m, k->t.h);
			k->running = false;
			running--;
			call_judge(k, cc);
			failed = k->done && k->rc != 0;
			ended = true;
		}
		/* A transfer that ended frees a place: start the next one before waiting. */
		if (!ended)
			curl_multi_poll(m, NULL, 0, (int)wait, NULL);
	}
	/* On a failure, what still runs is dropped: the caller aborts what it was part of. */
	for (size_t i = 0; i < count; i++) {
		if (calls[i].running)
			curl_multi_remove_handle(m, calls[i].t.h);
		call_end(&calls[i], c);
	}
	free(calls);
	curl_multi_cleanup(m);
	return rc;
}

int s3_error(const s3_client *c, const s3_response *r, int fallback, const char *what)
{
	char *bucket = s3_url(c, NULL);
	int rc;
	if (strcmp(r->code, "NoSuchBucket") == 0)
		rc = st_error_set(ST_ERR_REMOTE, "bucket '%s' does not exist", bucket);
	else if (r->status == 403 || r->status == 401)
		rc = st_error_set(ST_ERR_REMOTE,
				  "access to '%s' refused (HTTP %ld%s%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
				  bucket, r->status, r->code[0] ? " " : "", r->code);
	else
		rc = st_error_set(fallback, "unable to %s: HTTP %ld%s%s", what, r->status, r->code[0] ? " " : "",
				  r->code);
	free(bucket);
	return rc;
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent ? parent->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* The text of element n, or NULL when n is missing or has none (caller frees). */
static char *text_of(const xmlNode *n)
{
	if (n == NULL)
		return NULL;
	xmlChar *s = xmlNodeGetContent(n);
	char *copy = s ? st_strdup((const char *)s) : NULL;
	xmlFree(s);
	return copy;
}

/* The document of an answer whose root element is root_name (NULL otherwise); *out_root is that
 * element. No network, no entities, no DTD. */
static xmlDoc *read_doc(const char *body, size_t len, const char *root_name, const xmlNode **out_root)
{
	*out_root = NULL;
	if (len > (size_t)INT32_MAX)
		return NULL;
	pthread_once(&global_once, global_init);
	xmlDoc *doc = xmlReadMemory(body, (int)len, "answer.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (root == NULL || strcmp((const char *)root->name, root_name) != 0) {
		xmlFreeDoc(doc);
		return NULL;
	}
	*out_root = root;
	return doc;
}

int s3_parse_list(const char *body, size_t len, char ***keys, size_t *count, char **out_token)
{
	*out_token = NULL;
	const xmlNode *root = NULL;
	xmlDoc *doc = read_doc(body, len, "ListBucketResult", &root);
	if (doc == NULL)
		return st_error_set(ST_ERR_REMOTE, "the bucket's listing is not a ListObjectsV2 answer");
	int rc = 0;
	for (const xmlNode *n = root->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Contents") != 0)
			continue;
		char *key = text_of(child(n, "Key"));
		if (key == NULL) {
			rc = st_error_set(ST_ERR_REMOTE, "the bucket's listing has an entry without a key");
			break;
		}
		*keys = st_realloc(*keys, (*count + 1) * sizeof **keys);
		(*keys)[(*count)++] = key;
	}
	char *truncated = text_of(child(root, "IsTruncated"));
	if (rc == 0 && truncated != NULL && strcmp(truncated, "true") == 0) {
		*out_token = text_of(child(root, "NextContinuationToken"));
		if (*out_token == NULL || (*out_token)[0] == '\0') {
			free(*out_token);
			*out_token = NULL;
			rc = st_error_set(ST_ERR_REMOTE, "the bucket's listing is truncated without a continuation token");
		}
	}
	free(truncated);
	xmlFreeDoc(doc);
	return rc;
}

int s3_parse_upload_id(const char *body, size_t len, char **out)
{
	const xmlNode *root = NULL;
	xmlDoc *doc = read_doc(body, len, "InitiateMultipartUploadResult", &root);
	char *id = text_of(child(root, "UploadId"));
	xmlFreeDoc(doc);
	if (id == NULL || id[0] == '\0') {
		free(id);
		return st_error_set(ST_ERR_REMOTE, "the answer to a multipart upload's creation names no upload");
	}
	*out = id;
	return 0;
}

char *s3_complete_body(char *const *etags, size_t count, size_t *out_len)
{
	pthread_once(&global_once, global_init);
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root = xmlNewNode(NULL, BAD_CAST "CompleteMultipartUpload");
	xmlNewNs(root, BAD_CAST "http://s3.amazonaws.com/doc/2006-03-01/", NULL);
	xmlDocSetRootElement(doc, root);
	for (size_t i = 0; i < count; i++) {
		xmlNode *part = xmlNewChild(root, NULL, BAD_CAST "Part", NULL);
		char number[24], *etag = st_sprintf("\"%s\"", etags[i]);
		snprintf(number, sizeof number, "%zu", i + 1);
		xmlNewTextChild(part, NULL, BAD_CAST "PartNumber", BAD_CAST number);
		xmlNewTextChild(part, NULL, BAD_CAST "ETag", BAD_CAST etag);
		free(etag);
	}
	xmlChar *text = NULL;
	int size = 0;
	xmlDocDumpMemory(doc, &text, &size);
	char *copy = st_malloc((size_t)size + 1);
	memcpy(copy, text, (size_t)size);
	copy[size] = '\0';
	xmlFree(text);
	xmlFreeDoc(doc);
	*out_len = (size_t)size;
	return copy;
}

int s3_parse_complete(const char *body, size_t len)
{
	const xmlNode *root = NULL;
	xmlDoc *doc = read_doc(body, len, "CompleteMultipartUploadResult", &root);
	xmlFreeDoc(doc);
	if (doc != NULL)
		return 0;
	char code[64];
	error_code(body, len, code, sizeof code);
	return st_error_set(ST_ERR_REMOTE, "the completion of a multipart upload failed%s%s", code[0] ? ": " : "", code);
}

void s3_uploads_free(s3_upload *uploads, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(uploads[i].key);
		free(uploads[i].upload_id);
	}
	free(uploads);
}

int s3_parse_uploads(const char *body, size_t len, s3_upload **uploads, size_t *count, char **out_key_marker,
		     char **out_id_marker)
{
	*out_key_marker = NULL;
	*out_id_marker = NULL;
	const xmlNode *root = NULL;
	xmlDoc *doc = read_doc(body, len, "ListMultipartUploadsResult", &root);
	if (doc == NULL)
		return st_error_set(ST_ERR_REMOTE, "the bucket's listing of uploads is not a ListMultipartUploads answer");
	int rc = 0;
	for (const xmlNode *n = root->children; n != NULL && rc == 0; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Upload") != 0)
			continue;
		char *key = text_of(child(n, "Key"));
		char *id = text_of(child(n, "UploadId"));
		if (key == NULL || id == NULL || id[0] == '\0') {
			free(key);
			free(id);
			rc = st_error_set(ST_ERR_REMOTE, "the bucket's listing of uploads has an entry without a key or id");
			break;
		}
		*uploads = st_realloc(*uploads, (*count + 1) * sizeof **uploads);
		(*uploads)[*count].key = key;
		(*uploads)[*count].upload_id = id;
		(*count)++;
	}
	char *truncated = text_of(child(root, "IsTruncated"));
	if (rc == 0 && truncated != NULL && strcmp(truncated, "true") == 0) {
		*out_key_marker = text_of(child(root, "NextKeyMarker"));
		*out_id_marker = text_of(child(root, "NextUploadIdMarker"));
		if (*out_key_marker == NULL || (*out_key_marker)[0] == '\0' || *out_id_marker == NULL) {
			free(*out_key_marker);
			free(*out_id_marker);
			*out_key_marker = *out_id_marker = NULL;
			rc = st_error_set(ST_ERR_REMOTE, "the bucket's listing of uploads is truncated without markers");
		}
	}
	free(truncated);
	xmlFreeDoc(doc);
	return rc;
}
