#!/usr/bin/env bash
# A multi-node cluster on this machine: a head and NODES-1 nodes that join it,
# each a node daemon of its own on a loopback port, and the matching stop.
#
# Usage: samples/cluster/local_cluster.sh up [NODES] [CPUS_PER_NODE] [BUILD_DIR]
#        samples/cluster/local_cluster.sh down [BUILD_DIR]
# Node i gets the extra resources in $TROUPE_NODE<i>_RESOURCES, e.g.
#   TROUPE_NODE2_RESOURCES=GPU=1 samples/cluster/local_cluster.sh up 3
# Programs connect with TROUPE_ADDRESS=<the printed address>.
set -euo pipefail
cmd=${1:-}
case "$cmd" in
  up)
    nodes=${2:-3}
    cpus=${3:-2}
    build=${4:-build}
    ;;
  down)
    build=${2:-build}
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
troupe=${TROUPE:-$build/tools/troupe}
[ -x "$troupe" ] || { echo "no troupe executable at $troupe (build first: ./dev build)" >&2; exit 2; }

if [ "$cmd" = down ]; then
  exec "$troupe" stop
fi

resources_of() { local var="TROUPE_NODE$1_RESOURCES"; echo "${!var:-}"; }
out=$("$troupe" start --head --num-cpus "$cpus" --resources "$(resources_of 1)")
addr=$(grep -o '[0-9.]*:[0-9]*' <<<"$out" | head -n1)
[ -n "$addr" ] || { echo "$out" >&2; exit 1; }
echo "head (node 1) at $addr"
for ((i = 2; i <= nodes; i++)); do
  # One at a time: node ids follow the order of joining.
  "$troupe" start --address "$addr" --num-cpus "$cpus" --resources "$(resources_of "$i")" |
    sed "s/^/node $i: /"
done
echo
echo "cluster of $nodes nodes; run programs with TROUPE_ADDRESS=$addr"
echo "stop it with: $0 down $build"
