#!/bin/bash
# SPDX-License-Identifier: ISC
# Installs what building and testing kmswatch needs on Debian 12 (bookworm).
# Set KMSWATCH_SKIP_APT=1 to skip when everything is already there.
set -euo pipefail
[ "${KMSWATCH_SKIP_APT:-0}" = 1 ] && exit 0
PKGS=(build-essential autoconf automake autoconf-archive pkg-config
      libuv1-dev libcurl4-openssl-dev libsystemd-dev libyaml-dev libjansson-dev libssl-dev
      libmicrohttpd-dev prometheus
      libcmocka-dev python3 python3-pytest python3-jsonschema openssl curl systemd util-linux
      iproute2 procps prometheus-alertmanager nghttp2-proxy uthash-dev
      clang libclang-rt-14-dev mandoc debhelper lintian)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing packages (${missing[*]}); run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
