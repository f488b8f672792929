#!/usr/bin/env bash
# Sets up (packages, build, models) and runs the whole test suite with CTest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "${CVTOOL_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure -j1 "$@"
