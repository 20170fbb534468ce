#!/usr/bin/env bash
# Installs the servers the reporter tests talk to (PostgreSQL, MariaDB, Redis, InfluxDB 1.x,
# Prometheus and its Pushgateway) and Chromium for the dashboard/report browser tests, from
# Debian's packages. Idempotent and quiet: skips what is present. The tests start their own
# instances on free loopback ports with data under a temp dir; this only installs binaries.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ]; }
have postgres /usr/lib/postgresql/15/bin/postgres || need+=(postgresql)
have mariadbd /usr/sbin/mariadbd || need+=(mariadb-server)
have redis-server /usr/bin/redis-server || need+=(redis-server)
have influxd /usr/bin/influxd || need+=(influxdb)
have prometheus /usr/bin/prometheus || need+=(prometheus)
have prometheus-pushgateway /usr/bin/prometheus-pushgateway || need+=(prometheus-pushgateway)
have chromium /usr/bin/chromium || need+=(chromium)

if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # Packaged services must not start system-wide instances: the tests run their own.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
fi
