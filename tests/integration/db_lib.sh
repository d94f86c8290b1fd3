# tests/integration/db_lib.sh — helpers of the database tests (db_*.sh), sourced after lib.sh.
#
#   db_checksums DSN        one line per public table: name, row count, md5 of its rows in
#                           primary-key order (whole-row order when it has no primary key)
#   json_fields JSON KEY... several fields of a JSON object (dotted paths), one per line
#   add_bulk_nodes DSN N    N more db_dbnode rows (no folders) with jsonb attributes and extras,
#                           so that db_dbnode's dump data file is megabytes
#   bulk_profile DSN ROOT   a profile of 200 generated nodes (folders under ROOT) and 12000 bulk
#                           db_dbnode rows: db_dbnode's dump file is ~5 MB, large enough to delta

# shellcheck shell=bash

db_checksums() {
  local dsn=$1 sql
  sql=$(psql -X -At -v ON_ERROR_STOP=1 -d "$dsn" <<'EOF'
SELECT format(
  'SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(t::text, E''\n'' ORDER BY %s)), ''-'') FROM %I.%I t;',
  c.table_name,
  coalesce((SELECT string_agg(format('t.%I', a.attname), ', ' ORDER BY array_position(i.indkey::int2[], a.attnum))
              FROM pg_index i
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
               AND i.indisprimary),
           't::text'),
  c.table_schema, c.table_name)
FROM information_schema.tables c
WHERE c.table_schema = 'public' AND c.table_type = 'BASE TABLE'
ORDER BY c.table_name;
EOF
  ) || fail "could not list the tables of $dsn"
  [[ -z $sql ]] || psql -X -At -v ON_ERROR_STOP=1 -d "$dsn" <<<"$sql" || fail "could not checksum the tables of $dsn"
}

json_fields() {
  local json=$1
  shift
  python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
for key in sys.argv[2:]:
    v = doc
    for part in key.split("."):
        v = v[part]
    print(v if isinstance(v, str) else json.dumps(v))' "$json" "$@"
}

add_bulk_nodes() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$1" -v n="$2" <<'EOF' || fail "could not add $2 rows to db_dbnode"
INSERT INTO db_dbnode (uuid, node_type, process_type, label, description, ctime, mtime,
                       attributes, extras, user_id)
SELECT gen_random_uuid(), 'data.core.dict.Dict.', NULL, 'bulk ' || g, 'row ' || md5(g::text),
       now(), now(),
       jsonb_build_object('a', md5(g::text), 'b', md5((g * 7)::text), 'c', md5((g * 11)::text),
                          'd', md5((g * 19)::text), 'n', g),
       jsonb_build_object('_aiida_hash', md5((g * 13)::text) || md5((g * 17)::text)),
       (SELECT min(id) FROM db_dbuser)
FROM generate_series(1, :n) g;
EOF
}

bulk_profile() {
  note "generating 200 nodes, then 12000 more db_dbnode rows (no folders)"
  "$GENREPO" --dsn "$1" --root "$2" --nodes 200 --size-scale 0.1 --quiet >/dev/null ||
    fail "could not generate the profile"
  add_bulk_nodes "$1" 12000
}
