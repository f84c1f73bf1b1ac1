#!/usr/bin/env bash
# Set up a virtual environment and run `intake demo` on the bundled sample mail.
set -euo pipefail
cd "$(dirname "$0")/.."

# RAR needs unar/bsdtar and 7z may need 7zz (py7zr's fallback). Install them when we can;
# without them the demo still runs, and the RAR samples end as ARCHIVE_CORRUPT.
missing=()
command -v unar >/dev/null || missing+=(unar)
command -v bsdtar >/dev/null || missing+=(libarchive-tools)
command -v 7zz >/dev/null || missing+=(7zip)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: install ${missing[*]} (Debian packages) to read RAR/7z samples" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/intake demo --workdir "${1:-intake-demo}"
