/*
 * genrepo_folder.c - plans one node folder and produces its file bytes for
 * strata-genrepo (see genrepo_folder.h for the distributions).
 *
 * File names inside one folder are unique by construction: each embeds the
 * file's index in the folder, except the kind's usual names (aiida.in, ...)
 * which are distinct and never match the indexed patterns. So creating the
 * files with O_EXCL cannot collide.
 */
#include "genrepo_folder.h"

#include <stdio.h>
#include <string.h>

#include "genrepo_nodes.h"

#define KIB UINT64_C(1024)
#define MIB (KIB * KIB)
#define US_PER_S INT64_C(1000000)
#define COUNT_OF(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* ---- helpers --------------------------------------------------------- */

static bool ends_with(const char *str, const char *suffix)
{
    const size_t n = strlen(str);
    const size_t m = strlen(suffix);

    return n >= m && memcmp(str + n - m, suffix, m) == 0;
}

/* Writes "a/b" into out; false (and an empty out) if it does not fit. */
static bool join_path(char *out, size_t size, const char *a, const char *b)
{
    const int n = snprintf(out, size, "%s/%s", a, b);

    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
        return false;
    }
    return true;
}

/* ---- folder shape ---------------------------------------------------- */

static unsigned pick_file_count(gen_rng *rng)
{
    const uint32_t roll = gen_rng_below(rng, 1000);
    unsigned n = 1;

    if (roll < 10)
        return 0;                                  /* empty path/ */
    if (roll < 15)
        return 20 + gen_rng_below(rng, 81);        /* a big folder */
    while (n < 19 && gen_rng_below(rng, 1000) < 545)
        n++;                                       /* geometric, mean 2.2 */
    return n;
}

static const char *const dir_names[] = {
    "out", "tmp", "aiida.save", "pseudo", "K00001", "sub dir \xc3\xbc", "raw_data", "scratch",
    "-dash dir", "#hash dir",
};

/* A chain of 1-3 nested subfolders, sometimes plus a sibling of the first.
 * A CalcJobNode's first subfolder is '.aiida', as in AiiDA. */
static void plan_dirs(gen_folder *folder)
{
    gen_rng *rng = &folder->rng;
    const unsigned levels = 1 + gen_rng_below(rng, 3);
    const uint32_t first = gen_rng_below(rng, COUNT_OF(dir_names));

    if (gen_kind_is_calcjob(folder->kind))
        snprintf(folder->dirs[0], GEN_DIR_REL_MAX, "%s", ".aiida");
    else
        snprintf(folder->dirs[0], GEN_DIR_REL_MAX, "%s", dir_names[first]);
    folder->ndirs = 1;
    for (unsigned i = 1; i < levels; i++) {
        const char *name = dir_names[gen_rng_below(rng, COUNT_OF(dir_names))];

        if (!join_path(folder->dirs[i], GEN_DIR_REL_MAX, folder->dirs[i - 1], name))
            break;
        folder->ndirs++;
    }
    if (gen_rng_below(rng, 100) < 30) {
        const uint32_t other = (first + 1 + gen_rng_below(rng, COUNT_OF(dir_names) - 1))
                               % COUNT_OF(dir_names);

        snprintf(folder->dirs[folder->ndirs++], GEN_DIR_REL_MAX, "%s", dir_names[other]);
    }
}

/* 0 is path/ itself, i > 0 is dirs[i - 1]. */
static unsigned pick_dir(gen_folder *folder)
{
    if (folder->ndirs == 0 || gen_rng_below(&folder->rng, 100) < 40)
        return 0;
    return 1 + gen_rng_below(&folder->rng, folder->ndirs);
}

void gen_folder_init(gen_folder *folder, uint64_t seed, unsigned kind, int64_t ctime_us,
                     double size_scale)
{
    gen_rng_seed(&folder->rng, seed);
    folder->seed = seed;
    folder->kind = kind;
    folder->ctime_us = ctime_us;
    folder->size_scale = size_scale;
    folder->next_file = 0;
    folder->ndirs = 0;
    for (unsigned i = 0; i <= GEN_FOLDER_MAX_DIRS; i++)
        folder->last_regular[i][0] = '\0';
    folder->nfiles = pick_file_count(&folder->rng);
    if (folder->nfiles > 0 && gen_rng_below(&folder->rng, 100) < 10)
        plan_dirs(folder);
}

/* ---- file names ------------------------------------------------------ */

static const char *const stems[] = {
    "aiida", "output", "input", "data", "wfc", "charge-density", "band_structure", "forces",
    "log", "CONTCAR", "OUTCAR", "vasprun", "report", "trajectory",
};
static const char *const text_exts[] = {"txt", "out", "in", "json", "xml", "log", "dat", "cif"};
static const char *const binary_exts[] = {"npy", "bin", "hdf5", "gz", "dat", "save"};

