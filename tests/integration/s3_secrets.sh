#!/usr/bin/env bash
# s3_secrets: the secret key comes only from AWS_SECRET_ACCESS_KEY and goes nowhere: not into any
# object of the bucket, the local cache, nor the output of any command (-v, --json, errors). Bad destinations and credentials are one-line errors with their
# documented exit codes: a malformed s3: URL 2, no credentials, wrong credentials or a missing
# bucket 12.
source "$(dirname "$0")/lib.sh"

s3_setup secret
DSN=$(new_db s3_secrets)
SRC=$(new_tmp)
WORK=$(new_tmp)
SECRET=$AWS_SECRET_ACCESS_KEY
"$GENREPO" --dsn "$DSN" --root "$SRC" --nodes 60 --quiet >/dev/null

all_output=$WORK/output
run() { # WHAT CODE CMD...
  local what=$1 code=$2
  shift 2
  assert_exit "$code" "$what" -- "$@"
  printf '%s\n%s\n' "$LAST_STDOUT" "$LAST_STDERR" >>"$all_output"
}
run "init" 0 "$STRATA" init --dest "$S3_DEST" --json
run "backup -v --json" 0 "$STRATA" backup -v --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC" --json
run "snapshots" 0 "$STRATA" snapshots --dest "$S3_DEST" --json
run "check --read-data -v" 0 "$STRATA" check -v --dest "$S3_DEST" --read-data
run "restore -v" 0 "$STRATA" restore -v --dest "$S3_DEST" --to-repository "$WORK/r"
run "forget --keep-last 1" 0 "$STRATA" forget --dest "$S3_DEST" --keep-last 1

note "errors"
run "s3: without a bucket" 2 "$STRATA" snapshots --dest "s3:$S3_ENDPOINT"
assert_one_error "s3: without a bucket"
run "s3: with a bad scheme" 2 "$STRATA" snapshots --dest "s3:ftp://127.0.0.1/b"
assert_one_error "s3: with a bad scheme"
run "s3: with a bad bucket name" 2 "$STRATA" snapshots --dest "s3:$S3_ENDPOINT/No_Such"
assert_one_error "s3: with a bad bucket name"
run "s3: with a bad prefix" 2 "$STRATA" snapshots --dest "s3:$S3_ENDPOINT/$S3_BUCKET/a/../b"
assert_one_error "s3: with a bad prefix"
run "s3: with credentials in the URL" 2 "$STRATA" snapshots --dest "s3:http://user:$SECRET@127.0.0.1/$S3_BUCKET"
assert_one_error "s3: with credentials in the URL"
run "no credentials" 12 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$STRATA" snapshots --dest "$S3_DEST"
assert_one_error "no credentials"
assert_contains "$LAST_STDERR" "AWS_SECRET_ACCESS_KEY" "no credentials: names the variable"
run "wrong secret" 12 env AWS_SECRET_ACCESS_KEY=wrong-secret "$STRATA" snapshots --dest "$S3_DEST"
assert_one_error "wrong secret"
assert_contains "$LAST_STDERR" "refused" "wrong secret"
run "wrong access key" 12 env AWS_ACCESS_KEY_ID=NOSUCHKEY "$STRATA" backup --dest "$S3_DEST" --dsn "$DSN" --repository "$SRC"
assert_one_error "wrong access key"
run "missing bucket" 12 "$STRATA" init --dest "s3:$S3_ENDPOINT/no-such-bucket-$RANDOM"
assert_one_error "missing bucket"
assert_contains "$LAST_STDERR" "does not exist" "missing bucket"

note "looking for the secret"
! grep -qF "$SECRET" "$all_output" || fail "the secret key appears in strata's output"
mkdir "$WORK/bucket"
while IFS= read -r key; do
  s3_curl -o "$WORK/bucket/$(printf '%s' "$key" | tr / _)" "$S3_ENDPOINT/$S3_BUCKET/$key"
done < <(s3_keys)
(($(find "$WORK/bucket" -type f | wc -l) >= 3)) || fail "the bucket holds fewer objects than expected"
! grep -rqF "$SECRET" "$WORK/bucket" || fail "the secret key appears in an object of the bucket"
! grep -rqF "$SECRET" "$STRATA_CACHE_DIR" || fail "the secret key appears in the local cache"
note "ok"
