#!/bin/sh
# man-commands.sh STRATA OUT - writes a help2man include file (OUT) whose COMMANDS section holds
# each command's --help, so that the man page shows every option (cli/CMakeLists.txt runs it).
set -eu
strata=$1
out=$2
{
  echo '[COMMANDS]'
  for command in init configure backup snapshots ls diff stats cat restore export import check forget prune; do
    echo ".SS strata $command"
    echo '.nf'
    # roff: a backslash is \e; a line starting with . or ' would be a request.
    "$strata" "$command" --help | sed -e 's/\\/\\e/g' -e "s/^[.']/\\\\\\&&/"
    echo '.fi'
  done
} >"$out"
