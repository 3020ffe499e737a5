#!/usr/bin/env bash
# Lists the credential-broker binary's runtime closure natively (no Docker
# engine needed): every shared library `ldd` resolves, its size, its Debian
# package, and whether the distroless runtime base (gcr.io/distroless/cc-debian12)
# already carries it or the image must copy it in.
#   deploy/docker/runtime-closure.sh [BINARY]
#       prints the table and totals (default BINARY: build/broker/credential-broker)
#   deploy/docker/runtime-closure.sh --copy-to ROOTFS BINARY
#       also copies the libraries the base lacks into ROOTFS (same paths,
#       symlinks resolved) with their dpkg status entries under
#       ROOTFS/var/lib/dpkg/status.d/ for image scanners; the Dockerfile's build
#       stage runs this and the runtime stage copies ROOTFS over the base.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

copy_to=""
if [[ "${1:-}" == "--copy-to" ]]; then copy_to="$2"; shift 2; fi
binary="${1:-$ROOT/build/broker/credential-broker}"
[[ -x "$binary" ]] || { echo "no executable at $binary (build the credential-broker target first)" >&2; exit 1; }

# Debian packages in gcr.io/distroless/cc-debian12: its static layer
# (base-files, netbase, tzdata, ca-certificates), base (libc6, libssl3) and
# cc (libgcc-s1, libstdc++6, libgomp1, gcc-12-base). Keep in step with the
# pinned digest (GoogleContainerTools/distroless base/config.bzl, cc/config.bzl).
BASE_PACKAGES=" libc6 libssl3 libgcc-s1 libstdc++6 libgomp1 gcc-12-base "

# Library path -> Debian package, from one dpkg query over every spelling
# (usrmerge: dpkg may record /lib/... or /usr/lib/...).
declare -A owner_of=()
load_owners() {
  local spellings=() path
  for path in "$@"; do spellings+=("$path" "/usr${path#/usr}" "${path#/usr}" "$(readlink -f "$path")"); done
  while IFS= read -r line; do
    owner_of["${line#*: }"]="${line%%:*}"
  done < <(dpkg -S "${spellings[@]}" 2>/dev/null || true)
}
package_of() {
  local path="$1" candidate
  for candidate in "$path" "/usr${path#/usr}" "${path#/usr}" "$(readlink -f "$path")"; do
    if [[ -n "${owner_of[$candidate]:-}" ]]; then echo "${owner_of[$candidate]}"; return; fi
  done
  echo "?"
}
human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1"; }

base_bytes=0; copy_bytes=0; base_count=0; copy_count=0
declare -A copy_packages=()
rows=""
closure="$(ldd "$binary" | awk '/=> \// {print $1, $3} /^\t\/[^ ]+ \(/ {n=split($1, a, "/"); print a[n], $1}' | sort -u)"
# shellcheck disable=SC2046
load_owners $(awk '{print $2}' <<<"$closure")
while read -r soname path; do
  real="$(readlink -f "$path")"
  bytes="$(stat -c %s "$real")"
  package="$(package_of "$path")"
  if [[ "$BASE_PACKAGES" == *" $package "* ]]; then
    where="in base"; base_bytes=$((base_bytes + bytes)); base_count=$((base_count + 1))
  else
    where="copy in"; copy_bytes=$((copy_bytes + bytes)); copy_count=$((copy_count + 1))
    copy_packages["$package"]=1
    if [[ -n "$copy_to" ]]; then
      # Always under /usr/lib: the base's /lib may be a symlink to it (usrmerge).
      install -D -m 0644 "$real" "$copy_to/usr${path#/usr}"
    fi
  fi
  rows+="$(printf '%-54s %9s  %-18s %s' "$soname" "$(human "$bytes")" "$package" "$where")"$'\n'
done <<<"$closure"

if [[ -n "$copy_to" ]]; then
  mkdir -p "$copy_to/var/lib/dpkg/status.d"
  for package in "${!copy_packages[@]}"; do
    [[ "$package" == "?" ]] || dpkg-query -s "$package" >"$copy_to/var/lib/dpkg/status.d/$package"
  done
fi

stripped="$(mktemp)"; trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$binary"
binary_bytes="$(stat -c %s "$stripped")"

echo "Runtime closure of $(basename "$binary") ($(uname -m), $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"'))"
echo
printf '%-54s %9s  %-18s %s\n' "library (soname)" "size" "Debian package" "distroless cc-debian12"
printf '%s' "$rows"
echo
printf '%-65s %9s\n' "broker binary, stripped" "$(human "$binary_bytes")"
printf '%-65s %9s\n' "$copy_count libraries to copy in ($(echo "${!copy_packages[@]}" | wc -w) packages)" "$(human "$copy_bytes")"
printf '%-65s %9s\n' "$base_count libraries the base already carries" "$(human "$base_bytes")"
printf '%-65s %9s\n' "added to the base image (binary + copied libraries)" "$(human $((binary_bytes + copy_bytes)))"
