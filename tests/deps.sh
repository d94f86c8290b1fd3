# tests/deps.sh — the Debian packages strata needs to build, test and benchmark, and one function
# that installs whichever of them are missing. Sourced by tests/run.sh and quickstart.sh.
#
#   strata_install_deps   check with dpkg-query; if all are installed, do nothing (no apt call);
#                         as root: apt-get update once, then install only the missing ones;
#                         not root: print the apt-get command to run and return 1.
#
# python3 is not a build dependency; the integration tests' lib.sh uses it to read JSON, and
# tests/coverage.py to report gcovr's figures per module (gcovr: coverage; clang: fuzz targets).
# help2man generates the man page at build time (the build works without it, with no man page).

# shellcheck shell=bash
STRATA_DEB_PACKAGES=(
  build-essential cmake pkg-config
  libpq-dev postgresql postgresql-client
  libzstd-dev zstd libxxhash-dev librsync-dev libarchive-dev libsqlite3-dev sqlite3
  libjansson-dev libssl-dev zlib1g-dev libcmocka-dev gcovr clang
  libcurl4-openssl-dev libxml2-dev curl
  ceph-mon ceph-osd radosgw ceph-common
  help2man
  rsync restic borgbackup time valgrind procps
  python3
)

# Prints the packages of STRATA_DEB_PACKAGES that are not installed, one per line.
strata_missing_packages() {
  local pkg status
  for pkg in "${STRATA_DEB_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != installed ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

strata_install_deps() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system (no dpkg-query); assuming these are installed:" \
         "${STRATA_DEB_PACKAGES[*]}" >&2
    return 0
  fi

  local missing=()
  mapfile -t missing < <(strata_missing_packages)
  if ((${#missing[@]} == 0)); then
    echo "deps: all ${#STRATA_DEB_PACKAGES[@]} packages installed"
    return 0
  fi

  if ((EUID != 0)); then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi

  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null
  apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" </dev/null

  mapfile -t missing < <(strata_missing_packages)
  if ((${#missing[@]} != 0)); then
    echo "deps: still missing after apt-get install: ${missing[*]}" >&2
    return 1
  fi
}
