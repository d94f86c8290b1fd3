/*
 * sha256.c - SHA-256 through libcrypto's EVP interface (see sha256.h).
 */
#include "common/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

/* st_sha256 is never defined: a st_sha256 * is an EVP_MD_CTX * seen from outside this file. */

st_sha256 *st_sha256_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	return (st_sha256 *)ctx;
}

void st_sha256_update(st_sha256 *ctx, const void *data, size_t len)
{
	if (len > 0 && EVP_DigestUpdate((EVP_MD_CTX *)ctx, data, len) != 1)
		abort();
}

void st_sha256_final(char out[ST_SHA256_HEX_SIZE], st_sha256 *ctx)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex((EVP_MD_CTX *)ctx, digest, &len) != 1 || len != 32)
		abort();
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	EVP_MD_CTX_free((EVP_MD_CTX *)ctx);
}

void st_sha256_free(st_sha256 *ctx)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)ctx);
}
