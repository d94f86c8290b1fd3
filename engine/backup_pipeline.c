/*
 * backup_pipeline.c - the pipeline's queues, the compressors, start, finish and abort.
 */
#include "engine/backup_pipeline_internal.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdlib.h>

static void close_all_queues(backup_pipeline *p)
{
	atomic_store(&p->aborted, true);
	st_queue_close(p->node_queue);
	st_queue_close(p->compress_queue);
	st_queue_close(p->write_queue);
}

/* Runs in the thread that failed first in its stage: keeps the pipeline's first error. */
static void on_stage_error(void *arg)
{
	backup_pipeline *p = arg;
	pthread_mutex_lock(&p->error_lock);
	if (!p->has_error) {
		st_error_save(&p->first_error);
		p->has_error = true;
	}
	pthread_mutex_unlock(&p->error_lock);
	close_all_queues(p);
}

void pipeline_object_free(backup_pipeline *p, store_object *obj)
{
	if (obj == NULL)
		return;
	st_budget_give(p->budget, store_object_size(obj));
	store_object_free(obj);
}

void node_message_free(node_message *msg)
{
	if (msg == NULL)
		return;
	scan_tree_release(&msg->tree);
	free(msg->entries);
	free(msg->chunk_hashes);
	free(msg);
}

static void free_writer_message(backup_pipeline *p, writer_message *msg)
{
	if (msg->kind == WRITE_OBJECT)
		pipeline_object_free(p, msg->u.object);
	else
		node_message_free(msg->u.node);
	free(msg);
}

void pipeline_changed(backup_pipeline *p)
{
	if (p->config.changed != NULL)
		p->config.changed(p->config.changed_ctx);
}

int pipeline_send_to_writer(backup_pipeline *p, writer_message_kind kind, void *payload)
{
	writer_message *msg = st_malloc(sizeof *msg);
	msg->kind = kind;
	if (kind == WRITE_OBJECT)
		msg->u.object = payload;
	else
		msg->u.node = payload;
	if (st_queue_push(p->write_queue, msg))
		return 0;
	free_writer_message(p, msg);
	return st_error_set(ST_ERR_GENERIC, "backup stopped");
}

static int compressor_run(void *arg)
{
	backup_pipeline *p = arg;
	void *item;
	int rc = 0;
	while (rc == 0 && st_queue_pop(p->compress_queue, &item)) {
		if ((rc = store_object_encode(item)) != 0) {
			pipeline_object_free(p, item);
			break;
		}
		/* A stopped pipeline already holds the error that stopped it. */
		if (pipeline_send_to_writer(p, WRITE_OBJECT, item) != 0)
			break;
	}
	store_thread_release();
	return rc;
}

int pipeline_start(backup_pipeline **out, const pipeline_config *config, pipeline_stats *stats)
{
	backup_pipeline *p = st_calloc(1, sizeof *p);
	p->config = *config;
	p->stats = stats;
	p->budget = st_budget_new(PIPELINE_MEMORY_BUDGET);
	p->node_queue = st_queue_new((size_t)config->io_threads * PIPELINE_NODES_PER_READER);
	p->compress_queue = st_queue_new(PIPELINE_QUEUE_DEPTH);
	p->write_queue = st_queue_new(PIPELINE_QUEUE_DEPTH);
	atomic_init(&p->aborted, false);
	pthread_mutex_init(&p->error_lock, NULL);
	int rc = st_workers_start(&p->writer, 1, backup_writer_run, on_stage_error, p);
	if (rc == 0)
		rc = st_workers_start(&p->compressors, config->cpu_threads, compressor_run, on_stage_error, p);
	if (rc == 0)
		rc = st_workers_start(&p->readers, config->io_threads, backup_reader_run, on_stage_error, p);
	if (rc != 0) {
		st_error_prefix("unable to start the backup's threads");
		pipeline_abort(p);
		return rc;
	}
	*out = p;
	return 0;
}

static int submit(backup_pipeline *p, const scan_node *node, const catalog_node_state *held)
{
	pipeline_item *item = st_calloc(1, sizeof *item);
	item->node = *node;
	item->held = held != NULL;
	if (held != NULL)
		item->state = *held;
	if (st_queue_push(p->node_queue, item))
		return 0;
	free(item);
	return st_error_set(ST_ERR_GENERIC, "backup stopped");
}

int pipeline_submit(backup_pipeline *p, const scan_node *node)
{
	return submit(p, node, NULL);
}

int pipeline_submit_held(backup_pipeline *p, const scan_node *node, const catalog_node_state *held)
{
	atomic_fetch_add(&p->stats->nodes_rechecked, 1);
	return submit(p, node, held);
}

/* Joins the stages in order; returns the error that stopped the pipeline, if any. */
static int join_stages(backup_pipeline *p)
{
	st_queue_close(p->node_queue);
	if (p->readers) {
		st_workers_join(p->readers);
		atomic_store(&p->stats->readers_done, true);
		pipeline_changed(p);
	}
	p->readers = NULL;
	st_queue_close(p->compress_queue);
	if (p->compressors)
		st_workers_join(p->compressors);
	p->compressors = NULL;
	st_queue_close(p->write_queue);
	if (p->writer)
		st_workers_join(p->writer);
	p->writer = NULL;
	if (p->has_error)
		return st_error_restore(&p->first_error);
	return 0;
}

static void free_pipeline(backup_pipeline *p)
{
	void *item;
	while (st_queue_pop(p->node_queue, &item))
		free(item);
	while (st_queue_pop(p->compress_queue, &item))
		pipeline_object_free(p, item);
	while (st_queue_pop(p->write_queue, &item))
		free_writer_message(p, item);
	st_queue_free(p->node_queue);
	st_queue_free(p->compress_queue);
	st_queue_free(p->write_queue);
	st_budget_free(p->budget);
	pthread_mutex_destroy(&p->error_lock);
	free(p);
}

int pipeline_finish(backup_pipeline *p)
{
	int rc = join_stages(p);
	if (rc == 0 && atomic_load(&p->aborted))
		rc = st_error_set(ST_ERR_GENERIC, "backup stopped");
	free_pipeline(p);
	return rc;
}

void pipeline_abort(backup_pipeline *p)
{
	st_error saved;
	st_error_save(&saved);
	close_all_queues(p);
	join_stages(p);
	free_pipeline(p);
	st_error_restore(&saved);
}
