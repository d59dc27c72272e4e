#!/usr/bin/env bash
# Installs what PgHaConsole, its lab and its tests need on a Debian 12 machine with the .NET 10 SDK.
# Idempotent and quiet when everything is already there. Must run as root.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-machine: run as root (sudo $0)" >&2
  exit 1
fi

# Debian packages: the lab's hosts (PostgreSQL 15, sshd, keepalived, HAProxy, ipvsadm, iptables, iproute2),
# the UML lab with IPVS (`lab up --ipvs`: user-mode-linux, busybox-static for its initramfs, gzip),
# the browser tests (chromium), and small tools the scripts use.
packages=(postgresql-15 postgresql-client-15 openssh-server openssh-client keepalived haproxy ipvsadm iptables
          iproute2 iputils-arping util-linux procps chromium sqlite3 socat curl ca-certificates postgresql-15-repmgr
          user-mode-linux busybox-static gzip)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-machine: installing ${missing[*]}"
  # Debian's maintainer scripts must not start services on this machine: the lab starts its own, per host.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup-machine: the .NET 10 SDK (dotnet) is not on PATH; install it first" >&2
  exit 1
fi
