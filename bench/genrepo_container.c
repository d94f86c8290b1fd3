/*
 * genrepo_container.c - objects and trees of an AiiDA 2.x profile (see genrepo_container.h).
 */
#include "genrepo_container.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "genrepo_folder.h"
#include "genrepo_rng.h"

/* Earlier contents a file may share (key and size). */
#define SHARED_RING 256
/* Entries of one node's tree. */
#define TREE_MAX 256

typedef struct shared_object {
    char key[65];
    uint64_t size;
} shared_object;

struct gen_container {
    char *dir;
    char container_id[33];
    enum gen_mode mode;
    double size_scale;
    gen_rng rng;
    sqlite3 *index;
    sqlite3_stmt *insert;
    sqlite3_stmt *find;
    int pack_fd;
    int64_t pack_id;
    uint64_t pack_size;
    shared_object shared[SHARED_RING];
    unsigned shared_count;
    char *buf;          /* one file's bytes */
    size_t buf_cap;
    unsigned char *zbuf;
    size_t zbuf_cap;
    gen_tree_stats stats;
};

static int fail_errno(gen_error *err, const char *what, const char *path)
{
    gen_error_set(err, "unable to %s '%s': %s", what, path, strerror(errno));
    return -1;
}

static int fail_sqlite(gen_container *c, gen_error *err, const char *what)
{
    gen_error_set(err, "unable to %s '%s/packs.idx': %s", what, c->dir, sqlite3_errmsg(c->index));
    return -1;
}

static int make_dirs(gen_container *c, gen_error *err)
{
    static const char *const subs[] = {"", "/loose", "/packs", "/duplicates", "/sandbox"};
    char path[4096];

    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(path, sizeof path, "%s%s", c->dir, subs[i]);
        if (mkdir(path, 0755) != 0)
            return fail_errno(err, "create folder", path);
    }
    return 0;
}

