/*
 * backend_internal.h - for backend drivers and their tests; not a public API.
 */
#ifndef STRATA_CATALOG_BACKEND_INTERNAL_H
#define STRATA_CATALOG_BACKEND_INTERNAL_H

#include "catalog/backend.h"

struct backend {
	const backend_ops *ops;
	void *driver;
};

/* A backend from a driver; takes ownership of driver (ops->free frees it). */
backend *backend_new(const backend_ops *ops, void *driver);

/* The driver of b when b runs on ops, else NULL (a wrapper recognising its own kind). */
void *backend_driver_of(const backend *b, const backend_ops *ops);

#endif
