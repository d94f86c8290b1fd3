# bench/lib/report.sh — the markdown report of bench/run.sh (printed on stdout and written to
# WORK/results.md):
#
#   report                     the whole report, from the globals the run filled in
#
# Columns: wall s = elapsed seconds of the step (GNU time %e); peak MiB = peak resident memory of
# the largest process of the step (GNU time %M); dest MiB = du -sb of the destination after the
# step; x strata = this row's wall time / strata's for the same step (2.00x: twice as slow as
# strata; below 1: faster).
#
# shellcheck shell=bash

# gen_field LINE KEY — a field of strata-genrepo's summary line (nodes=N files=M ...).
gen_field() {
  sed -nE "s/.*(^| )$2=([^ ]*).*/\\2/p" <<<"$1"
}

# cell_time KEY — the wall time of a step, or its state when it did not succeed.
cell_time() {
  local state=${STATE[$1]:-skipped}
  if [[ $state == ok || $state == MISMATCH ]]; then
    echo "${SEC[$1]}"
  else
    echo "$state"
  fi
}

cell_peak() {
  if [[ ${STATE[$1]:-} == ok || ${STATE[$1]:-} == MISMATCH ]]; then
    awk -v k="${KIB[$1]}" 'BEGIN { printf "%.0f\n", k / 1024 }'
  else
    echo -
  fi
}

# cell_ratio KEY STRATA_KEY — this step's time relative to strata's.
cell_ratio() {
  if [[ ${STATE[$1]:-} == ok || ${STATE[$1]:-} == MISMATCH ]] && [[ ${STATE[$2]:-} == ok ]]; then
    ratio "${SEC[$1]}" "${SEC[$2]}"
  else
    echo -
  fi
}

