/*
 * genrepo_nodes.c - invents AiiDA 1.x nodes and their database rows for
 * strata-genrepo (see genrepo_nodes.h).
 *
 * The kind table below fixes the mix of node types and which of them get a
 * repository folder (about 30% of nodes get none, as in real profiles where
 * Int, Dict or WorkChainNode usually store nothing on disk). JSON written
 * here never contains a backslash, tab or newline, so it needs no COPY
 * escaping; free text (labels, descriptions, messages) is escaped.
 */
#include "genrepo_nodes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "genrepo_rng.h"

#define US_PER_S INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_S)
#define IMPORT_START_US (INT64_C(1546300800) * US_PER_S) /* 2019-01-01 */
#define IMPORT_END_US (INT64_C(1609459200) * US_PER_S)   /* 2021-01-01 */
#define RECENT_DATA 64

enum gen_role { ROLE_DATA, ROLE_CALC, ROLE_WORK };

typedef void (*gen_attrs_fn)(gen_buf *out, gen_rng *rng, const gen_node *node);

typedef struct gen_kind {
    const char *node_type;
    const char *process_type;  /* NULL for data nodes */
    const char *process_label; /* NULL for data nodes */
    enum gen_role role;
    unsigned weight;           /* share of nodes, per thousand */
    unsigned folder_pct;       /* percent of such nodes with a folder */
    bool on_computer;          /* dbcomputer_id is set */
    const char *port;          /* link label when linked as data */
    const char *const *files;  /* usual first file names */
    gen_attrs_fn attributes;
} gen_kind;

struct gen_nodes {
    gen_nodes_config config;
    gen_rng rng;
    int64_t index;
    int64_t last_calc_id;
    int64_t last_work_id;
    struct {
        int64_t id;
        unsigned kind;
    } recent[RECENT_DATA];
    unsigned recent_len;
    unsigned recent_next;
    gen_buf links;
    gen_buf members;
    gen_buf logs;
    gen_buf comments;
};

static const char *const words[] = {
    "silicon", "bulk", "relax", "scf", "bands", "nscf", "phonon", "slab", "surface",
    "converged", "cutoff", "smearing", "kpoints", "pseudo", "magnetic", "spin",
    "energy", "forces", "stress", "cell", "vacancy", "doped", "strain", "lattice",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char *word(gen_rng *rng)
{
    return words[gen_rng_below(rng, (uint32_t)N_WORDS)];
}

/* ---- attributes ------------------------------------------------------ */

static void json_hex(gen_buf *out, gen_rng *rng, unsigned nchars)
{
    static const char hex[] = "0123456789abcdef";

    for (unsigned i = 0; i < nchars; i++)
        gen_buf_addc(out, hex[gen_rng_below(rng, 16)]);
}

static void attrs_empty(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)rng;
    (void)node;
    gen_buf_adds(out, "{}");
}

static void attrs_dict(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    static const char *const keys[] = {
        "ecutwfc", "ecutrho", "conv_thr", "mixing_beta", "degauss",
        "nspin", "smearing", "calculation", "occupations", "electron_maxstep",
    };
    const unsigned nkeys = (unsigned)(sizeof(keys) / sizeof(keys[0]));
    const unsigned n = 2 + gen_rng_below(rng, 7);
    const unsigned start = gen_rng_below(rng, nkeys);

    (void)node;
    gen_buf_addc(out, '{');
    for (unsigned i = 0; i < n; i++) {
        const unsigned k = (start + i) % nkeys;

        gen_buf_addf(out, "%s\"%s\": ", i ? ", " : "", keys[k]);
        switch (k % 3) {
        case 0: gen_buf_addf(out, "%.6g", gen_rng_unit(rng) * 100.0); break;
        case 1: gen_buf_addf(out, "%u", gen_rng_below(rng, 1000)); break;
        default: gen_buf_addf(out, "\"%s\"", word(rng)); break;
        }
    }
    gen_buf_addc(out, '}');
}

