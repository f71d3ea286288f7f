#!/usr/bin/env bash
# Installs everything pycompose and its tests need on a fresh Debian machine, as root:
# Debian packages (only the missing ones), a virtualenv in .venv, the project in it, and
# (unless --no-image) a busybox:latest image in the engine for the examples.
# Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(busybox-static nftables skopeo umoci iproute2 tmux curl tini zstd crun docker-registry docker.io openssh-server graphviz)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # dockerd, docker-registry and sshd are started by the tests that need them, each on its own
    # socket, port and state: none may start as a machine-wide service when it is installed.
    policy=/usr/sbin/policy-rc.d
    made_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
    fi
    status=0
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
    [ -z "$made_policy" ] || rm -f "$policy"
    [ "$status" -eq 0 ] || exit "$status"
  else
    echo "setup: not root, cannot install Debian packages: ${missing[*]}" >&2
  fi
fi

# The real interpreter, not the pyenv shim (the shim costs ~60 ms per start).
py=""
for cand in /root/.pyenv/versions/3.11*/bin/python3 python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1; then py=$(command -v "$cand"); break; fi
done
[ -n "$py" ] || { echo "setup: no python3 found" >&2; exit 1; }
[ -x .venv/bin/python ] || "$py" -m venv .venv

# The editable install puts the checkout on sys.path with a plain .pth line ("compat" mode): the
# default mode's import hook costs every command line ~13 ms of start-up (it imports pathlib, re...).
stamp=.venv/.pycompose-installed-compat
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
  touch "$stamp"
fi

# The example stack (README, examples/) runs busybox only: the engine gets a busybox:latest built from
# Debian's busybox-static. As root the CLI starts the default engine for it. scripts/test.sh passes
# --no-image: the tests run private engines of their own and leave the default one alone.
if [ "${1:-}" != "--no-image" ]; then
  if [ "$(id -u)" -eq 0 ] || [ -n "${DOCKER_HOST:-}" ]; then
    bash scripts/busybox-image.sh
  else
    echo "setup: not root: busybox:latest not imported (run scripts/busybox-image.sh as root)" >&2
  fi
fi
