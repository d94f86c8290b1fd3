/*
 * backend_s3.c - the destination backend on an S3-API object store (mapping in backend.h).
 *
 * --dest s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] lays the destination out under PREFIX/:
 *   strata.dest     the marker
 *   catalog.db      the published catalog: one object, replaced by one conditional PUT
 *   packs/NAME      sealed packs, each uploaded whole once it is complete: one PUT, or above
 *                   S3_MULTIPART_THRESHOLD a multipart upload of parts in flight in parallel
 *                   (s3_multipart.h), aborted on failure; a killed run's unfinished uploads
 *                   are aborted by the next run that takes the lock
 *   lock            the write lock: created with If-None-Match: *, naming its holder
 * and keeps, on this machine, a cache folder (STRATA_CACHE_DIR, else $XDG_CACHE_HOME/strata,
 * else ~/.cache/strata, then one folder per destination URL) with the writer's working copy of
 * the catalog (catalog.db, and catalog.etag: the ETag of the published object it started
 * from), spool files of packs being written (unlinked at once: a killed run leaves none) and
 * the scratch folder. A reader downloads the published catalog into a private file, removed
 * when it is done: readers never see a writer's unpublished state. Reads of packs are ranged
 * GETs from any number of threads at once (s3_http.c pools one curl handle per request in
 * flight); small reads are served from windows of the packs shared by all threads
 * (READ_WINDOWS of READ_AHEAD bytes), each loaded once, several loading at the same time.
 *
 * A run that dies holding the lock leaves the object behind: a later run on the same host
 * replaces it when its holder's pid is gone (with If-Match on the stale object's ETag, so that
 * of two runs breaking it one wins); a lock of another host is reported with its holder.
 */
#include "catalog/backend_internal.h"
#include "catalog/s3_http.h"
#include "catalog/s3_multipart.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/json.h"
#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CATALOG_NAME "catalog.db"
#define PACKS_DIR "packs"
#define LOCK_NAME "lock"
#define LOCK_MAX 4096
/* A read of fewer bytes is served from a window of this many bytes (aligned on its size) of
 * the object, fetched once for the reads that follow it in the same pack. */
#define READ_AHEAD (1024 * 1024)
/* Windows kept per destination, shared by every reader and thread: memory stays bounded by
 * READ_WINDOWS * READ_AHEAD however many packs are open, and up to READ_WINDOWS of them load at
 * once. */
#define READ_WINDOWS 16
#define LIST_MAX_BODY (8 * 1024 * 1024)

/* READ_AHEAD bytes of a reader's object from index * READ_AHEAD. While it loads, only its
 * loader touches data; otherwise everything is under the driver's read_lock. */
typedef struct read_window {
	uint64_t reader; /* 0: empty */
	uint64_t index;
	size_t len;
	unsigned char *data;
	bool loading;
	uint64_t used; /* read_clock at its last use, for eviction */
} read_window;

typedef struct s3_driver {
	char *url;      /* what the user wrote, after "s3:" */
	char *prefix;   /* "" or "a/b/" */
	char *cache;    /* this destination's cache folder */
	s3_client *client;
	char *catalog;  /* the local catalog file, once catalog_path has run */
	bool catalog_private; /* a reader's download, removed at free */
	char etag[130]; /* of the published catalog the local one started from; "" when none */
	bool locked;
	char lock_record[512];
	/* the read windows */
	pthread_mutex_t read_lock;
	pthread_cond_t read_loaded; /* a window finished loading */
	read_window windows[READ_WINDOWS];
	uint64_t read_clock;
	uint64_t next_reader; /* under read_lock */
} s3_driver;

typedef struct s3_read {
	char *key;
	uint64_t size;
	uint64_t id; /* of this reader in the windows; never reused */
} s3_read;

typedef struct s3_write {
	char *key;
	int fd;
	uint64_t size;
} s3_write;

static bool valid_name(const char *name)
{
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) > 200)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			return false;
	return true;
}

static char *key_of(const s3_driver *s, backend_space space, const char *name)
{
	return space == BACKEND_SPACE_PACKS ? st_sprintf("%s" PACKS_DIR "/%s", s->prefix, name)
					    : st_sprintf("%s%s", s->prefix, name);
}

static int checked_key(const s3_driver *s, backend_space space, const char *name, char **out)
{
	if (!valid_name(name))
		return st_error_set(ST_ERR_DEST, "object name '%s' is not valid on 's3:%s'", name, s->url);
	*out = key_of(s, space, name);
	return 0;
}

