#!/usr/bin/env bash
# A cluster whose nodes each have a network namespace of their own
# (samples/cluster/netns_cluster.sh): a program runs across it, and a node cut
# off the network shows dead in `troupe status` within a few seconds.
# Skipped (exit 77) where network namespaces are not permitted.
# Usage: netns_cluster.sh TROUPE_EXE SAMPLE_EXE LAUNCHER
set -uo pipefail
troupe=$1
sample=$2
launcher=$3
# The launcher needs namespaces, a bridge and veth pairs: try each.
probe() {
  ip netns add "tp-ns-$$" 2>/dev/null || return 1
  ip link add "tp-br-$$" type bridge 2>/dev/null || { ip netns del "tp-ns-$$"; return 1; }
  ip link add "tp-v-$$" type veth peer name eth0 netns "tp-ns-$$" 2>/dev/null
  local ok=$?
  ip link del "tp-v-$$" 2>/dev/null
  ip link del "tp-br-$$" 2>/dev/null
  ip netns del "tp-ns-$$" 2>/dev/null
  return $ok
}
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! probe; then
  echo "network namespaces, bridges or veth pairs are not permitted here: skipped"
  exit 77
fi
if ip link show troupe-br >/dev/null 2>&1; then
  echo "a netns cluster (troupe-br) is running already: skipped"
  exit 77
fi
export XDG_RUNTIME_DIR TROUPE=$troupe
XDG_RUNTIME_DIR=$(mktemp -d)
trap '"$launcher" down >/dev/null 2>&1; rm -rf "$XDG_RUNTIME_DIR"' EXIT
failed=0
check() { if "${@:2}"; then echo "ok: $1"; else failed=1; echo "FAILED: $1"; fi; }

"$launcher" up 3 1 || { echo "FAILED: the netns cluster did not start"; exit 1; }
addr=10.77.0.11:6380
status=$("$troupe" status --address "$addr")
echo "$status"
check "three nodes alive" grep -q '3 nodes (3 alive, 0 dead)' <<<"$status"
result=$(TROUPE_ADDRESS=$addr timeout 60 "$sample")
echo "$result"
check "a program runs on the cluster" grep -q 'f(0..3) = 0 1 4 9' <<<"$result"

"$launcher" cut 3
dead=no
for _ in $(seq 1 40); do
  if "$troupe" status --address "$addr" | grep -q '(2 alive, 1 dead)'; then dead=yes; break; fi
  sleep 0.25
done
check "the cut node is dead within 10 s" test "$dead" = yes
check "the node shown dead is node 3" bash -c \
  "'$troupe' status --address '$addr' | grep -q '^node 3 10.77.0.13:[0-9]*: dead'"
result=$(TROUPE_ADDRESS=$addr timeout 60 "$sample")
check "programs go on running on the others" grep -q 'f(0..3) = 0 1 4 9' <<<"$result"
exit $failed
