#!/usr/bin/env bash
# A cluster on real machines over ssh: the first host of HOSTS_FILE becomes
# the head, every other host a node that joins it. Each host needs ssh access
# without a password and the troupe executable; the script copies this
# build's `troupe` to ~/.cache/troupe/bin on every host that lacks it (user
# programs reach the nodes by themselves: a node that lacks a driver's
# executable fetches it from the cluster by content hash).
#
# HOSTS_FILE: one host per line (`host` or `user@host`, optionally followed by
# `--num-cpus N --resources ...` flags for that node); `#` starts a comment.
#
# Usage: samples/cluster/ssh_cluster.sh up HOSTS_FILE [PORT] [BUILD_DIR]
#        samples/cluster/ssh_cluster.sh down HOSTS_FILE [BUILD_DIR]
#        samples/cluster/ssh_cluster.sh status HOSTS_FILE [BUILD_DIR]
# Environment: TROUPE_SSH_CONFIG (an ssh config file: ports, keys, aliases),
# TROUPE_REMOTE_DIR (where troupe goes on the hosts, ~/.cache/troupe/bin).
set -euo pipefail
cmd=${1:-}
hosts_file=${2:-}
if [ -z "$cmd" ] || [ ! -f "$hosts_file" ]; then
  sed -n '2,18p' "$0" >&2
  exit 2
fi
if [ "$cmd" = up ]; then
  port=${3:-6380}
  build=${4:-build}
else
  build=${3:-build}
fi
local_troupe=${TROUPE:-$build/tools/troupe}
remote_dir=${TROUPE_REMOTE_DIR:-'~/.cache/troupe/bin'}
remote_troupe="$remote_dir/troupe"
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=10)
[ -z "${TROUPE_SSH_CONFIG:-}" ] || ssh_opts+=(-F "$TROUPE_SSH_CONFIG")

mapfile -t lines < <(grep -v '^[[:space:]]*\(#\|$\)' "$hosts_file")
[ "${#lines[@]}" -gt 0 ] || { echo "no hosts in $hosts_file" >&2; exit 2; }

# Resolves the address a host listens on: its own view of its primary
# address (loopback on a host without another).
host_ip() {
  local ip
  ip=$(ssh "${ssh_opts[@]}" "$1" "hostname -I 2>/dev/null | cut -d' ' -f1")
  echo "${ip:-127.0.0.1}"
}

# Copies this build's troupe to the host unless it has the same one (by
# SHA-256: an older build there would not speak this one's protocol).
ensure_troupe() {
  local host=$1 want have
  want=$(sha256sum "$local_troupe" | cut -d' ' -f1)
  have=$(ssh "${ssh_opts[@]}" "$host" "sha256sum $remote_troupe 2>/dev/null | cut -d' ' -f1")
  if [ "$want" != "$have" ]; then
    ssh "${ssh_opts[@]}" "$host" "mkdir -p $remote_dir && cat > $remote_troupe.new && chmod +x $remote_troupe.new && mv $remote_troupe.new $remote_troupe" \
      <"$local_troupe"
  fi
}

case "$cmd" in
  up)
    read -r head head_flags <<<"${lines[0]}"
    ensure_troupe "$head"
    head_ip=$(host_ip "$head")
    # shellcheck disable=SC2086 # the per-host flags are meant to split
    started=$(ssh "${ssh_opts[@]}" "$head" "$remote_troupe start --head --bind $head_ip --port $port $head_flags") || exit 1
    echo "$started" | grep -v 'trp1\.' # the token stays off the terminal's scrollback
    # The cluster's token (README, Security): handed to each node on its
    # ssh stdin, never on a command line, which every user of a host can read.
    token=$(grep -oE 'trp1\.[0-9a-f]{64}' <<<"$started" | head -n1)
    addr="$head_ip:$port"
    for line in "${lines[@]:1}"; do
      read -r host flags <<<"$line"
      ensure_troupe "$host"
      ip=$(host_ip "$host")
      ssh "${ssh_opts[@]}" "$host" \
        "read -r TROUPE_TOKEN; export TROUPE_TOKEN; $remote_troupe start --address $addr --bind $ip $flags" \
        <<<"$token"
    done
    echo "cluster up: run programs with TROUPE_ADDRESS=$addr (on the head's machine;"
    echo "elsewhere also TROUPE_TOKEN, from troupe-UID/cluster.token in /tmp or"
    echo "\$XDG_RUNTIME_DIR on $head)"
    ;;
  down)
    # Workers first, the head last.
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
      read -r host _ <<<"${lines[$i]}"
      ssh "${ssh_opts[@]}" "$host" "$remote_troupe stop" || echo "could not stop $host" >&2
    done
    ;;
  status)
    read -r head _ <<<"${lines[0]}"
    ssh "${ssh_opts[@]}" "$head" "$remote_troupe status"
    ;;
  *)
    sed -n '2,18p' "$0" >&2
    exit 2
    ;;
esac
