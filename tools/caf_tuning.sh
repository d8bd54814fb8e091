#!/usr/bin/env bash
# Measures the sync round trips (the rows one round trip bounds) under each
# CAF setting troupe lets you override, alternating the settings in rounds so
# that a noisy machine hurts them all alike, and prints the median of each.
#
#   tools/caf_tuning.sh [path/to/troupe] [rounds]
#
# The settings (environment of the driver, inherited by its node and workers):
#   TROUPE_SCHEDULER_POLICY   sharing | stealing
#   TROUPE_SCHEDULER_THREADS  CAF scheduler threads per process
#   TROUPE_MIDDLEMAN_WORKERS  BASP threads that deserialize received messages
#   TROUPE_DIRECT_CONNECTIONS 0: every message through the node daemons
set -euo pipefail
troupe=${1:-build/tools/troupe}
rounds=${2:-3}

settings=(
  "default|"
  "relay|TROUPE_DIRECT_CONNECTIONS=0"
  "stealing|TROUPE_SCHEDULER_POLICY=stealing"
  "1-thread|TROUPE_SCHEDULER_THREADS=1"
  "4-threads|TROUPE_SCHEDULER_THREADS=4"
  "1-basp-worker|TROUPE_MIDDLEMAN_WORKERS=1"
)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((r = 0; r < rounds; ++r)); do
  for s in "${settings[@]}"; do
    name=${s%%|*}
    envs=${s#*|}
    # shellcheck disable=SC2086
    env $envs "$troupe" microbenchmark --only _sync 2>/dev/null \
      | awk '$2 ~ /^[0-9.]+$/ {print $1, $2}' >> "$out/$name"
  done
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-14s %12s %12s %10s %10s\n' setting tasks_sync/s actor_sync/s task_p50 actor_p50
for s in "${settings[@]}"; do
  name=${s%%|*}
  f="$out/$name"
  row() { grep "^$1 " "$f" | awk '{print $2}' | median; }
  printf '%-14s %12s %12s %10s %10s\n' "$name" "$(row single_client_tasks_sync)" \
    "$(row 1_1_actor_calls_sync)" "$(row task_roundtrip_p50_us)" "$(row actor_call_p50_us)"
done