static char *s3_describe(void *driver, backend_space space, const char *name)
{
	s3_driver *s = driver;
	char *key = key_of(s, space, name);
	char *url = s3_url(s->client, key);
	char *text = st_sprintf("s3:%s", url);
	free(url);
	free(key);
	return text;
}

/* A HEAD or DELETE of name; *out_key is its key (caller frees, also on failure). */
static int bodiless_request(s3_driver *s, const char *method, backend_space space, const char *name, char **out_key,
			    s3_response *out)
{
	*out_key = NULL;
	int rc = checked_key(s, space, name, out_key);
	if (rc != 0)
		return rc;
	s3_request req = S3_REQUEST_INIT;
	req.method = method;
	req.key = *out_key;
	return s3_perform(s->client, &req, out);
}

static int s3_open_read(void *driver, backend_space space, const char *name, void **out, uint64_t *out_size)
{
	s3_driver *s = driver;
	char *key = NULL;
	s3_response resp;
	int rc = bodiless_request(s, "HEAD", space, name, &key, &resp);
	if (rc == 0 && resp.status == 404) {
		char *what = s3_describe(s, space, name);
		rc = st_error_set(ST_ERR_NOTFOUND, "'%s' does not exist", what);
		free(what);
	} else if (rc == 0 && resp.status != 200) {
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "read an object");
	}
	if (rc != 0) {
		free(key);
		return rc;
	}
	s3_read *r = st_calloc(1, sizeof *r);
	r->key = key;
	r->size = resp.content_length;
	pthread_mutex_lock(&s->read_lock);
	r->id = ++s->next_reader;
	pthread_mutex_unlock(&s->read_lock);
	*out = r;
	*out_size = r->size;
	return 0;
}

/* GETs len bytes at offset of r into buf. */
static int get_range(s3_driver *s, s3_read *r, void *buf, size_t len, uint64_t offset)
{
	s3_request req = S3_REQUEST_INIT;
	req.method = "GET";
	req.key = r->key;
	req.range_offset = offset;
	req.range_len = len;
	req.recv = buf;
	req.recv_cap = len;
	s3_response resp;
	int rc = s3_perform(s->client, &req, &resp);
	char *url = NULL;
	if (rc == 0 && resp.status != 206 && !(resp.status == 200 && offset == 0 && len == r->size))
		rc = s3_error(s->client, &resp, resp.status == 404 || resp.status == 416 ? ST_ERR_CORRUPT : ST_ERR_DEST,
			      "read a range of an object");
	else if (rc == 0 && resp.received != len)
		rc = st_error_set(ST_ERR_CORRUPT, "'%s' answered %zu bytes for a range of %zu",
				  (url = s3_url(s->client, r->key)), resp.received, len);
	free(url);
	return rc;
}

static read_window *find_window(s3_driver *s, uint64_t reader, uint64_t index)
{
	for (size_t i = 0; i < READ_WINDOWS; i++)
		if (s->windows[i].reader == reader && s->windows[i].index == index)
			return &s->windows[i];
	return NULL;
}

/* An empty window, else the least recently used one that is not loading; NULL when all load. */
static read_window *victim_window(s3_driver *s)
{
	read_window *best = NULL;
	for (size_t i = 0; i < READ_WINDOWS; i++) {
		read_window *w = &s->windows[i];
		if (w->loading)
			continue;
		if (w->reader == 0)
			return w;
		if (best == NULL || w->used < best->used)
			best = w;
	}
	return best;
}

/* Copies len bytes at offset within window index of r (they lie in it) into buf, loading the
 * window first when no one has it: threads that need other windows fetch theirs meanwhile,
 * threads that need this one wait for it. */
static int read_window_copy(s3_driver *s, s3_read *r, uint64_t index, void *buf, size_t len, size_t offset)
{
	pthread_mutex_lock(&s->read_lock);
	for (;;) {
		read_window *w = find_window(s, r->id, index);
		if (w != NULL && w->loading) {
			pthread_cond_wait(&s->read_loaded, &s->read_lock);
			continue;
		}
		if (w != NULL) {
			memcpy(buf, w->data + offset, len);
			w->used = ++s->read_clock;
			pthread_mutex_unlock(&s->read_lock);
			return 0;
		}
		if ((w = victim_window(s)) == NULL) {
			/* Every window is loading: read this one range alone. */
			pthread_mutex_unlock(&s->read_lock);
			return get_range(s, r, buf, len, index * READ_AHEAD + offset);
		}
		w->reader = r->id;
		w->index = index;
		w->loading = true;
		if (w->data == NULL)
			w->data = st_malloc(READ_AHEAD);
		pthread_mutex_unlock(&s->read_lock);
		uint64_t start = index * READ_AHEAD;
		size_t want = r->size - start < READ_AHEAD ? (size_t)(r->size - start) : READ_AHEAD;
		int rc = get_range(s, r, w->data, want, start);
		pthread_mutex_lock(&s->read_lock);
		w->loading = false;
		w->len = want;
		if (rc != 0)
			w->reader = 0; /* a waiter tries again itself */
		else
			memcpy(buf, w->data + offset, len);
		w->used = ++s->read_clock;
		pthread_cond_broadcast(&s->read_loaded);
		pthread_mutex_unlock(&s->read_lock);
		return rc;
	}
}

