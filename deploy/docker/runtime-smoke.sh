#!/usr/bin/env bash
# Approximates the runtime image without a Docker engine and starts the broker
# in it: a root filesystem holding only the files of the Debian packages the
# distroless cc-debian12 base carries (taken from this machine), the libraries
# runtime-closure.sh copies in, and the binary. The broker then runs chrooted
# there as uid/gid 10001, on a read-only root with a tmpfs /tmp (as in the
# Deployment), on overlays/single's rendered broker.yaml, and must start and
# exit 0 on SIGTERM. Not the real image: its base files come from this host.
# Needs root (chroot, a private mount namespace), kubectl, node and openssl.
#   deploy/docker/runtime-smoke.sh [BINARY]   (default: build/broker/credential-broker)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
binary="$(readlink -f "${1:-$ROOT/build/broker/credential-broker}")"
[[ "$(id -u)" == 0 ]] || { echo "skip  needs root (chroot and mount namespaces)"; exit 77; }

rootfs="$(mktemp -d /tmp/credbroker-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
chmod 0755 "$rootfs"   # mktemp makes it 0700: uid 10001 must enter it
mkdir -p "$rootfs"/usr/lib "$rootfs"/usr/lib64 "$rootfs"/etc/ssl/certs "$rootfs"/tmp
ln -s usr/lib "$rootfs/lib"; ln -s usr/lib64 "$rootfs/lib64"

# The base: its packages' files at their /usr paths (the base is usrmerged).
for package in libc6 libssl3 libgcc-s1 libstdc++6 libgomp1; do
  dpkg -L "$package" | while IFS= read -r file; do
    [[ -d "$file" && ! -L "$file" ]] && continue
    [[ -e "$file" || -L "$file" ]] || continue
    target="$rootfs/usr${file#/usr}"
    mkdir -p "$(dirname "$target")" && cp -P "$file" "$target"
  done
done
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
# What the Dockerfile adds.
"$ROOT/deploy/docker/runtime-closure.sh" --copy-to "$rootfs" "$binary" >/dev/null
install -D -m 0755 "$binary" "$rootfs/usr/local/bin/credential-broker"
strip "$rootfs/usr/local/bin/credential-broker"

# The mounts the Deployment provides, with files made on the spot.
etc="$rootfs/etc/credbroker"
mkdir -p "$etc"/{tls,seal,clients-ca,keys,policy}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=broker \
  -keyout "$etc/tls/tls.key" -out "$etc/tls/tls.crt" >/dev/null 2>&1
head -c 32 /dev/urandom >"$etc/seal/seal.key"
cp "$etc/tls/tls.crt" "$etc/clients-ca/ca.crt"
printf 'key-0001' >"$etc/keys/ingest-bot"
cp "$ROOT/deploy/k8s/base/policy.yaml" "$etc/policy/"
kubectl kustomize "$ROOT/deploy/k8s/overlays/single" >"$rootfs/rendered.yaml"
# The chroot shares the host's network: metrics go to a free loopback port, not 9090.
metrics_port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
node "$ROOT/deploy/validate/broker-config.mjs" "$rootfs/rendered.yaml" |
  sed -e 's#0.0.0.0:50051#0.0.0.0:0#' -e 's#0.0.0.0:8081#127.0.0.1:0#' \
      -e "s#0.0.0.0:9090#127.0.0.1:$metrics_port#" >"$etc/broker.yaml"
chmod -R a+rX "$etc"

echo "root filesystem: $(du -sh "$rootfs/usr" | cut -f1) under /usr ($(find "$rootfs" -name '*.so*' | wc -l) shared objects)"
# shellcheck disable=SC2016
unshare --mount --propagation private bash -euc '
  rootfs="$1"
  mount --bind "$rootfs" "$rootfs" && mount -o remount,bind,ro "$rootfs"
  mount -t tmpfs -o size=16m,mode=1777 tmpfs "$rootfs/tmp"
  if touch "$rootfs/usr/probe" 2>/dev/null; then echo "FAIL  the root filesystem is writable"; exit 1; fi
  chroot --userspec=10001:10001 "$rootfs" /usr/local/bin/credential-broker \
    --config /etc/credbroker/broker.yaml --port-file /tmp/port 2>"$rootfs/tmp/log" &
  pid=$!
  for _ in $(seq 1 250); do [[ -s "$rootfs/tmp/port" ]] || ! kill -0 "$pid" 2>/dev/null && break; sleep 0.02; done
  if [[ ! -s "$rootfs/tmp/port" ]]; then sed "s/^/      /" "$rootfs/tmp/log"; echo "FAIL  the broker did not start"; exit 1; fi
  kill -TERM "$pid"
  if wait "$pid"; then
    echo "ok    the broker starts in the approximated image (uid 10001, read-only root, tmpfs /tmp) and exits 0 on SIGTERM"
  else
    sed "s/^/      /" "$rootfs/tmp/log"; echo "FAIL  the broker did not exit 0"; exit 1
  fi
' _ "$rootfs"
