#!/usr/bin/env bash
# A multi-node cluster on this machine: a head and NODES-1 nodes that join it,
# each a node daemon of its own on a loopback port, and the matching stop.
#
# Usage: samples/cluster/local_cluster.sh up [NODES] [CPUS_PER_NODE] [BUILD_DIR]
#        samples/cluster/local_cluster.sh restart-head [BUILD_DIR]
#        samples/cluster/local_cluster.sh down [BUILD_DIR]
# Node i gets the extra resources in $TROUPE_NODE<i>_RESOURCES, e.g.
#   TROUPE_NODE2_RESOURCES=GPU=1 samples/cluster/local_cluster.sh up 3
# Programs connect with TROUPE_ADDRESS=<the printed address>. The head keeps
# its state in $TROUPE_STATE_DIR (default /tmp/troupe-UID/local-cluster):
# restart-head kills it with SIGKILL and starts it again on its port, and
# the nodes and programs go on (README, "Persistence and restarts"). The head's
# port is $TROUPE_HEAD_PORT, or a free one below the kernel's ephemeral range
# (a port from that range may be taken by any outgoing connection while the
# head is down, and it could not come back on it).
set -euo pipefail
cmd=${1:-}
case "$cmd" in
  up)
    nodes=${2:-3}
    cpus=${3:-2}
    build=${4:-build}
    ;;
  down | restart-head)
    build=${2:-build}
    ;;
  *)
    sed -n '2,17p' "$0" >&2
    exit 2
    ;;
esac
troupe=${TROUPE:-$build/tools/troupe}
[ -x "$troupe" ] || { echo "no troupe executable at $troupe (build first: ./dev build)" >&2; exit 2; }

resources_of() { local var="TROUPE_NODE$1_RESOURCES"; echo "${!var:-}"; }
state=${TROUPE_STATE_DIR:-/tmp/troupe-$(id -u)/local-cluster}
head_file=$state/head # "PID HOST:PORT CPUS" of the head started here
if [ "$cmd" = down ]; then
  "$troupe" stop
  rm -rf "$state"
  exit 0
fi

if [ "$cmd" = restart-head ]; then
  read -r pid addr cpus <"$head_file"
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  out=$("$troupe" start --head --port "${addr##*:}" --num-cpus "$cpus" \
          --resources "$(resources_of 1)" --state-dir "$state")
  pid=$(grep -o 'node pid [0-9]*' <<<"$out" | grep -o '[0-9]*$')
  echo "$pid $addr $cpus" >"$head_file"
  echo "head restarted at $addr (pid $pid) from $state"
  exit 0
fi

# A port in 20000-32000 with no socket on it (/proc/net/tcp shows ports in hex).
free_low_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    if ! awk 'NR > 1 { print $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
      grep -qi ":$(printf '%04X' "$port")\$"; then
      echo "$port"
      return
    fi
  done
  echo 0
}

rm -rf "$state"
mkdir -p "$state"
head_port=${TROUPE_HEAD_PORT:-$(free_low_port)}
out=$("$troupe" start --head --port "$head_port" --num-cpus "$cpus" \
        --resources "$(resources_of 1)" --state-dir "$state")
addr=$(grep -o '[0-9.]*:[0-9]*' <<<"$out" | head -n1)
[ -n "$addr" ] || { echo "$out" >&2; exit 1; }
echo "$(grep -o 'node pid [0-9]*' <<<"$out" | grep -o '[0-9]*$') $addr $cpus" >"$head_file"
echo "head (node 1) at $addr"
for ((i = 2; i <= nodes; i++)); do
  # One at a time: node ids follow the order of joining.
  "$troupe" start --address "$addr" --num-cpus "$cpus" --resources "$(resources_of "$i")" |
    sed "s/^/node $i: /"
done
echo
echo "cluster of $nodes nodes; run programs with TROUPE_ADDRESS=$addr"
echo "stop it with: $0 down $build"
