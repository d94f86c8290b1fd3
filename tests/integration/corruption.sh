#!/usr/bin/env bash
# corruption: damage done to a destination is found and reported, never turned into wrong data.
#   - one byte flipped in the middle of a pack: check --read-data exits 8 with a 'strata: check:'
#     line naming the pack; restore exits 8 with one error line and leaves no file whose
#     content differs from the source;
#   - a truncated pack: check (even without --read-data) exits 8 naming the pack; restore 8;
#   - a missing pack: check exits 8 naming it; restore 8;
#   - the first 100 bytes of catalog.db overwritten: snapshots, check, restore and backup exit 8
#     with one error line naming the catalog.
# Each case works on its own copy of a healthy destination, which stays healthy.
source "$(dirname "$0")/lib.sh"

DSN=$(new_db corruption)
SRC=$(new_tmp)
WORK=$(new_tmp)
GOOD=$WORK/good

note "generating 250 nodes"
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 250 --quiet >/dev/null
assert_exit 0 "init" -- "$STRATA" init --dest "$GOOD"
assert_exit 0 "backup" -- "$STRATA" backup --dest "$GOOD" --dsn "$DSN" --repository "$SRC"
assert_exit 0 "check --read-data of the healthy destination" -- "$STRATA" check --dest "$GOOD" --read-data