static int s3_read_range(void *driver, void *handle, void *buf, size_t len, uint64_t offset)
{
	s3_driver *s = driver;
	s3_read *r = handle;
	if (len == 0)
		return 0;
	if (offset > r->size || len > r->size - offset) {
		char *url = s3_url(s->client, r->key);
		int rc = st_error_set(ST_ERR_CORRUPT, "'%s' is shorter than expected: %llu bytes, read of %zu at %llu",
				      url, (unsigned long long)r->size, len, (unsigned long long)offset);
		free(url);
		return rc;
	}
	if (len >= READ_AHEAD)
		return get_range(s, r, buf, len, offset);
	/* At most two windows: the read is shorter than one. */
	int rc = 0;
	size_t done = 0;
	while (rc == 0 && done < len) {
		uint64_t at = offset + done;
		size_t within = (size_t)(at % READ_AHEAD);
		size_t n = len - done < READ_AHEAD - within ? len - done : READ_AHEAD - within;
		rc = read_window_copy(s, r, at / READ_AHEAD, (char *)buf + done, n, within);
		done += n;
	}
	return rc;
}

static void s3_close_read(void *driver, void *handle)
{
	s3_driver *s = driver;
	s3_read *r = handle;
	pthread_mutex_lock(&s->read_lock);
	for (size_t i = 0; i < READ_WINDOWS; i++)
		if (s->windows[i].reader == r->id && !s->windows[i].loading)
			s->windows[i].reader = 0;
	pthread_mutex_unlock(&s->read_lock);
	free(r->key);
	free(r);
}

/* An unlinked spool file in the cache folder. */
static int spool_open(const s3_driver *s, int *out)
{
	char *dir = st_sprintf("%s/spool", s->cache);
	int rc = st_mkdir_p(dir, 0700);
	int fd = -1;
	if (rc == 0 && (fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		char *path = st_sprintf("%s/XXXXXX", dir);
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
		else
			rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to create a spool file in '%s'", dir);
		free(path);
	}
	free(dir);
	if (rc == 0)
		*out = fd;
	return rc;
}

static int s3_create(void *driver, backend_space space, const char *name, void **out)
{
	s3_driver *s = driver;
	char *key = NULL;
	int fd = -1;
	int rc = checked_key(s, space, name, &key);
	if (rc == 0)
		rc = spool_open(s, &fd);
	if (rc != 0) {
		free(key);
		return rc;
	}
	s3_write *w = st_calloc(1, sizeof *w);
	w->key = key;
	w->fd = fd;
	*out = w;
	return 0;
}

static int s3_append(void *driver, void *handle, const void *data, size_t len)
{
	(void)driver;
	s3_write *w = handle;
	int rc = st_write_all(w->fd, data, len, "a spool file");
	if (rc == 0)
		w->size += len;
	return rc == ST_ERR_GENERIC ? st_error_set(ST_ERR_DEST, "%s", st_error_message()) : rc;
}

static int put_fd(s3_driver *s, const char *key, int fd, uint64_t size, const char *if_match, bool if_none_match,
		  s3_response *out)
{
	s3_request req = S3_REQUEST_INIT;
	req.method = "PUT";
	req.key = key;
	req.body_fd = fd;
	req.body_len = (size_t)size;
	req.if_match = if_match;
	req.if_none_match = if_none_match;
	return s3_perform(s->client, &req, out);
}

static int s3_sync(void *driver, void *handle)
{
	s3_driver *s = driver;
	s3_write *w = handle;
	s3_response resp;
	int rc;
	if (w->size > S3_MULTIPART_THRESHOLD) {
		rc = s3_multipart_upload(s->client, w->key, w->fd, w->size);
	} else {
		rc = put_fd(s, w->key, w->fd, w->size, NULL, false, &resp);
		if (rc == 0 && resp.status != 200)
			rc = s3_error(s->client, &resp, ST_ERR_DEST, "upload an object");
	}
	if (rc != 0) {
		char *url = s3_url(s->client, w->key);
		st_error_prefix("unable to upload '%s'", url);
		free(url);
	}
	return rc;
}

static int s3_close_write(void *driver, void *handle)
{
	(void)driver;
	s3_write *w = handle;
	close(w->fd);
	free(w->key);
	free(w);
	return 0;
}

static int s3_remove(void *driver, backend_space space, const char *name)
{
	s3_driver *s = driver;
	char *key = NULL;
	s3_response resp;
	int rc = bodiless_request(s, "DELETE", space, name, &key, &resp);
	if (rc == 0 && resp.status != 204 && resp.status != 200 && resp.status != 404)
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "remove an object");
	free(key);
	return rc;
}