static void attrs_structure(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    const double a = 3.0 + gen_rng_unit(rng) * 4.0;
    const unsigned nsites = 1 + gen_rng_below(rng, 8);

    (void)node;
    gen_buf_addf(out, "{\"cell\": [[%.6f, 0.0, 0.0], [0.0, %.6f, 0.0], [0.0, 0.0, %.6f]], "
                      "\"pbc1\": true, \"pbc2\": true, \"pbc3\": true, \"kinds\": "
                      "[{\"name\": \"Si\", \"mass\": 28.0855, \"symbols\": [\"Si\"], "
                      "\"weights\": [1.0]}], \"sites\": [",
                 a, a, a);
    for (unsigned i = 0; i < nsites; i++)
        gen_buf_addf(out, "%s{\"position\": [%.6f, %.6f, %.6f], \"kind_name\": \"Si\"}",
                     i ? ", " : "", gen_rng_unit(rng) * a, gen_rng_unit(rng) * a,
                     gen_rng_unit(rng) * a);
    gen_buf_adds(out, "]}");
}

static void attrs_array(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    gen_buf_addf(out, "{\"array|forces\": [%u, 3], \"array|stress\": [3, 3]}",
                 1 + gen_rng_below(rng, 64));
}

static void attrs_kpoints(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    const unsigned m = 2 + gen_rng_below(rng, 10);

    (void)node;
    gen_buf_addf(out, "{\"mesh\": [%u, %u, %u], \"offset\": [0.0, 0.0, 0.0], "
                      "\"array|kpoints\": [%u, 3]}", m, m, m, m * m * m);
}

static void attrs_remote(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    const char *u = node->uuid;

    (void)rng;
    gen_buf_addf(out, "{\"remote_path\": \"/scratch/aiida/aiida_run/%.2s/%.2s/%s\"}", u, u + 2,
                 u + 4);
}

static void attrs_singlefile(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)rng;
    (void)node;
    gen_buf_adds(out, "{\"filename\": \"input.txt\"}");
}

static void attrs_upf(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    gen_buf_adds(out, "{\"md5\": \"");
    json_hex(out, rng, 32);
    gen_buf_adds(out, "\", \"element\": \"Si\", \"filename\": \"Si.pbe-n-rrkjus_psl.1.0.0.UPF\"}");
}

static void attrs_code(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)rng;
    (void)node;
    gen_buf_adds(out, "{\"is_local\": false, \"input_plugin\": \"quantumespresso.pw\", "
                      "\"remote_exec_path\": \"/usr/bin/pw.x\", \"append_text\": \"\", "
                      "\"prepend_text\": \"\"}");
}

static void attrs_int(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    gen_buf_addf(out, "{\"value\": %u}", gen_rng_below(rng, 100000));
}

static void attrs_float(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    gen_buf_addf(out, "{\"value\": %.9g}", (gen_rng_unit(rng) - 0.5) * 2000.0);
}

static void attrs_str(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    gen_buf_addf(out, "{\"value\": \"%s\"}", word(rng));
}

static void attrs_bool(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    gen_buf_addf(out, "{\"value\": %s}", gen_rng_below(rng, 2) ? "true" : "false");
}

/* Common process attributes: sealed, state, exit status, version. */
static void attrs_process_state(gen_buf *out, gen_rng *rng, const char *label)
{
    const uint32_t roll = gen_rng_below(rng, 100);

    gen_buf_addf(out, "{\"sealed\": true, \"version\": {\"core\": \"1.6.9\", \"plugin\": "
                      "\"3.4.1\"}, \"process_label\": \"%s\", ", label);
    if (roll < 90)
        gen_buf_adds(out, "\"process_state\": \"finished\", \"exit_status\": 0");
    else if (roll < 95)
        gen_buf_adds(out, "\"process_state\": \"finished\", \"exit_status\": 305, "
                          "\"exit_message\": \"both the stdout and XML output files could "
                          "not be read or parsed\"");
    else if (roll < 98)
        gen_buf_adds(out, "\"process_state\": \"excepted\", \"exception\": "
                          "\"ValueError: could not parse output\"");
    else
        gen_buf_adds(out, "\"process_state\": \"killed\", \"process_status\": "
                          "\"Killed through `verdi process kill`\"");
}