packs=("$GOOD"/packs/*.pack)
[[ -e ${packs[0]} ]] || fail "no pack in the destination"
# The biggest pack (there should be one only, holding every file).
pack_name=$(for p in "${packs[@]}"; do stat -c '%s %n' "$p"; done | sort -n | tail -n 1 | sed 's|.*/||')
pack_id=${pack_name%.pack}
pack_size=$(stat -c %s "$GOOD/packs/$pack_name")
((pack_size > 100000)) || fail "pack $pack_name is only $pack_size bytes"
note "pack $pack_name, $pack_size bytes"

# fresh_copy NAME — a copy of the healthy destination; echoes its path.
fresh_copy() {
  rm -rf "${WORK:?}/$1"
  cp -a "$GOOD" "$WORK/$1"
  printf '%s\n' "$WORK/$1"
}

# No file that a failed restore left behind may differ from the source (an empty or partial
# file at a final path counts as a wrong file). Problems are collected in DEFERRED and reported
# at the end, so that the other cases still run.
DEFERRED=()
assert_no_wrong_file() { # TARGET WHAT
  local rel n=0 bad=0 first=
  [[ -d $1 ]] || return 0
  while IFS= read -r -d '' rel; do
    n=$((n + 1))
    if [[ ! -f $SRC/$rel ]] || ! cmp -s "$SRC/$rel" "$1/$rel"; then
      bad=$((bad + 1))
      [[ -n $first ]] || first="'${rel#./}' ($(stat -c '%s bytes, mode %a' "$1/$rel"); source: $(stat -c '%s bytes, mode %a' "$SRC/$rel" 2>/dev/null || echo absent))"
    fi
  done < <(cd "$1" && find . -type f -print0)
  if ((bad > 0)); then
    DEFERRED+=("$2: restore left $bad of $n file(s) whose content differs from the source, e.g. $first")
    note "$2: $bad wrong file(s) left behind (reported at the end)"
  else
    note "$2: the $n file(s) left in the target are correct"
  fi
}

note "case 1: one byte flipped in the middle of the pack"
D=$(fresh_copy flipped)
flip_byte "$D/packs/$pack_name" $((pack_size / 2))
"$STRATA" check --dest "$D" >/dev/null 2>&1 || note "check without --read-data already finds it"
assert_exit 8 "check --read-data of a flipped byte" -- "$STRATA" check --dest "$D" --read-data
assert_contains "$LAST_STDERR" "strata: check: " "check --read-data problem line"
grep '^strata: check: ' <<<"$LAST_STDERR" | grep -q "$pack_id" ||
  fail "no 'strata: check:' line names pack $pack_id: $LAST_STDERR"
assert_exit 8 "restore from a pack with a flipped byte" -- "$STRATA" restore --dest "$D" \
  --to-repository "$WORK/restore-flipped"
assert_one_error "restore from a pack with a flipped byte"
assert_no_wrong_file "$WORK/restore-flipped" "restore from a pack with a flipped byte"

note "case 2: truncated pack"
D=$(fresh_copy truncated)
truncate -s $((pack_size / 2)) "$D/packs/$pack_name"
assert_exit 8 "check of a truncated pack" -- "$STRATA" check --dest "$D"
grep '^strata: check: ' <<<"$LAST_STDERR" | grep -q "$pack_id" ||
  fail "no 'strata: check:' line names the truncated pack $pack_id: $LAST_STDERR"
assert_exit 8 "check --read-data of a truncated pack" -- "$STRATA" check --dest "$D" --read-data
assert_exit 8 "restore from a truncated pack" -- "$STRATA" restore --dest "$D" \
  --to-repository "$WORK/restore-truncated"
assert_one_error "restore from a truncated pack"
assert_no_wrong_file "$WORK/restore-truncated" "restore from a truncated pack"

note "case 3: missing pack"
D=$(fresh_copy missing)
rm "$D/packs/$pack_name"
assert_exit 8 "check with a missing pack" -- "$STRATA" check --dest "$D"
grep '^strata: check: ' <<<"$LAST_STDERR" | grep -q "$pack_id" ||
  fail "no 'strata: check:' line names the missing pack $pack_id: $LAST_STDERR"
assert_exit 8 "restore with a missing pack" -- "$STRATA" restore --dest "$D" \
  --to-repository "$WORK/restore-missing"
assert_one_error "restore with a missing pack"

note "case 4: catalog.db with a garbage header"
D=$(fresh_copy catalog)
python3 - "$D/catalog.db" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.write(bytes((i * 37 + 11) % 256 for i in range(100)))
EOF
assert_exit 8 "snapshots with a damaged catalog" -- "$STRATA" snapshots --dest "$D"
assert_one_error "snapshots with a damaged catalog"
assert_contains "$LAST_STDERR" "catalog" "snapshots error names the catalog"
assert_exit 8 "snapshots --json with a damaged catalog" -- "$STRATA" snapshots --dest "$D" --json
assert_one_error "snapshots --json with a damaged catalog"
assert_exit 8 "check with a damaged catalog" -- "$STRATA" check --dest "$D"
assert_contains "$LAST_STDERR" "catalog" "check error names the catalog"
assert_eq 1 "$(grep -c '^strata: error: ' <<<"$LAST_STDERR" || true)" "check: error lines"
assert_exit 8 "restore with a damaged catalog" -- "$STRATA" restore --dest "$D" \
  --to-repository "$WORK/restore-catalog"
assert_one_error "restore with a damaged catalog"
assert_contains "$LAST_STDERR" "catalog" "restore error names the catalog"
assert_exit 8 "backup with a damaged catalog" -- "$STRATA" backup --dest "$D" --dsn "$DSN" \
  --repository "$SRC"
assert_one_error "backup with a damaged catalog"
assert_contains "$LAST_STDERR" "catalog" "backup error names the catalog"

note "the healthy destination is still healthy"
assert_exit 0 "check --read-data of the healthy copy" -- "$STRATA" check --dest "$GOOD" --read-data
assert_exit 0 "restore from the healthy copy" -- "$STRATA" restore --dest "$GOOD" \
  --to-repository "$WORK/restore-good"
assert_same_repo "$SRC" "$WORK/restore-good" "restore from the healthy copy vs source"
if ((${#DEFERRED[@]} > 0)); then
  printf 'FAIL: %s\n' "${DEFERRED[@]}" >&2
  exit 1
fi
note "ok"
