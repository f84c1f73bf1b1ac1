#!/usr/bin/env bash
# Set up a virtual environment and run `intake demo` on the bundled sample mail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/intake demo --workdir "${1:-intake-demo}"
