#!/usr/bin/env bash
# samples/cluster/ssh_cluster.sh against a real sshd: this test starts one on
# a free loopback port with a host key and a user key made for it, and three
# ssh aliases of this machine stand for three hosts. The script must copy
# troupe to each, start a head and two nodes that join it, and a program
# must run through them (the placement sample reaches all three nodes);
# `down` stops them all.
# Usage: ssh_cluster_test.sh TROUPE_EXE SCRIPT SAMPLE_EXE PLACEMENT_EXE
set -uo pipefail
troupe=$1
script=$2
sample=$3
placement=$4
work=$(mktemp -d)
chmod 755 "$work"
sshd_pid=
cleanup() {
  XDG_RUNTIME_DIR=$work/run "$troupe" stop >/dev/null 2>&1
  [ -z "$sshd_pid" ] || kill "$sshd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
check() { # check NAME COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$sshd" ] || ! command -v ssh >/dev/null; then
  echo "FAILED: no sshd or ssh (./dev deps installs openssh-server and openssh-client)"
  exit 1
fi
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_open() {
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" \
    2>/dev/null
}
until_ok() { # until_ok SECONDS COMMAND...
  local deadline=$((SECONDS + $1))
  until "${@:2}"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
cp "$work/id.pub" "$work/authorized_keys"
mkdir -p "$work/run" "$work/logs"
chmod 700 "$work/run"
port=$(free_port)
cat >"$work/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
SetEnv XDG_RUNTIME_DIR=$work/run TROUPE_LOG_DIR=$work/logs
CONF
# sshd's privilege separation wants its empty folder (root only).
[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
"$sshd" -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
check "sshd listens" until_ok 20 port_open "$port"

cat >"$work/ssh_config" <<CONF
Host host-a host-b host-c
  HostName 127.0.0.1
  Port $port
  User $(id -un)
  IdentityFile $work/id
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CONF
cat >"$work/hosts" <<HOSTS
# head, then two nodes
host-a --num-cpus 2 --object-store-memory 67108864 --dashboard-port -1
host-b --num-cpus 1 --object-store-memory 67108864
host-c --num-cpus 1 --object-store-memory 67108864 --resources GPU=1
HOSTS
export TROUPE_SSH_CONFIG=$work/ssh_config TROUPE_REMOTE_DIR=$work/remote-bin TROUPE=$troupe
check "ssh works with the test's key" ssh -F "$work/ssh_config" -o BatchMode=yes host-a true
head_port=$(free_port)
up=$(timeout 120 "$script" up "$work/hosts" "$head_port" 2>&1)
echo "$up"
check "up says the cluster is up" grep -q 'cluster up' <<<"$up"
check "up copied troupe to the host" cmp -s "$troupe" "$work/remote-bin/troupe"
check "up keeps the token off the terminal" bash -c '! grep -q "trp1\." <<<"$1"' _ "$up"
addr=$(grep -oE 'TROUPE_ADDRESS=[0-9.]+:[0-9]+' <<<"$up" | head -n1 | cut -d= -f2)
token=$(cat "$work/run/troupe-$(id -u)/cluster.token" 2>/dev/null)
st=$("$script" status "$work/hosts" 2>&1)
echo "$st"
check "status shows three alive nodes" grep -q '3 nodes (3 alive, 0 dead)' <<<"$st"

result=$(TROUPE_ADDRESS=$addr TROUPE_TOKEN=$token timeout 60 "$sample" 2>&1)
echo "$result"
check "a program runs on the ssh cluster" grep -q 'f(0..3) = 0 1 4 9' <<<"$result"
out=$(TROUPE_ADDRESS=$addr TROUPE_TOKEN=$token timeout 60 "$placement" 2>&1)
echo "$out"
check "its tasks reach all three nodes" grep -q 'placement group bundles on nodes 1 2 3' <<<"$out"

again=$(timeout 120 "$script" down "$work/hosts" 2>&1)
echo "$again"
check "down stops the nodes" until_ok 20 bash -c \
  '! XDG_RUNTIME_DIR="$1" "$2" status --address "$3" >/dev/null 2>&1' _ "$work/run" "$troupe" "$addr"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
