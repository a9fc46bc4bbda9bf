#!/usr/bin/env bash
# Install if needed, then lint, check the import contracts and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/setup.sh
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export PYTHONDONTWRITEBYTECODE=1
echo "== ruff"
.venv/bin/ruff check soul_studio engine tests benchmarks tools
echo "== import contracts"
.venv/bin/lint-imports --no-cache
echo "== tests"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