/* Objects appear whole: a rename is a server-side copy, then the removal of the source. */
static int s3_rename(void *driver, backend_space space, const char *from, const char *to)
{
	s3_driver *s = driver;
	char *from_key = NULL, *to_key = NULL;
	int rc = checked_key(s, space, from, &from_key);
	if (rc == 0)
		rc = checked_key(s, space, to, &to_key);
	s3_request req = S3_REQUEST_INIT;
	req.method = "PUT";
	req.key = to_key;
	req.copy_source = from_key;
	char answer[4096];
	req.recv = answer;
	req.recv_cap = sizeof answer;
	s3_response resp;
	if (rc == 0)
		rc = s3_perform(s->client, &req, &resp);
	if (rc == 0 && resp.status != 200)
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "copy an object");
	if (rc == 0)
		rc = s3_remove(s, space, from);
	free(from_key);
	free(to_key);
	return rc;
}

static int s3_list(void *driver, backend_space space, char ***out, size_t *out_count)
{
	s3_driver *s = driver;
	char *prefix = key_of(s, space, "");
	char *enc_prefix = s3_encode(prefix, false);
	char *body = st_malloc(LIST_MAX_BODY);
	char **keys = NULL;
	size_t count = 0;
	char *token = NULL;
	int rc = 0;
	do {
		/* Query parameters in sorted order, as SigV4 signs them. */
		char *enc_token = token ? s3_encode(token, false) : NULL;
		char *query = st_sprintf("%s%s%slist-type=2&prefix=%s", enc_token ? "continuation-token=" : "",
					 enc_token ? enc_token : "", enc_token ? "&" : "", enc_prefix);
		free(enc_token);
		free(token);
		token = NULL;
		s3_response resp;
		rc = s3_list_page(s->client, query, body, LIST_MAX_BODY, "list the bucket", &resp);
		if (rc == 0)
			rc = s3_parse_list(body, resp.received, &keys, &count, &token);
		free(query);
	} while (rc == 0 && token != NULL);
	free(token);
	size_t kept = 0;
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < count; i++) {
		/* Only direct children of the space whose names are valid; everything else (another
		 * prefix's objects, a sub-folder) is not ours to name. */
		const char *name = strncmp(keys[i], prefix, plen) == 0 ? keys[i] + plen : "";
		if (rc == 0 && valid_name(name)) {
			char *copy = st_strdup(name);
			free(keys[i]);
			keys[kept++] = copy;
		} else {
			free(keys[i]);
		}
	}
	free(body);
	free(enc_prefix);
	free(prefix);
	if (rc != 0) {
		backend_list_free(keys, kept);
		return rc;
	}
	*out = keys;
	*out_count = kept;
	return 0;
}

