/*
 * fuzz_archive_read.c - libFuzzer target for the archive reader (engine/archive.c) and for
 * restore --from-archive (engine/archive_restore.c), whose input is an untrusted archive.
 *
 * Each input is read twice. First through archive_reader_new_memory: every header, every
 * entry's data to its end, and the first entry's data through archive_manifest_parse.
 * Then as a file by archive_restore_run into <scratch>/target, which must end with 0 or a
 * strata error, never a crash.
 *
 * Properties checked (a violation aborts): an entry's name is never NULL; data read never
 * exceeds the buffer; the restore writes nothing into the scratch folder besides the input
 * file and target/ (nothing outside its target), and a restore that succeeds came from an
 * input that has a manifest.
 */
#include "common/error.h"
#include "common/fsutil.h"
#include "engine/archive.h"
#include "engine/archive_restore.h"
#include "engine/archive_verify.h"
#include "engine/export.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PIECE 4096
/* Data read from one input, at most: an archive can claim any size. */
#define FUZZ_DATA_MAX ((size_t)16 << 20)

static void read_all(const uint8_t *data, size_t size)
{
	archive_reader *r = NULL;
	if (archive_reader_new_memory(&r, data, size) != 0)
		return;
	static char buf[FUZZ_PIECE + 1];
	archive_item item;
	size_t total = 0;
	for (int i = 0; archive_reader_next(r, &item) > 0; i++) {
		if (item.name == NULL)
			abort();
		size_t len = 0, got = 0;
		for (size_t n = 1; n > 0 && total < FUZZ_DATA_MAX;) {
			if (archive_reader_data(r, buf + len, FUZZ_PIECE - len, &n) != 0)
				break;
			if (n > FUZZ_PIECE - len)
				abort();
			total += n;
			got += n;
			len = len + n < FUZZ_PIECE ? len + n : 0;
		}
		if (i == 0 && got == len && strcmp(item.name, EXPORT_MANIFEST_NAME) == 0) {
			archive_manifest *m = NULL;
			if (archive_manifest_parse(&m, buf, len) == 0)
				archive_manifest_free(m);
		}
	}
	archive_reader_free(r);
}

static void restore_file(const uint8_t *data, size_t size)
{
	char scratch[] = "/tmp/strata-fuzz-archive-XXXXXX";
	if (mkdtemp(scratch) == NULL)
		abort();
	char input[sizeof scratch + 16], target[sizeof scratch + 16];
	snprintf(input, sizeof input, "%s/input", scratch);
	snprintf(target, sizeof target, "%s/target", scratch);
	FILE *f = fopen(input, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	const archive_restore_options o = {.input = input, .target_root = target};
	archive_restore_result result;
	int rc = archive_restore_run(&o, &result);
	if (rc == 0 && size < 512)
		abort(); /* no tar archive with a manifest is that short */
	DIR *dir = opendir(scratch);
	if (dir == NULL)
		abort();
	for (struct dirent *d; (d = readdir(dir)) != NULL;) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0 && strcmp(d->d_name, "input") != 0 &&
		    strcmp(d->d_name, "target") != 0)
			abort();
	}
	closedir(dir);
	st_remove_tree(scratch);
	st_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size);
	restore_file(data, size);
	st_error_clear();
	return 0;
}
