#!/usr/bin/env bash
# Install if needed, then open the studio on the bundled demo project.
# With no display it renders the demo headlessly with the CPU sketch engine instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/setup.sh
exec .venv/bin/soul-studio demo "$@"