static void attrs_calcjob(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    const char *u = node->uuid;

    attrs_process_state(out, rng, "PwCalculation");
    gen_buf_addf(out, ", \"withmpi\": true, \"resources\": {\"num_machines\": %u, "
                      "\"num_mpiprocs_per_machine\": %u}, \"parser_name\": "
                      "\"quantumespresso.pw\", \"remote_workdir\": "
                      "\"/scratch/aiida/aiida_run/%.2s/%.2s/%s\", \"retrieve_list\": "
                      "[\"aiida.out\", \"data-file-schema.xml\", \"_scheduler-stdout.txt\", "
                      "\"_scheduler-stderr.txt\"], \"scheduler_state\": \"done\", "
                      "\"job_id\": \"%u\", \"scheduler_lastchecktime\": \"",
                 1 + gen_rng_below(rng, 4), 1u << gen_rng_below(rng, 6), u, u + 2, u + 4,
                 100000 + gen_rng_below(rng, 900000));
    gen_buf_add_timestamp(out, node->mtime_us);
    gen_buf_adds(out, "\"}");
}

static void attrs_workchain(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    attrs_process_state(out, rng, "PwBaseWorkChain");
    gen_buf_addf(out, ", \"stepper_state_info\": \"%u:results\"}", 2 + gen_rng_below(rng, 6));
}

static void attrs_function(gen_buf *out, gen_rng *rng, const gen_node *node)
{
    (void)node;
    attrs_process_state(out, rng, "seekpath_structure_analysis");
    gen_buf_addf(out, ", \"function_name\": \"seekpath_structure_analysis\", "
                      "\"function_namespace\": \"seekpath_structure_analysis\", "
                      "\"function_starting_line_number\": %u}", 10 + gen_rng_below(rng, 300));
}

/* ---- the kind table -------------------------------------------------- */

static const char *const files_none[] = {NULL};
static const char *const files_calcjob[] = {"aiida.in", "_aiidasubmit.sh", NULL};
static const char *const files_retrieved[] = {
    "aiida.out", "_scheduler-stdout.txt", "_scheduler-stderr.txt", "data-file-schema.xml", NULL,
};
static const char *const files_array[] = {"forces.npy", "stress.npy", NULL};
static const char *const files_kpoints[] = {"kpoints.npy", "weights.npy", NULL};
static const char *const files_singlefile[] = {"input.txt", NULL};
static const char *const files_upf[] = {"Si.pbe-n-rrkjus_psl.1.0.0.UPF", NULL};
static const char *const files_code[] = {"launch.sh", NULL};
static const char *const files_function[] = {"source_file", NULL};

