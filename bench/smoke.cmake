# bench/smoke.cmake — registers the benchmark harness's smoke run with ctest, so that the harness
# cannot rot: bench/run.sh --smoke generates a tiny repository, runs every tool's full and
# incremental backup and restore, proves each restored tree equals the source, runs the database
# part, and fails on any failed step or difference (in well under a minute).
# Included from the top-level CMakeLists.txt, after enable_testing().
#
# Under tests/run.sh it uses the primary test cluster (STRATA_TEST_DSN, read when the test runs);
# without it, bench/run.sh starts and removes a throwaway cluster of its own.
add_test(NAME bench_smoke
  COMMAND bash -c [=[exec bash "$0" --smoke ${STRATA_TEST_DSN:+--dsn "$STRATA_TEST_DSN"}]=]
          ${PROJECT_SOURCE_DIR}/bench/run.sh)
set_tests_properties(bench_smoke PROPERTIES
  LABELS bench
  TIMEOUT 300
  ENVIRONMENT "STRATA=$<TARGET_FILE:strata>;GENREPO=${CMAKE_BINARY_DIR}/bench/strata-genrepo")

# The nightly run at scale, in miniature (bench/nightly_db.sh --smoke): a database of nodes
# without folders, then a run with nothing changed, one node deleted, and new and deleted nodes
# scattered over the id range; fails if a snapshot counts other nodes than the ones changed.
# Needs the primary test cluster (skipped, exit 77, without STRATA_TEST_DSN).
add_test(NAME bench_nightly_smoke
  COMMAND bash -c [=[[[ -n ${STRATA_TEST_DSN:-} ]] || exit 77; exec bash "$0" --smoke --dsn "$STRATA_TEST_DSN"]=]
          ${PROJECT_SOURCE_DIR}/bench/nightly_db.sh)
set_tests_properties(bench_nightly_smoke PROPERTIES
  LABELS bench
  TIMEOUT 300
  SKIP_RETURN_CODE 77
  ENVIRONMENT "STRATA=$<TARGET_FILE:strata>")

# The multi-GiB table bench in miniature (bench/big_table.sh --size-gib 0.01, ~45,000 rows):
# a full backup, a zstd delta after 1% of the rows updated, a restore into a new database;
# fails if a step fails or the restored table differs from the source. Needs the primary test
# cluster (skipped, exit 77, without STRATA_TEST_DSN).
add_test(NAME bench_big_table_smoke
  COMMAND bash -c [=[[[ -n ${STRATA_TEST_DSN:-} ]] || exit 77; exec bash "$0" --size-gib 0.01 --jobs 2 --dsn "$STRATA_TEST_DSN"]=]
          ${PROJECT_SOURCE_DIR}/bench/big_table.sh)
set_tests_properties(bench_big_table_smoke PROPERTIES
  LABELS bench
  TIMEOUT 300
  SKIP_RETURN_CODE 77
  ENVIRONMENT "STRATA=$<TARGET_FILE:strata>")
