# bench/lib/retention.sh — the retention part of bench/run.sh: daily snapshots, then half of them
# forgotten and pruned, strata beside restic on the same history.
#
#   retention_part K     K more daily rounds on top of the full and incremental backups (each:
#                        0.5% of the nodes deleted with their folders, 1% added, one backup by
#                        strata and by restic), then the odd-numbered half of all snapshots is
#                        forgotten and pruned in one command by each tool, timed
#                        (`strata forget --prune ID...`, `restic forget --prune ID...`); the
#                        destination's size before and after; the newest snapshot restored by
#                        each (untimed) and checked against the source
#   report_retention     its table
#
# Results: SEC/KIB[prune.TOOL], SIZE[retention.before.TOOL], SIZE[retention.after.TOOL],
# VERIFY[prune.TOOL], STATE[prune.TOOL].
#
# shellcheck shell=bash
# shellcheck disable=SC2034  # the results are read by the report

RETENTION_TOOLS=(strata restic)
RETENTION_SNAPSHOTS=0

# Deletes the nodes with id % 200 = $1 (0.5%) from the database, with their links, and their
# folders, as AiiDA's `verdi node delete` does.
retention_delete_nodes() {
  local round=$1 uuid
  while read -r uuid; do
    [[ -n $uuid ]] || continue
    rm -rf "${SRC_ROOT:?}/repository/node/${uuid:0:2}/${uuid:2:2}/${uuid:4}"
    # as AiiDA does, the shard folders left empty go too
    rmdir --ignore-fail-on-non-empty "$SRC_ROOT/repository/node/${uuid:0:2}/${uuid:2:2}" 2>/dev/null || true
    rmdir --ignore-fail-on-non-empty "$SRC_ROOT/repository/node/${uuid:0:2}" 2>/dev/null || true
  done < <(psql -X -At -v ON_ERROR_STOP=1 -d "$SRC_DSN" -c "SELECT uuid FROM db_dbnode WHERE id % 200 = $round")
  psql -X -q -v ON_ERROR_STOP=1 -d "$SRC_DSN" >/dev/null <<SQL
BEGIN;
CREATE TEMP TABLE gone AS SELECT id FROM db_dbnode WHERE id % 200 = $round;
DELETE FROM db_dblink WHERE input_id IN (SELECT id FROM gone) OR output_id IN (SELECT id FROM gone);
DELETE FROM db_dbgroup_dbnodes WHERE dbnode_id IN (SELECT id FROM gone);
DELETE FROM db_dblog WHERE dbnode_id IN (SELECT id FROM gone);
DELETE FROM db_dbcomment WHERE dbnode_id IN (SELECT id FROM gone);
DELETE FROM db_dbnode WHERE id IN (SELECT id FROM gone);
COMMIT;
SQL
}

# The ids of a tool's snapshots, oldest first, one per line.
retention_snapshot_ids() {
  case $1 in
    strata) "$STRATA" snapshots --dest "$2" --json |
      python3 -c 'import json, sys; print("\n".join(str(s["id"]) for s in json.load(sys.stdin)["snapshots"]))' ;;
    restic) restic snapshots --repo "$2" --json |
      python3 -c 'import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: s["time"]): print(s["short_id"])' ;;
  esac
}

retention_restore() {
  case $1 in
    strata) "$STRATA" restore --dest "$2" --to-repository "$3" --jobs "$JOBS" ;;
    restic) restic restore latest --repo "$2" --target "$3" ;;
  esac
}

retention_part() {
  local rounds=$1 r t active=()
  if ((rounds == 0)); then
    NOTES+=("retention part skipped (--prune-rounds 0)")
    return 0
  fi
  for t in "${RETENTION_TOOLS[@]}"; do
    [[ ${STATE[incr.$t]:-} == ok ]] && active+=("$t")
  done
  if ((${#active[@]} == 0)); then
    NOTES+=("retention part skipped: neither strata nor restic ran")
    return 0
  fi
  for ((r = 1; r <= rounds; r++)); do
    log "retention: day $r of $rounds: 0.5% of the nodes deleted, 1% added"
    retention_delete_nodes "$r"
    generate add $(((NODES + 99) / 100)) >/dev/null
    for t in "${active[@]}"; do
      "${t}_backup" "day$r" "$WORK/dest/$t" || { fail_step "prune.$t" FAILED; return 0; }
    done
  done
  RETENTION_SNAPSHOTS=$((rounds + 2))
  tree_manifest "$SRC_ROOT/repository" "$WORK/manifests/source.retention" || die "could not list the source"
  local ids gone target
  for t in "${active[@]}"; do
    ids=$(retention_snapshot_ids "$t" "$WORK/dest/$t") || { fail_step "prune.$t" FAILED; continue; }
    gone=$(awk 'NR % 2 == 1' <<<"$ids" | tr '\n' ' ')
    SIZE[retention.before.$t]=$(du_bytes "$WORK/dest/$t")
    log "retention: $t forget --prune of snapshots $gone"
    # shellcheck disable=SC2086  # one argument per id
    if [[ $t == strata ]]; then
      timed "prune.$t" "$STRATA" forget --dest "$WORK/dest/$t" --prune --json $gone
    else
      timed "prune.$t" restic forget --repo "$WORK/dest/$t" --prune $gone
    fi || { fail_step "prune.$t" FAILED; continue; }
    SIZE[retention.after.$t]=$(du_bytes "$WORK/dest/$t")
    STATE[prune.$t]=ok
    log "  ${SEC[prune.$t]} s, peak $(cell_peak "prune.$t") MiB, $(human "${SIZE[retention.before.$t]}")" \
      "-> $(human "${SIZE[retention.after.$t]}"); verifying the newest snapshot"
    target=$WORK/restore/retention.$t
    if retention_restore "$t" "$WORK/dest/$t" "$target" >"$LOGS/retention.restore.$t.log" 2>&1 &&
      tree_manifest "$target/repository" "$WORK/manifests/retention.$t" &&
      same_manifest "$WORK/manifests/source.retention" "$WORK/manifests/retention.$t"; then
      VERIFY[prune.$t]=yes
      rm -rf "$target"
    else
      VERIFY[prune.$t]=MISMATCH
      fail_step "prune.$t" MISMATCH
    fi
  done
}

report_retention() {
  ((RETENTION_SNAPSHOTS > 0)) || return 0
  cat <<EOF

## Retention: forget half of $RETENTION_SNAPSHOTS daily snapshots and prune, in one command

Each day deleted 0.5% of the nodes and added 1%; the odd-numbered snapshots are forgotten.

| tool | command | wall s | peak MiB | dest MiB before | dest MiB after | x strata | newest snapshot restores |
|---|---|---:|---:|---:|---:|---:|---|
EOF
  local t how
  for t in "${RETENTION_TOOLS[@]}"; do
    how="$t forget --prune ID..."
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$how" "$(cell_time "prune.$t")" \
      "$(cell_peak "prune.$t")" "$(mib "${SIZE[retention.before.$t]:-}")" "$(mib "${SIZE[retention.after.$t]:-}")" \
      "$(cell_ratio "prune.$t" prune.strata)" "${VERIFY[prune.$t]:--}"
  done
}
