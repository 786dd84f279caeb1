#!/usr/bin/env bash
# Installs what iotsim needs from Debian 12's packages (idempotent; skips apt when all present).
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libboost1.74-dev libboost-test1.74-dev libboost-program-options1.74-dev
  libssl-dev nlohmann-json3-dev libsqlite3-dev libpcre2-dev openssl
  python3 python3-dev pybind11-dev python3-pytest python3-paho-mqtt python3-awscrt
  python3-numpy python3-pandas python3-matplotlib python3-tqdm
  python3-nbclient python3-nbformat python3-ipykernel
  mosquitto mosquitto-clients awscli python3-boto3 graphviz
  clang-14 libclang-rt-14-dev util-linux procps
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "iotsim: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