static void make_record(s3_driver *s)
{
	char host[256] = "";
	char when[32] = "";
	gethostname(host, sizeof host - 1);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	unsigned char id[8] = {0};
	if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
		id[0] = (unsigned char)getpid();
	char hex[17];
	for (size_t i = 0; i < sizeof id; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	st_json *doc = st_json_object();
	st_json_set_string(doc, "host", host);
	st_json_set_int(doc, "pid", (int64_t)getpid());
	st_json_set_string(doc, "started", when);
	st_json_set_int(doc, "time", (int64_t)now);
	st_json_set_string(doc, "id", hex);
	char *text = st_json_dump(doc);
	st_json_free(doc);
	snprintf(s->lock_record, sizeof s->lock_record, "%s\n", text);
	free(text);
}

typedef struct holder {
	char text[600]; /* " (pid P on host 'H', started T)" or "" */
	bool stale;     /* this host, and its pid is gone */
	bool ours;      /* our own record (a retried PUT that had succeeded) */
} holder;

static void read_holder(s3_driver *s, const char *key, holder *out, char *etag, size_t etag_cap)
{
	memset(out, 0, sizeof *out);
	char buf[LOCK_MAX + 1];
	s3_request req = S3_REQUEST_INIT;
	req.method = "GET";
	req.key = key;
	req.recv = buf;
	req.recv_cap = LOCK_MAX;
	s3_response resp;
	etag[0] = '\0';
	if (s3_perform(s->client, &req, &resp) != 0 || resp.status != 200) {
		st_error_clear();
		return;
	}
	snprintf(etag, etag_cap, "%s", resp.etag);
	buf[resp.received] = '\0';
	if (strcmp(buf, s->lock_record) == 0) {
		out->ours = true;
		return;
	}
	st_json *doc = NULL;
	if (st_json_parse(&doc, buf, "lock record") != 0) {
		st_error_clear();
		return;
	}
	int64_t pid = 0;
	const char *host = st_json_string_value(st_json_get(doc, "host"));
	const char *started = st_json_string_value(st_json_get(doc, "started"));
	if (st_json_int_value(st_json_get(doc, "pid"), &pid) && pid > 0 && pid <= INT32_MAX) {
		snprintf(out->text, sizeof out->text, " (pid %lld on host '%.200s', started %.40s)", (long long)pid,
			 host ? host : "?", started ? started : "?");
		char me[256] = "";
		gethostname(me, sizeof me - 1);
		out->stale = host != NULL && strcmp(host, me) == 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	}
	st_json_free(doc);
}

static int s3_lock(void *driver)
{
	s3_driver *s = driver;
	char *key = key_of(s, BACKEND_SPACE_META, LOCK_NAME);
	make_record(s);
	s3_request req = S3_REQUEST_INIT;
	req.method = "PUT";
	req.key = key;
	req.body = s->lock_record;
	req.body_len = strlen(s->lock_record);
	req.if_none_match = true;
	s3_response resp;
	int rc = s3_perform(s->client, &req, &resp);
	if (rc == 0 && resp.status == 412) {
		holder h;
		char etag[130];
		read_holder(s, key, &h, etag, sizeof etag);
		if (h.ours) {
			resp.status = 200;
		} else if (h.stale && etag[0] != '\0') {
			/* The holder died with the lock: take it over, if no other run did first. */
			req.if_none_match = false;
			req.if_match = etag;
			rc = s3_perform(s->client, &req, &resp);
		}
		if (rc == 0 && resp.status == 412)
			rc = st_error_set(ST_ERR_LOCKED, "destination 's3:%s' is locked by another strata run%s", s->url,
					  h.text[0] ? h.text : " (no record of its holder)");
	}
	if (rc == 0 && resp.status != 200)
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "take the lock");
	if (rc == 0) {
		s->locked = true;
		/* Under the lock, no multipart upload of this destination is running: any is what a
		 * killed run left. Housekeeping: a failure here is left for the next run. */
		char *packs = key_of(s, BACKEND_SPACE_PACKS, "");
		size_t aborted = 0;
		if (s3_multipart_abort_stale(s->client, packs, &aborted) != 0)
			st_error_clear();
		free(packs);
	}
	free(key);
	return rc;
}

static void s3_unlock(void *driver)
{
	s3_driver *s = driver;
	if (!s->locked)
		return;
	s->locked = false;
	st_error saved;
	st_error_save(&saved);
	s3_remove(s, BACKEND_SPACE_META, LOCK_NAME);
	st_error_restore(&saved);
}

/* GETs key into the file path (written whole, then renamed into place); *out_etag is its ETag.
 * ST_ERR_NOTFOUND when there is no such object. */
static int download(s3_driver *s, const char *key, const char *path, char *out_etag, size_t cap)
{
	char *temp = st_sprintf("%s.download", path);
	int fd = open(temp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to create '%s'", temp);
		free(temp);
		return rc;
	}
	s3_request req = S3_REQUEST_INIT;
	req.method = "GET";
	req.key = key;
	req.recv_fd = fd;
	s3_response resp;
	int rc = s3_perform(s->client, &req, &resp);
	if (rc == 0 && resp.status == 404 && strcmp(resp.code, "NoSuchBucket") != 0)
		rc = ST_ERR_NOTFOUND;
	else if (rc == 0 && resp.status != 200)
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "download the catalog");
	if (rc == 0)
		rc = st_fsync_fd(fd, temp);
	close(fd);
	if (rc == 0 && rename(temp, path) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to rename '%s'", temp);
	if (rc == 0)
		snprintf(out_etag, cap, "%s", resp.etag);
	else
		unlink(temp);
	free(temp);
	return rc;
}

