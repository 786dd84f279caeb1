#!/usr/bin/env bash
# Every test: installs missing Debian packages, builds from nothing, and runs CTest: unit tests,
# conformance tests with real clients, tidy and short fuzz runs (build/dev), then the unit tests
# again under AddressSanitizer + UBSan (build/asan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/usr/bin:$PATH"   # Debian's python3 first (not a pyenv one); /usr/bin, not /bin: CMake derives package prefixes from PATH
cmake --preset fuzz
cmake --build --preset fuzz --target fuzz_codec fuzz_broker fuzz_shadow fuzz_http fuzz_policy fuzz_rules fuzz_custom_auth
cmake --preset release
cmake --build --preset release --target iotsim
cmake --preset dev -DIOTSIM_FUZZ_BIN_DIR="$PWD/build/fuzz/fuzz" -DIOTSIM_OTHER_BIN="$PWD/build/release/iotsim"
cmake --build --preset dev
ctest --preset dev --output-on-failure
if [ "${IOTSIM_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan
  cmake --build --preset asan
  ctest --preset asan --output-on-failure
fi
