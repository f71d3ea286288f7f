#!/usr/bin/env bash
# Gives the engine pycompose talks to (DOCKER_HOST, else the default one, which the CLI starts on
# demand as root) a `busybox:latest` image, built from Debian's busybox-static, unless it has one.
# The examples run nothing else, so they work offline.
set -euo pipefail
cd "$(dirname "$0")/.."

pycompose=.venv/bin/pycompose
if "$pycompose" image inspect busybox:latest >/dev/null 2>&1; then
  exit 0
fi
[ -x /bin/busybox ] || { echo "busybox-image: /bin/busybox missing (Debian's busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,root,home,var/tmp,run,lib}
chmod 0755 "$root" "$root"/{bin,sbin,usr,usr/bin,usr/sbin,etc,dev,proc,sys,home,var,run,lib}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
install -m 0755 /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
echo busybox >"$root/etc/hostname"
chmod 0644 "$root"/etc/{passwd,group,hostname}
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$work/busybox.tar" .

echo "busybox-image: importing busybox:latest from /bin/busybox" >&2
"$pycompose" image import --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null