static void remove_catalog_files(const char *path)
{
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char *p = st_sprintf("%s%s", path, suffixes[i]);
		unlink(p);
		free(p);
	}
}

static char *etag_path(const s3_driver *s)
{
	return st_sprintf("%s/catalog.etag", s->cache);
}

static void forget_etag(s3_driver *s)
{
	char *p = etag_path(s);
	unlink(p);
	free(p);
}

/* The writer's working copy: kept when it started from the published catalog that is still
 * there (a killed run's staged state is then found by the next one), else downloaded again. */
static int writer_catalog(s3_driver *s, const char *key)
{
	char *path = st_sprintf("%s/" CATALOG_NAME, s->cache);
	char *etag_file = etag_path(s);
	char *kept = NULL;
	int rc = 0;
	s3_request req = S3_REQUEST_INIT;
	req.method = "HEAD";
	req.key = key;
	s3_response resp;
	if ((rc = s3_perform(s->client, &req, &resp)) != 0)
		goto cleanup;
	if (resp.status != 200 && resp.status != 404) {
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "read the catalog");
		goto cleanup;
	}
	struct stat st;
	if (resp.status == 200 && st_read_small_file(&kept, NULL, etag_file, 200) == 0 &&
	    strcmp(kept, resp.etag) == 0 && stat(path, &st) == 0) {
		snprintf(s->etag, sizeof s->etag, "%s", resp.etag);
		goto cleanup;
	}
	st_error_clear();
	forget_etag(s);
	remove_catalog_files(path);
	s->etag[0] = '\0';
	if (resp.status == 200) {
		rc = download(s, key, path, s->etag, sizeof s->etag);
		if (rc == ST_ERR_NOTFOUND)
			rc = st_error_set(ST_ERR_DEST, "the catalog of 's3:%s' vanished while it was read", s->url);
		if (rc == 0)
			rc = st_write_file_atomic(etag_file, s->etag, strlen(s->etag));
	}
cleanup:
	if (rc == 0) {
		s->catalog = path;
		path = NULL;
	}
	free(kept);
	free(path);
	free(etag_file);
	return rc;
}

static int reader_catalog(s3_driver *s, const char *key)
{
	unsigned char r[6] = {0};
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		r[0] = (unsigned char)time(NULL);
	char *path = st_sprintf("%s/read-%d-%02x%02x%02x%02x%02x%02x.db", s->cache, (int)getpid(), r[0], r[1], r[2], r[3],
				r[4], r[5]);
	char etag[130];
	int rc = download(s, key, path, etag, sizeof etag);
	if (rc == ST_ERR_NOTFOUND)
		rc = st_error_set(ST_ERR_CORRUPT, "destination 's3:%s' has a marker but no catalog object", s->url);
	if (rc != 0) {
		free(path);
		return rc;
	}
	s->catalog = path;
	s->catalog_private = true;
	return 0;
}

static int s3_catalog_path(void *driver, char **out)
{
	s3_driver *s = driver;
	int rc = 0;
	if (s->catalog == NULL) {
		char *key = key_of(s, BACKEND_SPACE_META, CATALOG_NAME);
		rc = st_mkdir_p(s->cache, 0700);
		if (rc == 0) {
			/* Without the lock, this is either a reader or 'init' (no marker yet): a reader
			 * never works on the writer's copy. */
			bool has_marker = false;
			if (!s->locked) {
				void *h = NULL;
				uint64_t size = 0;
				int m = s3_open_read(s, BACKEND_SPACE_META, BACKEND_MARKER_NAME, &h, &size);
				if (m == 0) {
					has_marker = true;
					s3_close_read(s, h);
				} else if (m != ST_ERR_NOTFOUND) {
					rc = m;
				}
				st_error_clear();
			}
			if (rc == 0)
				rc = s->locked || !has_marker ? writer_catalog(s, key) : reader_catalog(s, key);
		}
		free(key);
	}
	if (rc == 0)
		*out = st_strdup(s->catalog);
	return rc;
}

