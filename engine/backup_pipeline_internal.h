/*
 * backup_pipeline_internal.h - the pipeline's shared state and messages; used by its stages
 * (backup_pipeline.c, backup_reader.c, backup_writer.c) and nothing else.
 */
#ifndef STRATA_ENGINE_BACKUP_PIPELINE_INTERNAL_H
#define STRATA_ENGINE_BACKUP_PIPELINE_INTERNAL_H

#include "engine/backup_pipeline.h"

#include "catalog/catalog.h"
#include "common/budget.h"
#include "common/error.h"
#include "common/queue.h"
#include "common/workers.h"
#include "scanner/source.h"
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>

/* Bound on file data in flight between reading and writing. */
#define PIPELINE_MEMORY_BUDGET ((size_t)32 << 20)
/* Nodes queued ahead of the readers, per reader. */
#define PIPELINE_NODES_PER_READER 4
/* Messages queued ahead of the compressors and of the writer. */
#define PIPELINE_QUEUE_DEPTH 1024

/* A node to read, as queued for the readers. */
typedef struct pipeline_item {
	scan_node node;
	bool held;                /* pipeline_submit_held: compare with the held version first */
	catalog_node_state state; /* the held version, when held */
} pipeline_item;

/* One node's tree, ready for the catalog. */
typedef struct node_message {
	catalog_node node;
	bool replaces;              /* ends the held version of the node first */
	bool withdrawn;             /* and adds none (the node was left) */
	st_hash digest;             /* node.tree_digest points here */
	char uuid[SCAN_UUID_LEN + 1];
	scan_tree tree;             /* owns the strings the entries point at */
	catalog_entry *entries;
	st_hash *chunk_hashes;      /* storage for every chunk list of the node */
} node_message;

typedef enum writer_message_kind { WRITE_OBJECT, WRITE_NODE } writer_message_kind;

typedef struct writer_message {
	writer_message_kind kind;
	union {
		store_object *object; /* holds store_object_size() bytes of the budget */
		node_message *node;
	} u;
} writer_message;

struct backup_pipeline {
	pipeline_config config;
	pipeline_stats *stats;
	st_budget *budget;
	st_queue *node_queue;     /* pipeline_item * */
	st_queue *compress_queue; /* store_object * */
	st_queue *write_queue;    /* writer_message * */
	st_workers *readers;
	st_workers *compressors;
	st_workers *writer;
	atomic_bool aborted;
	pthread_mutex_t error_lock;
	bool has_error;
	st_error first_error; /* the error that stopped the pipeline */
};

/* Stage bodies (st_workers functions taking the pipeline). */
int backup_reader_run(void *pipeline);
int backup_writer_run(void *pipeline);

/* Hands a message to the writer; "backup stopped" (ST_ERR_GENERIC, message freed) when the
 * pipeline stopped. */
int pipeline_send_to_writer(backup_pipeline *p, writer_message_kind kind, void *payload);

/* Tells the config's changed hook that a stage changed what it is doing. */
void pipeline_changed(backup_pipeline *p);

/* Frees obj and gives its bytes back to the budget. */
void pipeline_object_free(backup_pipeline *p, store_object *obj);
void node_message_free(node_message *msg);

#endif
