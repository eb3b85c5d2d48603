#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, only when missing.
set -euo pipefail
want=()
command -v redis-server >/dev/null || want+=(redis-server)
command -v psql >/dev/null || want+=(postgresql-client)
command -v promtool >/dev/null || want+=(prometheus)
command -v jq >/dev/null || want+=(jq)
# docker-compose (v1, Python) only validates collector/docker-compose.yaml (`config`); no engine runs here.
command -v docker-compose >/dev/null || want+=(docker-compose)
if [ ${#want[@]} -gt 0 ]; then
  echo "installing: ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting services (no systemd here). Removed on every
  # exit (a failed install too); one the image already has is left as it is.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  fi
  apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
echo "system deps ok"
