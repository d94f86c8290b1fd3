#!/usr/bin/env bash
# cli_conventions: what every command-line tool has. `strata --version`; a "version" field in
# every --json document, and the same names for the same things across commands (README's
# vocabulary); usage lines that show STRATA_DEST; every command's --help lists the options it
# accepts; errors say "strata" once; `snapshots` shows each snapshot's source and '-' for the file
# counts of a database-only snapshot; `check --json` lists its problems; `cmake --install`
# installs the binary, the man page and the bash completion, which completes commands and options.
source "$(dirname "$0")/lib.sh"

WORK=$(new_tmp)

# --- --version -----------------------------------------------------------------------------
note "--version"
assert_exit 0 "strata --version" -- "$STRATA" --version
[[ $LAST_STDOUT =~ ^strata\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "strata --version: unexpected output '$LAST_STDOUT'"
VERSION=${LAST_STDOUT#strata }
assert_exit 0 "strata -V" -- "$STRATA" -V
assert_eq "strata $VERSION" "$LAST_STDOUT" "strata -V"
assert_exit 0 "strata --help" -- "$STRATA" --help
assert_contains "$LAST_STDOUT" "--version" "strata --help lists --version"
assert_contains "$LAST_STDOUT" "11 completed with warnings" "strata --help lists exit code 11"
assert_contains "$LAST_STDOUT" "12 object storage error" "strata --help lists exit code 12"
assert_contains "$LAST_STDOUT" "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]" "strata --help names the s3: form of --dest"

# --- usage lines and options of every command ------------------------------------------------
note "help texts"
declare -A OPTIONS=(
  [init]="--dest --json --help"
  [backup]="--dest --dsn --repository --jobs --io-threads --full-scan --files-only --database-only --overlap --level --json --verbose --help"
  [snapshots]="--dest --json --help"
  [restore]="--dest --snapshot --to-repository --to-dsn --from-archive --dump-dir --clean --keep-owners --force --jobs --json --verbose --help"
  [check]="--dest --read-data --jobs --json --verbose --help"
  [configure]="--profile --dest --json --help"
  [ls]="--dest --snapshot --json --help"
  [diff]="--dest --json --help"
  [stats]="--dest --json --help"
  [cat]="--dest --snapshot --help"
  [export]="--dest --snapshot --output --format --jobs --json --help"
  [import]="--dest --wait --level --json --verbose --help"
  [forget]="--dest --keep-last --keep-hourly --keep-daily --keep-weekly --keep-monthly --keep-yearly --keep-within --prune --max-unused --dry-run --wait --json --help"
  [prune]="--dest --max-unused --dry-run --wait --json --help"
)
for command in init backup snapshots restore check configure ls diff stats forget prune cat export import; do
  assert_exit 0 "strata $command --help" -- "$STRATA" "$command" --help
  help=$LAST_STDOUT
  grep -q "^ *STRATA_DEST=DIR strata $command\b" <<<"$help" ||
    fail "strata $command --help: no usage line with STRATA_DEST: $(head -n 3 <<<"$help")"
  for option in ${OPTIONS[$command]}; do
    assert_contains "$help" "$option" "strata $command --help lists $option"
  done
  # An unknown option is one error line that says strata once.
  assert_exit 2 "strata $command --no-such-option" -- "$STRATA" "$command" --no-such-option
  assert_one_error "strata $command --no-such-option"
  assert_eq "strata: error: $command: unknown option '--no-such-option' (see 'strata $command --help')" \
    "$LAST_STDERR" "strata $command: unknown option message"
done
assert_exit 2 "backup without --dest" -- env -u STRATA_DEST "$STRATA" backup --dsn x --repository y
assert_eq "strata: error: backup: --dest (or STRATA_DEST) is required (see 'strata backup --help')" \
  "$LAST_STDERR" "missing --dest message"

# --- JSON: version and vocabulary ----------------------------------------------------------
note "JSON documents"
DSN=$(new_db cli_conventions)
SRC=$WORK/src
DEST=$WORK/dest
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 30 --quiet >/dev/null
assert_exit 0 "init --json" -- "$STRATA" init --dest "$DEST" --json
assert_eq "$("$STRATA" --version | awk '{print $2}')" "$(json_get "$LAST_STDOUT" version)" "init --json: version"
assert_eq "$DEST" "$(json_get "$LAST_STDOUT" dest)" "init --json: dest"
assert_exit 0 "backup --json" -- "$STRATA" backup --dest "$DEST" --dsn "$DSN" --repository "$SRC" --json
backup=$LAST_STDOUT
assert_exit 0 "backup --database-only --json" -- \
  env STRATA_DEST="$DEST" "$STRATA" backup --dsn "$DSN" --database-only --json
dbonly=$LAST_STDOUT
assert_exit 0 "snapshots --json" -- "$STRATA" snapshots --dest "$DEST" --json
snaps=$LAST_STDOUT
assert_exit 0 "restore --json" -- "$STRATA" restore --dest "$DEST" --snapshot 1 --to-repository "$WORK/r" --json
restore=$LAST_STDOUT
assert_eq "" "$LAST_STDERR" "restore --json: stderr"
assert_exit 0 "check --json" -- "$STRATA" check --dest "$DEST" --json
check=$LAST_STDOUT
assert_exit 0 "export of snapshot 1" -- "$STRATA" export --dest "$DEST" --snapshot 1 --output "$WORK/one.tar"
assert_exit 0 "init of an import's destination" -- "$STRATA" init --dest "$WORK/imported"
assert_exit 0 "import --json" -- "$STRATA" import --dest "$WORK/imported" "$WORK/one.tar" --json
import=$LAST_STDOUT
assert_eq "$(json_get "$backup" nodes)" "$(json_get "$import" nodes)" "import vs backup: nodes"
assert_eq "$(json_get "$backup" files)" "$(json_get "$import" files)" "import vs backup: files"
for doc in backup dbonly snaps restore check import; do
  assert_eq "$VERSION" "$(json_get "${!doc}" version)" "$doc --json: version"
done
# A snapshot's fields have one name each: backup prints the snapshot it made as snapshots lists it.
for field in id nodes files bytes stored_bytes new_nodes deleted_nodes new_bytes has_files has_database; do
  assert_eq "$(json_get "$snaps" "snapshots.0.$field")" "$(json_get "$backup" "$field")" "backup vs snapshots: $field"
  assert_eq "$(json_get "$snaps" "snapshots.1.$field")" "$(json_get "$dbonly" "$field")" \
    "backup --database-only vs snapshots: $field"
done
assert_eq 1 "$(json_get "$restore" snapshot)" "restore: snapshot"
assert_eq "$(json_get "$backup" files)" "$(json_get "$restore" files.files)" "restore: files.files"
assert_eq 2 "$(json_get "$check" checked_snapshots)" "check: checked_snapshots"
assert_eq "[]" "$(json_get "$check" problems)" "check: problems"
[[ $(json_get "$snaps" snapshots.0.source) == *"repository '"* ]] ||
  fail "snapshots --json: source does not name the repository: $(json_get "$snaps" snapshots.0.source)"

# --- snapshots: source, and no file counts for a database-only snapshot ---------------------
note "snapshots table"
assert_exit 0 "snapshots" -- "$STRATA" snapshots --dest "$DEST"
header=$(sed -n 1p <<<"$LAST_STDOUT")
assert_contains "$header" "SOURCE" "snapshots: header"
row1=$(awk '$1 == 1' <<<"$LAST_STDOUT")
row2=$(awk '$1 == 2' <<<"$LAST_STDOUT")
assert_contains "$row1" "database '$(_lib_dsn_field "$DSN" dbname)'" "snapshots: source of snapshot 1"
assert_contains "$row1" " 30 " "snapshots: nodes of snapshot 1"
# ID, date, time, UTC, HOLDS, NODES, FILES, SIZE ...
assert_eq "db - -" "$(awk '{ print $5, $6, $7 }' <<<"$row2")" "snapshots: HOLDS NODES FILES of a database-only snapshot"

# --- check --json lists every problem ------------------------------------------------------
note "check --json with problems"
cp -a "$DEST" "$WORK/damaged"
packs=("$WORK"/damaged/packs/*.pack)
[[ -f ${packs[0]} ]] || fail "no pack file found below $WORK/damaged/packs"
truncate -s 100 "${packs[0]}"
assert_exit 8 "check --json of a truncated pack" -- "$STRATA" check --dest "$WORK/damaged" --json
count=$(python3 -c 'import json, sys
d = json.loads(sys.argv[1])
assert all(isinstance(p, str) and p for p in d["problems"]), d
print(len(d["problems"]))' "$LAST_STDOUT")
((count >= 1)) || fail "check --json: no problem listed: $LAST_STDOUT"
assert_eq "$count" "$(grep -c '^strata: check: ' <<<"$LAST_STDERR")" "check --json: one listed problem per stderr line"

# --- cmake --install and the bash completion -----------------------------------------------
note "cmake --install"
PREFIX=$WORK/prefix
cmake --install "$STRATA_BUILD_DIR" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -n 5 "$WORK/install.log")"
[[ -x $PREFIX/bin/strata ]] || fail "cmake --install: no bin/strata"
assert_eq "strata $VERSION" "$("$PREFIX/bin/strata" --version)" "installed strata --version"
[[ -s $PREFIX/share/man/man1/strata.1 ]] || fail "cmake --install: no share/man/man1/strata.1 (is help2man installed?)"
grep -q -- 'read\\-data' "$PREFIX/share/man/man1/strata.1" || fail "the man page does not list check's --read-data"
grep -q 'strata import' "$PREFIX/share/man/man1/strata.1" || fail "the man page does not list import"
COMPLETION=$PREFIX/share/bash-completion/completions/strata
[[ -s $COMPLETION ]] || fail "cmake --install: no share/bash-completion/completions/strata"

complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _strata; echo "${COMPREPLY[*]}"' \
    complete "$COMPLETION" "$@"
}
assert_eq "restore" "$(complete_words strata re)" "completion of 'strata re'"
assert_eq "snapshots" "$(complete_words strata sn)" "completion of 'strata sn'"
assert_eq "--read-data" "$(complete_words strata check --re)" "completion of 'strata check --re'"
assert_eq "--to-repository --to-dsn --to-profile" "$(complete_words strata restore --to)" \
  "completion of 'strata restore --to'"
assert_eq "configure cat check" "$(complete_words strata c)" "completion of 'strata c'"
assert_eq "export" "$(complete_words strata e)" "completion of 'strata e'"
assert_eq "init import" "$(complete_words strata i)" "completion of 'strata i'"
assert_eq "--wait" "$(complete_words strata import --w)" "completion of 'strata import --w'"
assert_eq "--output" "$(complete_words strata export --o)" "completion of 'strata export --o'"
assert_eq "--keep-within" "$(complete_words strata forget --keep-wi)" "completion of 'strata forget --keep-wi'"
assert_eq "latest" "$(complete_words strata restore --snapshot l)" "completion of 'strata restore --snapshot l'"