static const gen_kind kinds[] = {
    {"data.dict.Dict.", NULL, NULL, ROLE_DATA, 170, 60, false, "parameters", files_none,
     attrs_dict},
    {"data.structure.StructureData.", NULL, NULL, ROLE_DATA, 80, 70, false, "structure",
     files_none, attrs_structure},
    {"data.array.kpoints.KpointsData.", NULL, NULL, ROLE_DATA, 50, 100, false, "kpoints",
     files_kpoints, attrs_kpoints},
    {"data.array.ArrayData.", NULL, NULL, ROLE_DATA, 50, 100, false, "output_trajectory",
     files_array, attrs_array},
    {"data.remote.RemoteData.", NULL, NULL, ROLE_DATA, 70, 40, true, "remote_folder",
     files_none, attrs_remote},
    {"data.folder.FolderData.", NULL, NULL, ROLE_DATA, 90, 100, false, "retrieved",
     files_retrieved, attrs_empty},
    {"data.singlefile.SinglefileData.", NULL, NULL, ROLE_DATA, 50, 100, false, "file",
     files_singlefile, attrs_singlefile},
    {"data.upf.UpfData.", NULL, NULL, ROLE_DATA, 20, 100, false, "pseudos__Si", files_upf,
     attrs_upf},
    {"data.int.Int.", NULL, NULL, ROLE_DATA, 40, 30, false, "result", files_none, attrs_int},
    {"data.float.Float.", NULL, NULL, ROLE_DATA, 40, 30, false, "energy", files_none,
     attrs_float},
    {"data.str.Str.", NULL, NULL, ROLE_DATA, 20, 20, false, "name", files_none, attrs_str},
    {"data.bool.Bool.", NULL, NULL, ROLE_DATA, 10, 20, false, "clean_workdir", files_none,
     attrs_bool},
    {"data.code.Code.", NULL, NULL, ROLE_DATA, 10, 100, true, "code", files_code, attrs_code},
    {"process.calculation.calcjob.CalcJobNode.", "aiida.calculations:quantumespresso.pw",
     "PwCalculation", ROLE_CALC, 140, 100, true, NULL, files_calcjob, attrs_calcjob},
    {"process.workflow.workchain.WorkChainNode.", "aiida.workflows:quantumespresso.pw.base",
     "PwBaseWorkChain", ROLE_WORK, 80, 30, false, NULL, files_none, attrs_workchain},
    {"process.calculation.calcfunction.CalcFunctionNode.",
     "aiida_quantumespresso.calculations.functions.seekpath_structure_analysis."
     "seekpath_structure_analysis",
     "seekpath_structure_analysis", ROLE_CALC, 60, 60, false, NULL, files_function,
     attrs_function},
    {"process.workflow.workfunction.WorkFunctionNode.",
     "aiida.workflows.arithmetic.add_multiply.add_multiply", "add_multiply", ROLE_WORK, 20, 50,
     false, NULL, files_function, attrs_function},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const char *const *gen_kind_file_names(unsigned kind)
{
    return kind < N_KINDS ? kinds[kind].files : files_none;
}

bool gen_kind_is_calcjob(unsigned kind)
{
    return kind < N_KINDS && kinds[kind].attributes == attrs_calcjob;
}

static unsigned pick_kind(gen_rng *rng)
{
    uint32_t roll = gen_rng_below(rng, 1000);

    for (unsigned k = 0; k < N_KINDS; k++) {
        if (roll < kinds[k].weight)
            return k;
        roll -= kinds[k].weight;
    }
    return 0;
}

/* ---- lifecycle ------------------------------------------------------- */

void gen_nodes_new(gen_nodes **out, const gen_nodes_config *config)
{
    gen_nodes *nodes = calloc(1, sizeof(*nodes));

    if (nodes == NULL) {
        fputs(GEN_PROGRAM ": out of memory\n", stderr);
        exit(1);
    }
    nodes->config = *config;
    gen_rng_seed(&nodes->rng, config->seed);
    gen_buf_init(&nodes->links);
    gen_buf_init(&nodes->members);
    gen_buf_init(&nodes->logs);
    gen_buf_init(&nodes->comments);
    *out = nodes;
}

void gen_nodes_free(gen_nodes *nodes)
{
    if (nodes == NULL)
        return;
    gen_buf_release(&nodes->links);
    gen_buf_release(&nodes->members);
    gen_buf_release(&nodes->logs);
    gen_buf_release(&nodes->comments);
    free(nodes);
}

const char *gen_nodes_copy_sql(void)
{
    return "COPY db_dbnode (id, uuid, node_type, process_type, label, description, ctime, "
           "mtime, attributes, extras, user_id, dbcomputer_id) FROM STDIN";
}

void gen_nodes_side_tables(const gen_nodes *nodes, gen_side_table out[GEN_SIDE_TABLES])
{
    out[0].copy_sql = "COPY db_dblink (input_id, output_id, label, type) FROM STDIN";
    out[0].rows = &nodes->links;
    out[1].copy_sql = "COPY db_dbgroup_dbnodes (dbgroup_id, dbnode_id) FROM STDIN";
    out[1].rows = &nodes->members;
    out[2].copy_sql = "COPY db_dblog (uuid, time, loggername, levelname, dbnode_id, message, "
                      "metadata) FROM STDIN";
    out[2].rows = &nodes->logs;
    out[3].copy_sql = "COPY db_dbcomment (uuid, dbnode_id, ctime, mtime, user_id, content) "
                      "FROM STDIN";
    out[3].rows = &nodes->comments;
}

/* ---- times ----------------------------------------------------------- */

/* create: spread over the year before now, increasing with the id;
 * add: now, increasing by a microsecond per node;
 * import: random in 2019-2020, unrelated to the (new, higher) id. */
static int64_t node_ctime(gen_nodes *nodes)
{
    const gen_nodes_config *c = &nodes->config;

    switch (c->mode) {
    case GEN_MODE_CREATE: {
        const int64_t end = c->now_us - 3600 * US_PER_S;
        const int64_t span = 365 * US_PER_DAY;
        const int64_t step = span / (c->count > 0 ? c->count : 1);
        const int64_t at = end - span + nodes->index * step;

        return gen_rng_span(&nodes->rng, at, at + step);
    }
    case GEN_MODE_ADD:
        return c->now_us - (c->count - 1 - nodes->index);
    case GEN_MODE_IMPORT:
    default:
        return gen_rng_span(&nodes->rng, IMPORT_START_US, IMPORT_END_US);
    }
}

/* mtime >= ctime: some nodes were modified later (extras, labels). */
static int64_t node_mtime(gen_nodes *nodes, int64_t ctime)
{
    const gen_nodes_config *c = &nodes->config;

    switch (c->mode) {
    case GEN_MODE_CREATE:
        if (gen_rng_chance(&nodes->rng, 150000))
            return gen_rng_span(&nodes->rng, ctime, c->now_us);
        return ctime;
    case GEN_MODE_ADD:
        return ctime;
    case GEN_MODE_IMPORT:
    default: {
        int64_t end = ctime + 30 * US_PER_DAY;

        return gen_rng_span(&nodes->rng, ctime, end < IMPORT_END_US ? end : IMPORT_END_US);
    }
    }
}

/* ---- the db_dbnode row ----------------------------------------------- */

static void add_label(gen_buf *row, gen_rng *rng)
{
    static const char *const labels[] = {
        "Si bulk", "Fe\xe2\x82\x82O\xe2\x82\x83 slab", "r\xc3\xa9sum\xc3\xa9 run", "GaAs \"quoted\"",
        "scf", "relax", "bands", "nscf", "H2O in box", "MoS\xe2\x82\x82 monolayer",
    };
    char label[96];

    if (gen_rng_below(rng, 100) < 60)
        return;
    snprintf(label, sizeof(label), "%s %u", labels[gen_rng_below(rng, 10)],
             gen_rng_below(rng, 1000));
    gen_buf_add_copy_text(row, label);
}

static void add_description(gen_buf *row, gen_rng *rng)
{
    static const char *const texts[] = {
        "converged with tighter thresholds",
        "multi-line description\nsecond line",
        "tab\tseparated note",
        "back\\slash note",
        "\xc3\x9cn\xc3\xaf\x63ode d\xc3\xa9scription",
    };

    if (gen_rng_below(rng, 100) < 90)
        return;
    gen_buf_add_copy_text(row, texts[gen_rng_below(rng, 5)]);
}

static void add_extras(gen_buf *row, gen_rng *rng)
{
    const bool hashed = gen_rng_below(rng, 100) < 90;
    const bool tagged = gen_rng_below(rng, 100) < 10;

    gen_buf_addc(row, '{');
    if (hashed) {
        gen_buf_adds(row, "\"_aiida_hash\": \"");
        json_hex(row, rng, 64);
        gen_buf_addc(row, '"');
    }
    if (tagged)
        gen_buf_addf(row, "%s\"tag\": \"batch-%u\"", hashed ? ", " : "", gen_rng_below(rng, 50));
    gen_buf_addc(row, '}');
}

static void add_node_row(gen_nodes *nodes, const gen_node *node, gen_buf *row)
{
    const gen_kind *kind = &kinds[node->kind];
    const gen_nodes_config *c = &nodes->config;

    gen_buf_addf(row, "%" PRId64 "\t%s\t%s\t%s\t", node->id, node->uuid, kind->node_type,
                 kind->process_type ? kind->process_type : "\\N");
    add_label(row, &nodes->rng);
    gen_buf_addc(row, '\t');
    add_description(row, &nodes->rng);
    gen_buf_addc(row, '\t');
    gen_buf_add_timestamp(row, node->ctime_us);
    gen_buf_addc(row, '\t');
    gen_buf_add_timestamp(row, node->mtime_us);
    gen_buf_addc(row, '\t');
    kind->attributes(row, &nodes->rng, node);
    gen_buf_addc(row, '\t');
    add_extras(row, &nodes->rng);
    gen_buf_addf(row, "\t%" PRId64 "\t", c->user_id);
    if (kind->on_computer && c->computer_id > 0)
        gen_buf_addf(row, "%" PRId64 "\n", c->computer_id);
    else
        gen_buf_adds(row, "\\N\n");
}

/* ---- side rows: links, group, logs, comments ------------------------- */

static void add_link(gen_nodes *nodes, int64_t input, int64_t output, const char *label,
                     const char *type)
{
    gen_buf_addf(&nodes->links, "%" PRId64 "\t%" PRId64 "\t%s\t%s\n", input, output, label,
                 type);
}

static void remember_data(gen_nodes *nodes, const gen_node *node)
{
    nodes->recent[nodes->recent_next].id = node->id;
    nodes->recent[nodes->recent_next].kind = node->kind;
    nodes->recent_next = (nodes->recent_next + 1) % RECENT_DATA;
    if (nodes->recent_len < RECENT_DATA)
        nodes->recent_len++;
}

/* A data node is created by the latest calculation and returned by the
 * latest workflow, some of the time. */
static void link_data(gen_nodes *nodes, const gen_node *node)
{
    const char *port = kinds[node->kind].port;

    if (nodes->last_calc_id > 0 && gen_rng_below(&nodes->rng, 100) < 60)
        add_link(nodes, nodes->last_calc_id, node->id, port, "create");
    if (nodes->last_work_id > 0 && gen_rng_below(&nodes->rng, 100) < 30)
        add_link(nodes, nodes->last_work_id, node->id, port, "return");
    remember_data(nodes, node);
}

/* A process takes 1-4 of the most recent data nodes as inputs and is
 * called by the latest workflow, some of the time. */
static void link_process(gen_nodes *nodes, const gen_node *node)
{
    const gen_kind *kind = &kinds[node->kind];
    const bool calc = kind->role == ROLE_CALC;
    const unsigned want = 1 + gen_rng_below(&nodes->rng, 4);

    for (unsigned i = 0; i < want && i < nodes->recent_len; i++) {
        const unsigned slot = (nodes->recent_next + RECENT_DATA - 1 - i) % RECENT_DATA;
        char label[64];

        const char *port = kinds[nodes->recent[slot].kind].port;

        if (i == 0)
            snprintf(label, sizeof(label), "%s", port);
        else
            snprintf(label, sizeof(label), "%s_%u", port, i);
        add_link(nodes, nodes->recent[slot].id, node->id, label,
                 calc ? "input_calc" : "input_work");
    }
    if (nodes->last_work_id > 0 && gen_rng_below(&nodes->rng, 100) < (calc ? 70u : 30u))
        add_link(nodes, nodes->last_work_id, node->id, "CALL", calc ? "call_calc" : "call_work");
    if (calc)
        nodes->last_calc_id = node->id;
    else
        nodes->last_work_id = node->id;
}

static void add_logs(gen_nodes *nodes, const gen_node *node)
{
    static const char *const levels[] = {"REPORT", "REPORT", "REPORT", "WARNING", "ERROR"};
    const gen_kind *kind = &kinds[node->kind];
    const unsigned count = 1 + gen_rng_below(&nodes->rng, 3);
    int64_t at = node->ctime_us;
    char uuid[37];

    for (unsigned i = 0; i < count; i++) {
        at += gen_rng_span(&nodes->rng, US_PER_S, 60 * US_PER_S);
        gen_uuid4(uuid, &nodes->rng);
        gen_buf_addf(&nodes->logs, "%s\t", uuid);
        gen_buf_add_timestamp(&nodes->logs, at);
        gen_buf_addf(&nodes->logs,
                     "\taiida.orm.nodes.%s\t%s\t%" PRId64 "\t[%" PRId64 "|%s|run_process]: "
                     "iteration #%u of %s\t{\"lineno\": %u, \"funcName\": \"report\", "
                     "\"objpk\": %" PRId64 ", \"objuuid\": \"%s\"}\n",
                     kind->node_type, levels[gen_rng_below(&nodes->rng, 5)], node->id, node->id,
                     kind->process_label, i + 1, word(&nodes->rng),
                     10 + gen_rng_below(&nodes->rng, 500), node->id, node->uuid);
    }
}

static void add_comment(gen_nodes *nodes, const gen_node *node)
{
    char uuid[37];

    gen_uuid4(uuid, &nodes->rng);
    gen_buf_addf(&nodes->comments, "%s\t%" PRId64 "\t", uuid, node->id);
    gen_buf_add_timestamp(&nodes->comments, node->mtime_us);
    gen_buf_addc(&nodes->comments, '\t');
    gen_buf_add_timestamp(&nodes->comments, node->mtime_us);
    gen_buf_addf(&nodes->comments, "\t%" PRId64 "\t", nodes->config.user_id);
    gen_buf_add_copy_text(&nodes->comments, "checked: looks converged\nsee the \"bands\" plot");
    gen_buf_addc(&nodes->comments, '\n');
}

static void add_side_rows(gen_nodes *nodes, const gen_node *node)
{
    const enum gen_role role = kinds[node->kind].role;

    if (role == ROLE_DATA)
        link_data(nodes, node);
    else
        link_process(nodes, node);
    if (gen_rng_below(&nodes->rng, 100) < 10)
        gen_buf_addf(&nodes->members, "%" PRId64 "\t%" PRId64 "\n", nodes->config.group_id,
                     node->id);
    if (role != ROLE_DATA && gen_rng_below(&nodes->rng, 100) < 25)
        add_logs(nodes, node);
    if (gen_rng_below(&nodes->rng, 1000) < 5)
        add_comment(nodes, node);
}

void gen_nodes_next(gen_nodes *nodes, gen_node *out, gen_buf *row)
{
    gen_rng *rng = &nodes->rng;

    out->id = nodes->config.first_id + nodes->index;
    gen_uuid4(out->uuid, rng);
    out->kind = pick_kind(rng);
    out->ctime_us = node_ctime(nodes);
    out->mtime_us = node_mtime(nodes, out->ctime_us);
    out->has_folder = gen_rng_below(rng, 100) < kinds[out->kind].folder_pct;
    out->seed = gen_mix(nodes->config.seed, (uint64_t)out->id);
    add_node_row(nodes, out, row);
    add_side_rows(nodes, out);
    nodes->index++;
}
