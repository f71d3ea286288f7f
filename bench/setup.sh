#!/usr/bin/env bash
# Installs the peers bench/stack_bench.py compares with, as root (not needed by the tests or CI):
# docker-compose 1.29 (Debian; it drives our engine through DOCKER_HOST), podman with runc (see
# bench/podman-containers.conf) and catatonit (its `init: true`), and podman-compose 1.6 from PyPI in a virtualenv of its own
# (/opt/pycompose-bench-peers, linked as /usr/local/bin/podman-compose), the versions issue 6 measured.
# Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench/setup.sh: run as root" >&2; exit 1; }

debs=(docker-compose podman runc catatonit python3-venv)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench/setup.sh: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

peers=/opt/pycompose-bench-peers
if [ ! -x "$peers/bin/podman-compose" ]; then
  echo "bench/setup.sh: installing podman-compose 1.6.0 into $peers" >&2
  /usr/bin/python3 -m venv "$peers"
  "$peers/bin/python" -m pip install -q --disable-pip-version-check 'podman-compose==1.6.0'
fi
ln -sf "$peers/bin/podman-compose" /usr/local/bin/podman-compose
docker-compose version --short
podman-compose --version