report_header() {
  local nodes0 nodes1 files0 files1 bytes0 bytes1
  nodes0=$(gen_field "$GEN_CREATE" nodes)
  files0=$(gen_field "$GEN_CREATE" files)
  bytes0=$(gen_field "$GEN_CREATE" bytes)
  nodes1=$(gen_field "$GEN_ADD" nodes)
  files1=$(gen_field "$GEN_ADD" files)
  bytes1=$(gen_field "$GEN_ADD" bytes)
  cat <<EOF
# strata benchmark

\`\`\`
$CMDLINE
\`\`\`

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r); work directory on $(df -T "$WORK" | awk 'NR == 2 { print $2 }')
- cache: $CACHE_NOTE
- repository: $nodes0 nodes, $files0 files, $(gen_field "$GEN_CREATE" dirs) directories, $(gen_field "$GEN_CREATE" symlinks) symlinks, $(human "$bytes0") (generated in $(gen_field "$GEN_CREATE" seconds) s, --size-scale $SIZE_SCALE); incremental: +$nodes1 nodes, +$files1 files, +$(human "$bytes1")
- jobs: $JOBS (strata --jobs, pg_dump/pg_restore -j)
- versions: $(for t in "${TOOLS[@]}"; do printf '%s %s; ' "$t" "$(tool_version "$t")"; done)PostgreSQL $(pg_dump --version | awk '{ print $3 }')
EOF
}

report_full() {
  cat <<EOF

## Files: full backup of $(gen_field "$GEN_CREATE" files) files

| tool | wall s | peak MiB | dest MiB | x strata |
|---|---:|---:|---:|---:|
| read floor: \`find \| xargs -0 -P2 cat\` | $(cell_time floor) | $(cell_peak floor) | - | $(cell_ratio floor full.strata) |
EOF
  local t
  for t in "${TOOLS[@]}"; do
    printf '| %s | %s | %s | %s | %s |\n' "$t" "$(cell_time "full.$t")" "$(cell_peak "full.$t")" \
      "$(mib "${SIZE[full.$t]:-}")" "$(cell_ratio "full.$t" full.strata)"
  done
}

report_incr() {
  cat <<EOF

## Files: incremental backup after adding $(gen_field "$GEN_ADD" nodes) nodes ($(gen_field "$GEN_ADD" files) files)

| tool | wall s | peak MiB | dest MiB | growth MiB | x strata |
|---|---:|---:|---:|---:|---:|
EOF
  local t growth full incr
  for t in "${TOOLS[@]}"; do
    growth=-
    full=${SIZE[full.$t]:-}
    incr=${SIZE[incr.$t]:-}
    if [[ $incr =~ ^[0-9]+$ && $full =~ ^[0-9]+$ ]]; then
      growth=$(mib $((incr - full)))
    fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$(cell_time "incr.$t")" \
      "$(cell_peak "incr.$t")" "$(mib "${SIZE[incr.$t]:-}")" "$growth" \
      "$(cell_ratio "incr.$t" incr.strata)"
  done
}

report_restore() {
  cat <<EOF

## Files: full restore into an empty directory

| tool | wall s | peak MiB | x strata | restored tree equals the source |
|---|---:|---:|---:|---|
EOF
  local t
  for t in "${TOOLS[@]}"; do
    printf '| %s | %s | %s | %s | %s |\n' "$t" "$(cell_time "restore.$t")" \
      "$(cell_peak "restore.$t")" "$(cell_ratio "restore.$t" restore.strata)" "${VERIFY[$t]:--}"
  done
  printf '| %s | %s | %s | %s | %s |\n' 'strata export \| tar -x' "$(cell_time restore.export_tar)" \
    "$(cell_peak restore.export_tar)" "$(cell_ratio restore.export_tar restore.strata)" "${VERIFY[export_tar]:--}"
  printf '\n## Files: one node folder (%s) restored from the destination\n\n' "${ONE_NODE:-none}"
  printf '| tool | command | wall s | peak MiB | restored folder equals the source |\n|---|---|---:|---:|---|\n'
  local how
  for t in strata restic borg; do
    case $t in
      strata) how="strata restore --node UUID" ;;
      restic) how="restic restore --include PATH" ;;
      *) how="borg extract ARCHIVE PATH" ;;
    esac
    printf '| %s | %s | %s | %s | %s |\n' "$t" "$how" "$(cell_time "one_node.$t")" "$(cell_peak "one_node.$t")" \
      "${VERIFY[one_node.$t]:--}"
  done
}

report_database() {
  ((DB_ROUNDS > 0)) || return 0
  local full=${SIZE[db.dump.pg_dump]:-}
  cat <<EOF

## Database: full dump and restore ($(gen_field "$GEN_CREATE" nodes) + $(gen_field "$GEN_ADD" nodes) nodes)

| step | tool | wall s | peak MiB | stored MiB | x strata |
|---|---|---:|---:|---:|---:|
| dump | \`pg_dump -Fd -j $JOBS -Z 6\` | $(cell_time db.dump.pg_dump) | $(cell_peak db.dump.pg_dump) | $(mib "$full") | $(cell_ratio db.dump.pg_dump db.dump.strata) |
| dump | \`strata backup --database-only\` | $(cell_time db.dump.strata) | $(cell_peak db.dump.strata) | $(mib "${SIZE[db.dump.strata]:-}") | $(cell_ratio db.dump.strata db.dump.strata) |
EOF
  if [[ -n ${STATE[db.dump.pgbackrest]:-} ]]; then
    printf '| dump | pgBackRest full (whole cluster) | %s | %s | %s | %s |\n' \
      "$(cell_time db.dump.pgbackrest)" "$(cell_peak db.dump.pgbackrest)" \
      "$(mib "${SIZE[db.dump.pgbackrest]:-}")" "$(cell_ratio db.dump.pgbackrest db.dump.strata)"
  fi
  cat <<EOF
| restore | \`pg_restore -j $JOBS\` into a new database | $(cell_time db.restore.pg_restore) | $(cell_peak db.restore.pg_restore) | - | $(cell_ratio db.restore.pg_restore db.restore.strata) |
| restore | \`strata restore --to-dsn\` a new database | $(cell_time db.restore.strata) | $(cell_peak db.restore.strata) | - | $(cell_ratio db.restore.strata db.restore.strata) |

## Database: a series of days (1% of rows updated, 1% new nodes, nothing changed, in turn)

Stored per day, against a full compressed dump (\`pg_dump -Fd -Z 6\`: $(human "$full")).
strata's first full database backup stored $(human "${SIZE[db.dump.strata]:-}"). "pg_dump -Fc
kept" is one \`pg_dump -Fc\` file a day kept by hand: each day stores a whole dump.

EOF
  if ((PGBR == 1)); then
    echo "| day | kind | db_dbnode rows | strata s | strata stored | strata delta files | % of a full dump | pg_dump -Fc s | pg_dump -Fc kept | pgBackRest incr s | pgBackRest stored | % of a full dump |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  else
    echo "| day | kind | db_dbnode rows | strata s | strata stored | strata delta files | % of a full dump | pg_dump -Fc s | pg_dump -Fc kept |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
  fi
  local k line
  for ((k = 1; k <= DB_ROUNDS; k++)); do
    line="| $k | ${KIND[$k]:--} | ${ROWS[$k]:--} | $(cell_time "round.$k.strata") | $(human "${SIZE[round.$k.strata]:-}") | ${DELTAS[$k]:--} | $(percent "${SIZE[round.$k.strata]:-}" "$full") |"
    line+=" $(cell_time "round.$k.pg_dump_fc") | $(human "${SIZE[round.$k.pg_dump_fc]:-}") |"
    if ((PGBR == 1)); then
      line+=" $(cell_time "round.$k.pgbackrest") | $(human "${SIZE[round.$k.pgbackrest]:-}") | $(percent "${SIZE[round.$k.pgbackrest]:-}" "$full") |"
    fi
    echo "$line"
  done
  local t
  printf '\nStored over the %s days:' "$DB_ROUNDS"
  for t in strata pg_dump_fc pgbackrest; do
    [[ $t != pgbackrest ]] || ((PGBR == 1)) || continue
    printf ' %s %s;' "$t" "$(human "$(series_total "$t")")"
  done
  echo
  if [[ -n $PGBR_NOTE ]]; then
    printf '\n%s\n' "$PGBR_NOTE"
  fi
}

# series_total TOOL — the bytes TOOL stored over the database series' days.
series_total() {
  local k sum=0 v
  for ((k = 1; k <= DB_ROUNDS; k++)); do
    v=${SIZE[round.$k.$1]:-0}
    [[ $v =~ ^[0-9]+$ ]] && sum=$((sum + v))
  done
  echo "$sum"
}

percent() {
  if [[ ${1:-} =~ ^[0-9]+$ && ${2:-} =~ ^[0-9]+$ ]] && (($2 > 0)); then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%\n", 100 * a / b }'
  else
    echo -
  fi
}

report_notes() {
  cat <<EOF

## Notes

- wall s: elapsed time of the step; peak MiB: peak RSS of the step's largest process; dest MiB:
  \`du -sb\` of the destination; x strata: wall time / strata's wall time for the same step.
- Each step ran on its own, one after the other (cache: see above). rsync and tar do not fsync
  what they write. Compare ratios within one run only: this machine's disk and load vary.
- Logs of every step (command line, stdout, stderr, timing): $LOGS
EOF
  local n
  for n in "${NOTES[@]}"; do
    printf -- '- %s\n' "$n"
  done
}

report() {
  report_header
  if ((DB_ONLY == 0)); then
    report_full
    report_incr
    report_restore
    report_retention
  fi
  report_database
  report_notes
}
