#!/usr/bin/env bash
# Installs what `npm run bench` compares against, when missing: nginx-light (the target), wrk
# (a peer) and GNU time / taskset (usage measurement, pinning). Idempotent; apt-get only as
# root; never fails the bench: it prints what is still missing and exits 0.
set -u

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

have nginx || need_pkgs+=(nginx-light)
have wrk || need_pkgs+=(wrk)
[ -x /usr/bin/time ] || need_pkgs+=(time)
have taskset || need_pkgs+=(util-linux)

if [ ${#need_pkgs[@]} -eq 0 ]; then
  echo "bench-setup: nginx, wrk, time and taskset are present"
  exit 0
fi

echo "bench-setup: missing packages: ${need_pkgs[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-setup: not root, not installing; run: sudo apt-get install -y ${need_pkgs[*]}"
elif ! command -v apt-get >/dev/null 2>&1; then
  echo "bench-setup: no apt-get on this machine; install ${need_pkgs[*]} by hand"
else
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq; then
    echo "bench-setup: apt-get update failed; trying the install anyway"
  fi
  # One package at a time, so one that is unavailable does not block the others. The nginx
  # package's post-install may try to start a system service; policy-rc.d keeps it stopped.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  for pkg in "${need_pkgs[@]}"; do
    if apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; then
      echo "bench-setup: installed $pkg"
    elif [ "$pkg" = nginx-light ] && apt-get install -y -qq --no-install-recommends nginx >/dev/null; then
      # Debian 13 has no nginx-light; its plain nginx package is small enough.
      echo "bench-setup: nginx-light unavailable; installed nginx"
    else
      echo "bench-setup: could not install $pkg"
    fi
  done
  [ "$made_policy" -eq 1 ] && rm -f "$policy"
fi

missing=()
have nginx || missing+=("nginx (the bench falls back to its built-in target)")
have wrk || missing+=("wrk (its rows are skipped)")
[ -x /usr/bin/time ] || missing+=("GNU time (usage via python3 or /proc instead)")
have taskset || missing+=("taskset (no CPU pinning)")
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "bench-setup: still missing: $m"; done
fi
exit 0