static int s3_publish(void *driver, const char *file)
{
	s3_driver *s = driver;
	char *key = key_of(s, BACKEND_SPACE_META, CATALOG_NAME);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = 0;
	if (fd < 0 || fstat(fd, &st) != 0)
		rc = st_error_set_errno(ST_ERR_DEST, errno, "unable to read '%s'", file);
	/* Forgotten first: if this PUT's outcome is unknown (a crash, an error), the next run
	 * downloads what is published instead of trusting the working copy. */
	forget_etag(s);
	s3_response resp;
	if (rc == 0)
		rc = put_fd(s, key, fd, (uint64_t)st.st_size, s->etag[0] ? s->etag : NULL, s->etag[0] == '\0', &resp);
	if (rc == 0 && resp.status == 412)
		rc = st_error_set(ST_ERR_LOCKED, "the catalog of 's3:%s' was replaced by another writer: nothing published",
				  s->url);
	else if (rc == 0 && resp.status != 200)
		rc = s3_error(s->client, &resp, ST_ERR_DEST, "publish the catalog");
	else if (rc == 0 && resp.etag[0] == '\0')
		rc = st_error_set(ST_ERR_REMOTE, "'s3:%s' answered the catalog's upload without an ETag", s->url);
	if (rc == 0) {
		snprintf(s->etag, sizeof s->etag, "%s", resp.etag);
		char *etag_file = etag_path(s);
		rc = st_write_file_atomic(etag_file, s->etag, strlen(s->etag));
		free(etag_file);
	}
	if (rc != 0)
		st_error_prefix("unable to publish the catalog");
	if (fd >= 0)
		close(fd);
	free(key);
	return rc;
}

static int s3_scratch_dir(void *driver, char **out)
{
	char *path = st_sprintf("%s/tmp", ((s3_driver *)driver)->cache);
	int rc = st_mkdir_p(path, 0700);
	if (rc != 0) {
		free(path);
		return rc;
	}
	*out = path;
	return 0;
}

static int s3_scratch_clean(void *driver)
{
	char *path = st_sprintf("%s/tmp", ((s3_driver *)driver)->cache);
	int rc = st_remove_tree(path);
	free(path);
	return rc;
}

/* The bucket must exist; the destination "exists" whenever it does, and is empty when no
 * object is under its prefix. */
static int s3_state(void *driver, bool *out_exists, bool *out_empty)
{
	s3_driver *s = driver;
	char *enc_prefix = s3_encode(s->prefix, false);
	char *query = st_sprintf("list-type=2&max-keys=1&prefix=%s", enc_prefix);
	char *body = st_malloc(LIST_MAX_BODY);
	char **keys = NULL;
	size_t count = 0;
	char *token = NULL;
	s3_request req = S3_REQUEST_INIT;
	req.method = "GET";
	req.query = query;
	req.recv = body;
	req.recv_cap = LIST_MAX_BODY;
	s3_response resp;
	int rc = s3_perform(s->client, &req, &resp);
	if (rc == 0 && resp.status != 200)
		rc = s3_error(s->client, &resp, ST_ERR_REMOTE, "list the bucket");
	if (rc == 0)
		rc = s3_parse_list(body, resp.received, &keys, &count, &token);
	if (rc == 0) {
		*out_exists = true;
		*out_empty = count == 0;
	}
	free(token);
	backend_list_free(keys, count);
	free(body);
	free(query);
	free(enc_prefix);
	return rc;
}

static int s3_init(void *driver)
{
	(void)driver;
	return 0;
}

static void s3_free(void *driver)
{
	s3_driver *s = driver;
	s3_unlock(s);
	if (s->catalog_private)
		remove_catalog_files(s->catalog);
	s3_client_free(s->client);
	for (size_t i = 0; i < READ_WINDOWS; i++)
		free(s->windows[i].data);
	pthread_mutex_destroy(&s->read_lock);
	pthread_cond_destroy(&s->read_loaded);
	free(s->catalog);
	free(s->cache);
	free(s->prefix);
	free(s->url);
	free(s);
}

static const backend_ops s3_ops = {
	.kind = "s3",
	.open_read = s3_open_read,
	.read_range = s3_read_range,
	.close_read = s3_close_read,
	.create = s3_create,
	.append = s3_append,
	.sync = s3_sync,
	.close_write = s3_close_write,
	.rename = s3_rename,
	.list = s3_list,
	.remove = s3_remove,
	.lock = s3_lock,
	.unlock = s3_unlock,
	.describe = s3_describe,
	.catalog_path = s3_catalog_path,
	.publish = s3_publish,
	.scratch_dir = s3_scratch_dir,
	.scratch_clean = s3_scratch_clean,
	.state = s3_state,
	.init = s3_init,
	.free = s3_free,
};

bool backend_is_s3_url(const char *dest)
{
	return dest != NULL && strncmp(dest, "s3:", 3) == 0;
}

