#!/usr/bin/env bash
# A cluster on this machine whose nodes each live in a network namespace of
# their own, with an address on a private bridge: a node can be cut off the
# network (`cut`) and put back (`heal`), as a failing cable or switch would.
# Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `ip` from iproute2.
#
# Usage: samples/cluster/netns_cluster.sh up [NODES] [CPUS_PER_NODE] [BUILD_DIR]
#        samples/cluster/netns_cluster.sh cut NODE | heal NODE
#        samples/cluster/netns_cluster.sh down [BUILD_DIR]
# Node i is namespace troupe-n<i> at 10.77.0.<10+i>; the head is node 1 at
# 10.77.0.11:6380. The bridge troupe-br (10.77.0.1) connects them to this
# namespace, so programs here connect with TROUPE_ADDRESS=10.77.0.11:6380.
set -euo pipefail
cmd=${1:-}
bridge=troupe-br
subnet=10.77.0
port=6380
node_ip() { echo "$subnet.$((10 + $1))"; }

usage() { sed -n '2,13p' "$0" >&2; exit 2; }

case "$cmd" in
  up)
    nodes=${2:-3}
    cpus=${3:-2}
    build=${4:-build}
    troupe=$(realpath "${TROUPE:-$build/tools/troupe}")
    ip link add "$bridge" type bridge
    ip addr add "$subnet.1/24" dev "$bridge"
    ip link set "$bridge" up
    for ((i = 1; i <= nodes; i++)); do
      ns=troupe-n$i
      ip netns add "$ns"
      ip link add "tv$i" type veth peer name eth0 netns "$ns"
      ip link set "tv$i" master "$bridge" up
      ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
    done
    head="$(node_ip 1):$port"
    ip netns exec troupe-n1 "$troupe" start --head --bind "$(node_ip 1)" --port "$port" \
      --num-cpus "$cpus"
    for ((i = 2; i <= nodes; i++)); do
      ip netns exec "troupe-n$i" "$troupe" start --address "$head" --bind "$(node_ip "$i")" \
        --num-cpus "$cpus"
    done
    echo "cluster of $nodes nodes in network namespaces; TROUPE_ADDRESS=$head"
    ;;
  cut)
    [ -n "${2:-}" ] || usage
    ip -n "troupe-n$2" link set eth0 down
    echo "node $2 ($(node_ip "$2")) is cut off"
    ;;
  heal)
    [ -n "${2:-}" ] || usage
    ip -n "troupe-n$2" link set eth0 up
    ;;
  down)
    build=${2:-build}
    troupe=${TROUPE:-$build/tools/troupe}
    "$troupe" stop || true
    for ns in $(ip netns list | grep -o '^troupe-n[0-9]*'); do
      ip netns del "$ns"
    done
    # A namespace lives on while a process is in it: take its cable away.
    for link in $(ip -o link show | grep -o ' tv[0-9]*@' | tr -d ' @'); do
      ip link del "$link" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
    ;;
  *)
    usage
    ;;
esac
