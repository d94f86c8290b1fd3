/*
 * fuzz_s3_list.c - libFuzzer target for the reader of ListObjectsV2 answers (catalog/s3_http.c),
 * the one XML a bucket sends back to be parsed.
 *
 * Properties checked (a violation aborts): the reader returns 0 or ST_ERR_REMOTE; on success
 * every key is a NUL-terminated string, and a continuation token, when there is one, is not
 * empty; on failure no token is returned; nothing crashes, leaks or reads out of bounds.
 */
#include "catalog/s3_http.h"
#include "common/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **keys = NULL;
	size_t count = 0;
	char *token = NULL;
	int rc = s3_parse_list((const char *)data, size, &keys, &count, &token);
	if (rc != 0 && rc != ST_ERR_REMOTE)
		abort();
	if (rc != 0 && token != NULL)
		abort();
	if (token != NULL && token[0] == '\0')
		abort();
	for (size_t i = 0; i < count; i++) {
		if (keys[i] == NULL)
			abort();
		(void)strlen(keys[i]);
		free(keys[i]);
	}
	free(keys);
	free(token);
	st_error_clear();
	return 0;
}
