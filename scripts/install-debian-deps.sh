#!/usr/bin/env bash
# Installs the Debian packages named in the given list files (deps/*.txt).
# Used by `make install`, `make test` and the Dockerfile, so all three install
# the same packages the same way.
#
#   scripts/install-debian-deps.sh deps/debian-run.txt [deps/debian-test.txt]
#
# Quick when everything is there (dpkg-query only). When something is missing:
# as root, one `apt-get update` and one `apt-get install`; otherwise it prints
# the exact command to run and exits 1.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 LIST_FILE..." >&2
  exit 2
fi

# Names from the lists: comments and blank lines dropped, one name a line.
mapfile -t wanted < <(sed -e 's/#.*//' "$@" | tr -s ' \t' '\n' | sed '/^$/d')

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == 'install ok installed' ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

# Without recommends: python3-torch would pull in a compiler and libtorch-dev.
install=(apt-get install -y --no-install-recommends "${missing[@]}")
if ((EUID != 0)); then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo ${install[*]}" >&2
  exit 1
fi

echo "Installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
"${install[@]}"
