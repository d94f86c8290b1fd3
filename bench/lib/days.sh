# bench/lib/days.sh — the three kinds of day of a nightly database backup, shared by bench/run.sh's
# database part and bench/delta_series.sh:
#
#   day_update DSN K        1% of db_dbnode's rows (id % 100 = K % 100) get a new mtime and
#                           extras, as AiiDA's changes do, and 1% of db_dblog's a longer message
#   day_append DSN ROOT N   N new nodes with their links, logs and comments (strata-genrepo
#                           --mode add; their folders go under ROOT)
#   day_kind K              update, append or nothing: the kind of day K of a series, in turn
#
# Needs GENREPO.
# shellcheck shell=bash

day_update() {
  local dsn=$1 k=$(($2 % 100))
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" \
    -c "UPDATE db_dbnode SET mtime = now(), extras = coalesce(extras, '{}') || '{\"_aiida_hash\": \"changed\"}'
        WHERE id % 100 = $k" \
    -c "UPDATE db_dblog SET message = message || ' (seen)' WHERE id % 100 = $k"
}

day_append() {
  "$GENREPO" --dsn "$1" --root "$2" --nodes "$3" --mode add --quiet >/dev/null
}

day_kind() {
  case $(($1 % 3)) in
    1) echo update ;;
    2) echo append ;;
    *) echo nothing ;;
  esac
}
