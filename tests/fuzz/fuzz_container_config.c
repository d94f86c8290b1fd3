/*
 * fuzz_container_config.c - libFuzzer target for the reader of an AiiDA 2.x container's
 * config.json (scanner/container_format.c), untrusted text from the source and, recorded in a
 * snapshot, from the catalog.
 *
 * Properties checked (a violation aborts): a text that parses gives a container_id of 1 to
 * CONTAINER_ID_MAX letters, digits or '-' (it is written into a restored config.json and
 * compared with the database's setting), a loose_prefix_len within 0..CONTAINER_PREFIX_MAX
 * and a positive pack_size_target; a text that does not parse leaves a one-line ST_ERR_SOURCE
 * message.
 */
#include "common/error.h"
#include "scanner/container_format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	container_config config;
	int rc = container_config_parse(&config, text, "fuzz input");
	if (rc == 0) {
		size_t n = strlen(config.container_id);
		if (n == 0 || n > CONTAINER_ID_MAX ||
		    strspn(config.container_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != n)
			abort();
		if (config.loose_prefix_len < 0 || config.loose_prefix_len > CONTAINER_PREFIX_MAX ||
		    config.pack_size_target <= 0)
			abort();
	} else if (st_error_code() != ST_ERR_SOURCE || strchr(st_error_message(), '\n') != NULL) {
		abort();
	}
	st_error_clear();
	free(text);
	return 0;
}
