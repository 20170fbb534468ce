#!/usr/bin/env bash
# Installs the Debian packages the protocol clients' tests and benches start as real peers:
# nghttpd and h2load (HTTP/2), an SMTP server (aiosmtpd) and an FTP server (pyftpdlib) for
# Debian's /usr/bin/python3, and Chromium for the browser client (playwright-core drives it;
# browsers cannot be downloaded here). Idempotent and quiet: skips what is already present.
set -euo pipefail

need=()
pymod() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }
command -v nghttpd >/dev/null 2>&1 || need+=(nghttp2-server)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
pymod aiosmtpd || need+=(python3-aiosmtpd)
pymod pyftpdlib || need+=(python3-pyftpdlib)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
