# tests/dsn.sh — PostgreSQL connection-string helpers shared by quickstart.sh and bench/run.sh.
#
#   with_dbname DSN NAME   the same connection (keyword string or URI), to database NAME
#   mask_dsn DSN           DSN with its password replaced by ***, for printing

# shellcheck shell=bash

with_dbname() {
  if [[ $1 =~ ^postgres(ql)?:// ]]; then
    python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
  elif [[ $1 =~ (^|[[:space:]])dbname= && $1 != *[\'\\]* ]]; then
    sed -E "s/(^|[[:space:]])dbname=[^[:space:]]*/\\1dbname=$2/" <<<"$1"
  else
    # In a keyword string the last occurrence of a keyword wins.
    printf '%s dbname=%s\n' "$1" "$2"
  fi
}

mask_dsn() {
  sed -E -e 's/(password=)[^ ]*/\1***/g' -e 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$1"
}
