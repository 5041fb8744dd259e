#!/usr/bin/env bash
# The checks CI runs: lint and format, the import rules (the core imports no GUI; no import cycle), the tests.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m ruff check src tests benchmarks scripts
python3 -m ruff format --check src tests benchmarks scripts
lint-imports --no-cache
python3 scripts/check_import_cycles.py
python3 -m pytest "$@"