static int write_config(gen_container *c, gen_error *err)
{
    char path[4096], text[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/config.json", c->dir);
    snprintf(text, sizeof text,
             "{\"container_version\": 1, \"loose_prefix_len\": 2, \"pack_size_target\": 4294967296, "
             "\"hash_type\": \"sha256\", \"container_id\": \"%s\", \"compression_algorithm\": \"zlib+1\"}",
             c->container_id);
    f = fopen(path, "wx");
    if (f == NULL)
        return fail_errno(err, "create", path);
    fputs(text, f);
    if (fclose(f) != 0)
        return fail_errno(err, "write", path);
    return 0;
}

/* The container_id of an existing container (written by disk-objectstore or by us). */
static int read_config(gen_container *c, gen_error *err)
{
    char path[4096], text[8192];
    size_t n;
    const char *id;
    FILE *f;

    snprintf(path, sizeof path, "%s/config.json", c->dir);
    f = fopen(path, "r");
    if (f == NULL)
        return fail_errno(err, "read", path);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    id = strstr(text, "\"container_id\"");
    if (id != NULL)
        id = strchr(id + 14, '"');
    if (id == NULL || sscanf(id, "\"%32[0-9a-f]\"", c->container_id) != 1) {
        gen_error_set(err, "'%s' has no container_id", path);
        return -1;
    }
    if (strstr(text, "\"loose_prefix_len\": 2") == NULL) {
        gen_error_set(err, "'%s': only loose_prefix_len 2 is supported", path);
        return -1;
    }
    return 0;
}

static int open_index(gen_container *c, gen_error *err)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/packs.idx", c->dir);
    if (sqlite3_open(path, &c->index) != SQLITE_OK)
        return fail_sqlite(c, err, "open");
    if (sqlite3_exec(c->index,
                     "PRAGMA journal_mode=wal;"
                     "CREATE TABLE IF NOT EXISTS db_object (\n\tid INTEGER NOT NULL, \n"
                     "\thashkey VARCHAR NOT NULL, \n\tcompressed BOOLEAN NOT NULL, \n"
                     "\tsize INTEGER NOT NULL, \n\toffset INTEGER NOT NULL, \n"
                     "\tlength INTEGER NOT NULL, \n\tpack_id INTEGER NOT NULL, \n"
                     "\tPRIMARY KEY (id)\n);"
                     "CREATE UNIQUE INDEX IF NOT EXISTS ix_db_object_hashkey ON db_object (hashkey);"
                     "BEGIN;",
                     NULL, NULL, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(c->index,
                              "INSERT INTO db_object (hashkey, compressed, size, offset, length, "
                              "pack_id) VALUES (?, ?, ?, ?, ?, ?)",
                              -1, &c->insert, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(c->index, "SELECT 1 FROM db_object WHERE hashkey = ?", -1, &c->find,
                              NULL) != SQLITE_OK)
        return fail_sqlite(c, err, "write");
    return 0;
}

/* create mode appends to a new pack numbered after the existing ones. */
static int open_pack(gen_container *c, gen_error *err)
{
    char path[4096];
    struct stat st;

    for (c->pack_id = 0;; c->pack_id++) {
        snprintf(path, sizeof path, "%s/packs/%" PRId64, c->dir, c->pack_id);
        if (stat(path, &st) != 0)
            break;
    }
    c->pack_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (c->pack_fd < 0)
        return fail_errno(err, "create", path);
    return 0;
}

int gen_container_new(gen_container **out, const char *root, enum gen_mode mode, uint64_t seed,
                      double size_scale, gen_error *err)
{
    gen_container *c = calloc(1, sizeof *c);
    size_t n = strlen(root) + sizeof "/container";
    int rc;

    if (c == NULL) {
        gen_error_set(err, "out of memory");
        return -1;
    }
    *out = c;
    c->pack_fd = -1;
    c->mode = mode;
    c->size_scale = size_scale;
    c->dir = malloc(n);
    if (c->dir == NULL) {
        gen_error_set(err, "out of memory");
        return -1;
    }
    snprintf(c->dir, n, "%s/container", root);
    gen_rng_seed(&c->rng, gen_mix(seed, UINT64_C(0x2c0)));
    if (mode == GEN_MODE_CREATE) {
        snprintf(c->container_id, sizeof c->container_id, "%016" PRIx64 "%016" PRIx64,
                 gen_rng_next(&c->rng), gen_rng_next(&c->rng));
        if (mkdir(root, 0755) != 0 && errno != EEXIST)
            return fail_errno(err, "create folder", root);
        rc = make_dirs(c, err);
        if (rc == 0)
            rc = write_config(c, err);
    } else {
        rc = read_config(c, err);
    }
    if (rc == 0)
        rc = open_index(c, err);
    if (rc == 0 && mode == GEN_MODE_CREATE)
        rc = open_pack(c, err);
    return rc;
}

const char *gen_container_id(const gen_container *c)
{
    return c->container_id;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void sha256_hex(char out[65], const void *data, size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static int write_loose(gen_container *c, const char *key, size_t size, gen_error *err)
{
    char dir[4096], path[4096], tmp[4096];
    int fd;

    snprintf(dir, sizeof dir, "%s/loose/%.2s", c->dir, key);
    snprintf(path, sizeof path, "%s/%s", dir, key + 2);
    if (access(path, F_OK) == 0)
        return 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return fail_errno(err, "create folder", dir);
    snprintf(tmp, sizeof tmp, "%s/sandbox/%s", c->dir, key);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail_errno(err, "create", tmp);
    if (write_all(fd, c->buf, size) != 0) {
        close(fd);
        return fail_errno(err, "write", tmp);
    }
    if (close(fd) != 0 || rename(tmp, path) != 0)
        return fail_errno(err, "move into place", path);
    return 0;
}

static bool is_packed(gen_container *c, const char *key)
{
    bool found;

    sqlite3_bind_text(c->find, 1, key, -1, SQLITE_STATIC);
    found = sqlite3_step(c->find) == SQLITE_ROW;
    sqlite3_reset(c->find);
    return found;
}

static int write_packed(gen_container *c, const char *key, size_t size, bool compress,
                        gen_error *err)
{
    const void *stored = c->buf;
    uLongf length = size;
    char path[4096];

    if (is_packed(c, key))
        return 0;
    if (compress) {
        uLong bound = compressBound(size);
        if (bound > c->zbuf_cap) {
            free(c->zbuf);
            c->zbuf = malloc(bound);
            c->zbuf_cap = bound;
            if (c->zbuf == NULL) {
                gen_error_set(err, "out of memory");
                return -1;
            }
        }
        length = bound;
        if (compress2(c->zbuf, &length, (const Bytef *)c->buf, size, 1) != Z_OK) {
            gen_error_set(err, "zlib failed to compress an object");
            return -1;
        }
        stored = c->zbuf;
    }
    snprintf(path, sizeof path, "%s/packs/%" PRId64, c->dir, c->pack_id);
    if (write_all(c->pack_fd, stored, length) != 0)
        return fail_errno(err, "write", path);
    sqlite3_bind_text(c->insert, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(c->insert, 2, compress);
    sqlite3_bind_int64(c->insert, 3, (sqlite3_int64)size);
    sqlite3_bind_int64(c->insert, 4, (sqlite3_int64)c->pack_size);
    sqlite3_bind_int64(c->insert, 5, (sqlite3_int64)length);
    sqlite3_bind_int64(c->insert, 6, c->pack_id);
    if (sqlite3_step(c->insert) != SQLITE_DONE)
        return fail_sqlite(c, err, "write");
    sqlite3_reset(c->insert);
    c->pack_size += length;
    return 0;
}

/* Makes the file's bytes, names them and stores them once; key receives the name. */
static int store_file(gen_container *c, const gen_file_spec *spec, char key[65], gen_error *err)
{
    gen_rng rng;
    gen_content content;
    size_t size = (size_t)spec->size, done = 0;
    double r;

    if (size + GEN_CHUNK + GEN_CHUNK_SLACK > c->buf_cap) {
        free(c->buf);
        c->buf_cap = size + GEN_CHUNK + GEN_CHUNK_SLACK;
        c->buf = malloc(c->buf_cap);
        if (c->buf == NULL) {
            gen_error_set(err, "out of memory");
            return -1;
        }
    }
    /* gen_content_fill wants the same buffer on every call: fill a chunk, then move it. */
    gen_rng_seed(&rng, spec->content_seed);
    gen_content_init(&content, &rng, spec->text);
    char *chunk = c->buf + size;
    while (done < size) {
        size_t want = size - done < GEN_CHUNK ? size - done : GEN_CHUNK;
        gen_content_fill(&content, chunk, want);
        memmove(c->buf + done, chunk, want);
        done += want;
    }
    sha256_hex(key, c->buf, size);
    r = gen_rng_unit(&c->rng);
    c->stats.bytes += size;
    c->stats.files++;
    if (c->mode != GEN_MODE_CREATE || r < 0.30)
        return write_loose(c, key, size, err);
    return write_packed(c, key, size, r >= 0.65, err);
}

/* One entry of a node's tree: a file (key set) or a folder. */
typedef struct tree_entry {
    char path[GEN_REL_MAX];
    char key[65];
} tree_entry;

/* Path order with '/' below every other byte, so that everything below a folder comes right
 * after it ("a", "a/x", "a b"), as emit_folder needs. */
static int compare_entries(const void *a, const void *b)
{
    const unsigned char *x = (const unsigned char *)((const tree_entry *)a)->path;
    const unsigned char *y = (const unsigned char *)((const tree_entry *)b)->path;

    for (; *x != '\0' && *x == *y; x++, y++)
        ;
    int cx = *x == '/' ? 1 : *x == '\0' ? 0 : *x + 1;
    int cy = *y == '/' ? 1 : *y == '\0' ? 0 : *y + 1;
    return cx - cy;
}

/* JSON string of a name; bytes that are not UTF-8 text become '_' (jsonb wants UTF-8). */
static void add_json_name(gen_buf *out, const char *name, size_t len)
{
    gen_buf_addc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '"' || ch == '\\') {
            gen_buf_addc(out, '\\');
            gen_buf_addc(out, (char)ch);
        } else if (ch < 0x20) {
            gen_buf_addf(out, "\\u%04x", ch);
        } else if (ch >= 0x80) {
            size_t n = (ch & 0xe0) == 0xc0 ? 2 : (ch & 0xf0) == 0xe0 ? 3 : (ch & 0xf8) == 0xf0 ? 4 : 0;
            bool ok = n > 0 && i + n <= len;
            for (size_t k = 1; ok && k < n; k++)
                ok = ((unsigned char)name[i + k] & 0xc0) == 0x80;
            if (ok) {
                gen_buf_add(out, name + i, n);
                i += n - 1;
            } else {
                gen_buf_addc(out, '_');
            }
        } else {
            gen_buf_addc(out, (char)ch);
        }
    }
    gen_buf_addc(out, '"');
}

/* The folder whose entries are entries[*at..] with paths below prefix (prefix_len bytes, ""
 * for the root), as {"o": {...}}; *at moves past them. */
static void emit_folder(gen_buf *out, const tree_entry *entries, size_t count, size_t *at,
                        const char *prefix, size_t prefix_len)
{
    bool first = true;

    gen_buf_adds(out, "{\"o\": {");
    while (*at < count && strncmp(entries[*at].path, prefix, prefix_len) == 0) {
        const tree_entry *e = &entries[*at];
        const char *name = e->path + prefix_len;
        const char *slash = strchr(name, '/');
        size_t name_len = slash ? (size_t)(slash - name) : strlen(name);

        if (!first)
            gen_buf_adds(out, ", ");
        first = false;
        add_json_name(out, name, name_len);
        gen_buf_adds(out, ": ");
        if (slash == NULL && e->key[0] != '\0') {
            gen_buf_addf(out, "{\"k\": \"%s\"}", e->key);
            (*at)++;
        } else if (slash == NULL) {
            /* A folder: an entry of its own, then what is below it. */
            char below[GEN_REL_MAX];
            (*at)++;
            snprintf(below, sizeof below, "%s/", e->path);
            if (*at < count && strncmp(entries[*at].path, below, strlen(below)) == 0)
                emit_folder(out, entries, count, at, below, strlen(below));
            else
                gen_buf_adds(out, "{}");
        } else {
            char below[GEN_REL_MAX];
            snprintf(below, sizeof below, "%.*s", (int)(slash - e->path + 1), e->path);
            emit_folder(out, entries, count, at, below, strlen(below));
        }
    }
    gen_buf_adds(out, "}}");
}

int gen_container_node(gen_container *c, const gen_node *node, gen_buf *meta, gen_error *err)
{
    tree_entry entries[TREE_MAX];
    size_t count = 0, at = 0;
    gen_folder folder;
    gen_file_spec spec;

    if (!node->has_folder) {
        gen_buf_adds(meta, "{}");
        return 0;
    }
    gen_folder_init(&folder, node->seed, node->kind, node->ctime_us, c->size_scale);
    while (count < TREE_MAX - 1 && gen_folder_next_file(&folder, &spec)) {
        tree_entry *e = &entries[count];
        if (spec.link_target[0] != '\0')
            continue;
        snprintf(e->path, sizeof e->path, "%s", spec.rel);
        if (c->shared_count > 0 && gen_rng_chance(&c->rng, 100000)) {
            const shared_object *s = &c->shared[gen_rng_below(&c->rng, c->shared_count < SHARED_RING
                                                                  ? c->shared_count : SHARED_RING)];
            memcpy(e->key, s->key, sizeof e->key);
            c->stats.files++;
            c->stats.bytes += s->size;
        } else {
            if (store_file(c, &spec, e->key, err) != 0)
                return -1;
            shared_object *s = &c->shared[c->shared_count++ % SHARED_RING];
            memcpy(s->key, e->key, sizeof s->key);
            s->size = spec.size;
        }
        count++;
    }
    if (gen_rng_chance(&c->rng, 50000)) {
        snprintf(entries[count].path, sizeof entries[count].path, "empty folder");
        entries[count++].key[0] = '\0';
    }
    qsort(entries, count, sizeof *entries, compare_entries);
    /* Drop a name seen twice (a file and a folder of that name, or a sanitised clash). */
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (kept == 0 || strcmp(entries[kept - 1].path, entries[i].path) != 0)
            entries[kept++] = entries[i];
    emit_folder(meta, entries, kept, &at, "", 0);
    c->stats.folders++;
    return 0;
}

int gen_container_finish(gen_container *c, gen_error *err)
{
    if (sqlite3_exec(c->index, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail_sqlite(c, err, "commit");
    return 0;
}

void gen_container_stats_get(const gen_container *c, gen_tree_stats *out)
{
    *out = c->stats;
}

void gen_container_free(gen_container *c)
{
    if (c == NULL)
        return;
    sqlite3_finalize(c->insert);
    sqlite3_finalize(c->find);
    sqlite3_close(c->index);
    if (c->pack_fd >= 0)
        close(c->pack_fd);
    free(c->buf);
    free(c->zbuf);
    free(c->dir);
    free(c);
}