static bool valid_bucket(const char *b, size_t len)
{
	if (len < 3 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' || b[i] == '.'))
			return false;
	return true;
}

/* "a/b" from "a/b/", each segment a valid name; "" for none. */
static int parse_prefix(const char *url, const char *p, char **out)
{
	char *copy = st_strdup(p);
	size_t n = strlen(copy);
	while (n > 0 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *result = st_strdup("");
	int rc = 0;
	char *save = NULL;
	for (char *seg = n ? strtok_r(copy, "/", &save) : NULL; seg != NULL; seg = strtok_r(NULL, "/", &save)) {
		if (!valid_name(seg)) {
			rc = st_error_set(ST_ERR_USAGE, "destination 's3:%s': prefix segment '%s' is not valid (letters, digits, '.', '_', '-')",
					  url, seg);
			break;
		}
		char *next = st_sprintf("%s%s/", result, seg);
		free(result);
		result = next;
	}
	if (rc == 0 && strstr(p, "//") != NULL)
		rc = st_error_set(ST_ERR_USAGE, "destination 's3:%s': prefix has an empty segment", url);
	free(copy);
	if (rc != 0) {
		free(result);
		return rc;
	}
	*out = result;
	return 0;
}

static char *cache_root(void)
{
	const char *v = getenv("STRATA_CACHE_DIR");
	if (v != NULL && v[0] != '\0')
		return st_strdup(v);
	v = getenv("XDG_CACHE_HOME");
	if (v != NULL && v[0] == '/')
		return st_sprintf("%s/strata", v);
	v = getenv("HOME");
	return st_sprintf("%s/.cache/strata", v != NULL && v[0] == '/' ? v : "/tmp");
}

int backend_s3_new(backend **out, const char *dest)
{
	const char *url = dest + 3;
	/* The URL is not repeated here: what precedes an '@' may be a secret. */
	if (strchr(url, '@') != NULL)
		return st_error_set(ST_ERR_USAGE, "an s3: destination may not hold credentials (an '@'):"
						  " they come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
	const char *scheme_end = strstr(url, "://");
	if (!backend_is_s3_url(dest) || scheme_end == NULL ||
	    !((scheme_end - url == 4 && strncmp(url, "http", 4) == 0) ||
	      (scheme_end - url == 5 && strncmp(url, "https", 5) == 0)))
		return st_error_set(ST_ERR_USAGE, "destination '%s' is not of the form s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]",
				    dest);
	const char *host = scheme_end + 3;
	const char *slash = strchr(host, '/');
	if (slash == NULL || slash == host)
		return st_error_set(ST_ERR_USAGE, "destination '%s' names no bucket (s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX])",
				    dest);
	for (const char *p = host; p < slash; p++)
		if (*p == '?' || *p == '#' || *p == ' ' || *p == '\\')
			return st_error_set(ST_ERR_USAGE, "destination '%s': the host may not hold '%c'", dest, *p);
	const char *bucket = slash + 1;
	const char *bucket_end = strchr(bucket, '/');
	size_t bucket_len = bucket_end ? (size_t)(bucket_end - bucket) : strlen(bucket);
	if (!valid_bucket(bucket, bucket_len))
		return st_error_set(ST_ERR_USAGE, "destination '%s': '%.*s' is not a valid bucket name", dest,
				    (int)bucket_len, bucket);
	char *prefix = NULL;
	int rc = parse_prefix(url, bucket_end ? bucket_end + 1 : "", &prefix);
	if (rc != 0)
		return rc;
	char *endpoint = st_sprintf("%.*s", (int)(slash - url), url);
	char *bucket_name = st_sprintf("%.*s", (int)bucket_len, bucket);
	s3_client *client = NULL;
	rc = s3_client_new(&client, endpoint, bucket_name);
	if (rc != 0) {
		free(endpoint);
		free(bucket_name);
		free(prefix);
		return rc;
	}
	s3_driver *s = st_calloc(1, sizeof *s);
	s->url = st_sprintf("%s/%s%s%.*s", endpoint, bucket_name, prefix[0] ? "/" : "",
			    prefix[0] ? (int)strlen(prefix) - 1 : 0, prefix);
	s->prefix = prefix;
	s->client = client;
	pthread_mutex_init(&s->read_lock, NULL);
	pthread_cond_init(&s->read_loaded, NULL);
	/* One cache folder per destination: its URL, with everything but letters and digits as '_'. */
	char *name = st_strdup(s->url);
	for (char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			*p = '_';
	char *root = cache_root();
	s->cache = st_sprintf("%s/s3-%s", root, name);
	free(root);
	free(name);
	free(endpoint);
	free(bucket_name);
	*out = backend_new(&s3_ops, s);
	return 0;
}
