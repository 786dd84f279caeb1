#!/usr/bin/env bash
# Every test: installs missing Debian packages, builds from nothing (build/dev), runs CTest
# (unit, conformance with real clients, tidy, fuzz smoke), then the unit tests under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$(getconf PATH):$PATH"   # Debian's python3 first (not a pyenv one)
cmake --preset dev
cmake --build --preset dev
ctest --preset dev --output-on-failure
if [ "${IOTSIM_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan
  cmake --build --preset asan
  ctest --preset asan --output-on-failure
fi
