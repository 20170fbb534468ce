#!/usr/bin/env bash
# Installs the Debian packages the protocol clients' tests start as real peers: nghttpd and
# h2load (HTTP/2). Idempotent and quiet: skips what is already present.
set -euo pipefail

need=()
command -v nghttpd >/dev/null 2>&1 || need+=(nghttp2-server)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