/* Odd names: prefix, the file index, suffix. */
static const struct {
    const char *prefix;
    const char *suffix;
} odd_names[] = {
    {"r\xc3\xa9sum\xc3\xa9 \xc3\xbcn\xc3\xaf\x63ode ", ".txt"},
    {"with space ", ".dat"},
    {"it's \"quoted\" ", ".txt"},
    {"#hash ", "#"},
    {"-leading-dash-", ".txt"},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ", ".txt"},
    {"back\\slash $dollar ", ""},
    {" leading space ", ""},
    {"trailing space ", " "},
    {".hidden_", ""},
    {"semi;colon&amp ", "*?[]"},
};

/* About 200 bytes: ASCII, or 95 two-byte UTF-8 characters. */
static void long_name(char *out, gen_rng *rng, unsigned index)
{
    size_t pos = 0;

    if (gen_rng_below(rng, 2) == 0) {
        for (; pos < 190; pos++)
            out[pos] = (char)('a' + pos % 26);
    } else {
        for (; pos < 190; pos += 2) {
            out[pos] = (char)0xc3;
            out[pos + 1] = (char)0xa9; /* é */
        }
    }
    snprintf(out + pos, GEN_NAME_MAX - pos, "_%u.dat", index);
}

static unsigned kind_name_count(const char *const *names)
{
    unsigned n = 0;

    while (names[n] != NULL)
        n++;
    return n;
}

/* Writes the name of file index into out; returns whether it holds text. */
static bool pick_name(gen_folder *folder, unsigned index, char *out)
{
    const char *const *usual = gen_kind_file_names(folder->kind);
    gen_rng *rng = &folder->rng;
    const uint32_t roll = gen_rng_below(rng, 10000);
    /* 40%: the kinds' usual names are mostly text, so about half in all. */
    const bool text = gen_rng_below(rng, 100) < 40;

    if (index < kind_name_count(usual)) {
        snprintf(out, GEN_NAME_MAX, "%s", usual[index]);
        return !ends_with(out, ".npy");
    }
    if (roll < 30) {
        long_name(out, rng, index);
    } else if (roll < 330) {
        const uint32_t k = gen_rng_below(rng, COUNT_OF(odd_names));

        snprintf(out, GEN_NAME_MAX, "%s%u%s", odd_names[k].prefix, index, odd_names[k].suffix);
    } else {
        const char *ext = text ? text_exts[gen_rng_below(rng, COUNT_OF(text_exts))]
                               : binary_exts[gen_rng_below(rng, COUNT_OF(binary_exts))];

        snprintf(out, GEN_NAME_MAX, "%s_%u.%s", stems[gen_rng_below(rng, COUNT_OF(stems))],
                 index, ext);
    }
    return text;
}

/* ---- sizes, modes, times --------------------------------------------- */

/* Log-uniform-ish in [lo, hi): a random octave, then uniform inside it. */
static uint64_t log_uniform(gen_rng *rng, uint64_t lo, uint64_t hi)
{
    unsigned octaves = 0;
    uint64_t a;
    uint64_t b;

    for (uint64_t x = lo; x < hi; x *= 2)
        octaves++;
    a = lo << gen_rng_below(rng, octaves);
    b = a * 2 < hi ? a * 2 : hi;
    return a + gen_rng_below(rng, (uint32_t)(b - a));
}

static uint64_t pick_size(gen_rng *rng, double scale)
{
    uint32_t roll;
    uint64_t size;

    if (gen_rng_chance(rng, 20000))
        return 0;
    roll = gen_rng_below(rng, 1000000);
    if (roll < 250)
        size = log_uniform(rng, MIB, 6 * MIB);
    else if (roll < 9750)
        size = log_uniform(rng, 32 * KIB, 256 * KIB);
    else if (roll < 129750)
        size = log_uniform(rng, 4 * KIB, 32 * KIB);
    else
        size = log_uniform(rng, 100, 4 * KIB);
    return (uint64_t)((double)size * scale + 0.5);
}

static unsigned pick_mode(gen_rng *rng, const char *name)
{
    const uint32_t roll = gen_rng_below(rng, 100);

    if (roll < 10 || ends_with(name, ".sh"))
        return 0755;
    return roll < 15 ? 0600 : 0644;
}

bool gen_folder_next_file(gen_folder *folder, gen_file_spec *out)
{
    gen_rng *rng = &folder->rng;
    unsigned index;
    unsigned dir;
    char name[GEN_NAME_MAX];

    if (folder->next_file >= folder->nfiles)
        return false;
    index = folder->next_file++;
    dir = pick_dir(folder);
    out->text = pick_name(folder, index, name);
    if (dir == 0)
        snprintf(out->rel, sizeof(out->rel), "%s", name);
    else if (!join_path(out->rel, sizeof(out->rel), folder->dirs[dir - 1], name)) {
        snprintf(out->rel, sizeof(out->rel), "%s", name);
        dir = 0;
    }
    out->mtime_us = folder->ctime_us - gen_rng_span(rng, 0, 300 * US_PER_S);
    out->content_seed = gen_mix(folder->seed, index);
    out->link_target[0] = '\0';
    if (folder->last_regular[dir][0] != '\0' && gen_rng_chance(rng, 6000)) {
        memcpy(out->link_target, folder->last_regular[dir], GEN_NAME_MAX);
        out->size = 0;
        out->mode = 0777;
        return true;
    }
    out->size = pick_size(rng, folder->size_scale);
    out->mode = pick_mode(rng, name);
    memcpy(folder->last_regular[dir], name, GEN_NAME_MAX);
    return true;
}

