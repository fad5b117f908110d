#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what cordon needs to build and test, from Debian's archive. Idempotent; needs root
# (or sudo) only when something is missing.
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev libseccomp-dev libjansson-dev libgit2-dev libnftnl-dev libmnl-dev libcmocka-dev
      bubblewrap git python3 util-linux bsdutils iproute2 procps libcap2-bin groff-base man-db curl)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
echo "deps: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
