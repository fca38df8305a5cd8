#!/usr/bin/env bash
# The whole test suite with both cores busy: stress-ng keeps CPU-bound workers on every core (by
# default as many as the machine has, at least 2) while `npm test` runs, so tests that lean on
# timing instead of waiting on events and states fail here first (issue 15 item 6). Not part of
# CI's run: run it by hand before a release, or after changing anything that waits.
#
#   bash scripts/stress-suite.sh                 # npm test beside `stress-ng --cpu <cores>`
#   STRESS_CPUS=4 bash scripts/stress-suite.sh   # heavier
#   bash scripts/stress-suite.sh test/beat       # jest arguments: a subset, under the same load
#
# stress-ng comes from Debian (apt-get install stress-ng) and is installed when missing. The exit
# status is the suite's; the last line says how many tests passed and failed, and under what load.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v stress-ng >/dev/null; then
  echo "stress-suite: installing stress-ng"
  if [ "$(id -u)" != 0 ]; then echo "stress-suite: need root to apt-get install stress-ng" >&2; exit 1; fi
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq stress-ng >/dev/null
fi

cpus=${STRESS_CPUS:-$(nproc)}
if ((cpus < 2)); then cpus=2; fi
bash scripts/ensure-services.sh

# Its own process group, so stopping it ends every stressor it forked, and nothing else.
setsid stress-ng --cpu "$cpus" --cpu-method matrixprod --timeout 0 --quiet &
stress_pid=$!
stop_stress() { kill -TERM -- "-$stress_pid" 2>/dev/null || true; wait "$stress_pid" 2>/dev/null || true; }
trap stop_stress EXIT INT TERM

log=$(mktemp)
status=0
if (($#)); then
  NODE_OPTIONS=--experimental-vm-modules npx jest "$@" 2>&1 | tee "$log" || status=$?
else
  npm test 2>&1 | tee "$log" || status=$?
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
summary=$(grep -aE '^Tests:' "$log" | tail -n 1 || true)
passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
rm -f "$log"
echo "stress-suite: ${passed} passed, ${failed} failed beside stress-ng --cpu ${cpus} (load average ${load})"
exit "$status"