/* ---- file bytes ------------------------------------------------------ */

static const char *const text_words[] = {
    "the", "total", "energy", "is", "converged", "after", "iterations", "of", "scf", "cycle",
    "kinetic", "cutoff", "charge", "density", "Fermi", "level", "band", "structure", "atomic",
    "positions", "forces", "acting", "on", "atoms", "stress", "tensor", "pressure", "cell",
    "parameters", "lattice", "pseudopotential", "valence", "electrons", "smearing", "gaussian",
    "mixing", "beta", "estimated", "accuracy", "magnetization", "spin", "polarized", "k-points",
    "weights", "symmetry", "operations", "wavefunctions", "written", "to", "file", "restart",
    "Davidson", "diagonalization", "threshold", "negative", "rho", "starting", "from", "input",
    "output", "CPU", "time", "WALL", "calculation",
};
static const char *const text_keys[] = {
    "ecutwfc", "ecutrho", "conv_thr", "mixing_beta", "degauss", "nat", "ntyp", "ibrav",
    "celldm(1)", "nbnd", "electron_maxstep", "tprnfor", "tstress", "etot_conv_thr",
    "forc_conv_thr", "startingwfc",
};
static const char *const text_markers[] = {
    "&CONTROL", "&SYSTEM", "&ELECTRONS", "/", "ATOMIC_POSITIONS crystal",
    "K_POINTS automatic", "CELL_PARAMETERS angstrom", "ATOMIC_SPECIES",
};

static char *put_str(char *p, const char *s)
{
    while (*s != '\0')
        *p++ = *s++;
    return p;
}

static char *put_uint(char *p, uint64_t v)
{
    char digits[20];
    unsigned n = 0;

    do {
        digits[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* A number like -12.345678 from the bits of r. */
static char *put_fixed(char *p, uint64_t r)
{
    if (r & 1)
        *p++ = '-';
    p = put_uint(p, (r >> 1) % 100);
    *p++ = '.';
    r >>= 8;
    for (int i = 0; i < 6; i++, r /= 10)
        *p++ = (char)('0' + (int)(r % 10));
    return p;
}

/* Appends one line, at most 200 bytes, of pseudo Quantum ESPRESSO text. */
static size_t text_line(gen_rng *rng, char *out)
{
    const uint64_t r = gen_rng_next(rng);
    char *p = out;

    switch (r & 7) {
    case 0: case 1:
        p = put_str(p, "  ");
        p = put_str(p, text_keys[(r >> 3) % COUNT_OF(text_keys)]);
        p = put_str(p, " = ");
        p = put_fixed(p, gen_rng_next(rng));
        break;
    case 2:
        for (int i = 0; i < 3; i++) {
            p = put_str(p, "    ");
            p = put_fixed(p, gen_rng_next(rng));
        }
        break;
    case 3: case 4: case 5: {
        const unsigned n = 4 + (unsigned)((r >> 3) % 6); /* 6 bits per word: r has room for 9 */

        for (unsigned i = 0; i < n; i++) {
            if (i > 0)
                *p++ = ' ';
            p = put_str(p, text_words[(r >> (8 + 6 * i)) % COUNT_OF(text_words)]);
        }
        break;
    }
    case 6:
        p = put_str(p, text_markers[(r >> 3) % COUNT_OF(text_markers)]);
        break;
    default:
        p = put_str(p, "     iteration #");
        p = put_uint(p, (r >> 3) % 100);
        p = put_str(p, "     ecut=");
        p = put_fixed(p, r >> 10);
        p = put_str(p, " Ry     beta= 0.70");
        break;
    }
    *p++ = '\n';
    return (size_t)(p - out);
}

static void binary_fill(gen_rng *rng, char *buf, size_t len)
{
    size_t pos = 0;
    uint64_t v;

    for (; pos + 8 <= len; pos += 8) {
        v = gen_rng_next(rng);
        memcpy(buf + pos, &v, 8);
    }
    if (pos < len) {
        v = gen_rng_next(rng);
        memcpy(buf + pos, &v, len - pos);
    }
}

void gen_content_init(gen_content *content, gen_rng *rng, bool text)
{
    content->rng = rng;
    content->text = text;
    content->have = 0;
    content->used = 0;
}

void gen_content_fill(gen_content *content, char *buf, size_t want)
{
    if (content->used > 0) {
        memmove(buf, buf + content->used, content->have - content->used);
        content->have -= content->used;
    }
    if (content->text) {
        while (content->have < want)
            content->have += text_line(content->rng, buf + content->have);
    } else {
        binary_fill(content->rng, buf, want);
        content->have = want;
    }
    content->used = want;
}
