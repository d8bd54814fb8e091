#!/usr/bin/env bash
# troupe in containers, as Kubernetes runs it: builds the node image
# (samples/cluster/container/build_image.sh: a debootstrap rootfs, podman),
# then runs a head and two worker nodes as podman containers on a bridge
# network, each with the exact arguments of the Kubernetes manifests
# (samples/cluster/kubernetes, read by k8s_manifests.py; the Service's name
# given to the workers with --add-host). Checks the manifests hold together,
# the probes' /healthz, that the three nodes form a cluster, runs a job on
# it from outside (its program fetched into the head's container, its tasks
# on the nodes), and that a head container stops cleanly on SIGTERM.
# Usage: container_test.sh TROUPE_EXE BUILD_DIR SOURCE_DIR PARALLEL_TASKS_EXE
set -uo pipefail
troupe=$1
build=$2
src=$3
parallel_tasks=$4
manifests=$src/samples/cluster/kubernetes
passed=0
failed=0
not() { ! "$@"; }
check() { # check NAME COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || { echo "FAILED: no $tool (./dev deps installs it)"; exit 1; }
done

# crun refuses a machine whose cgroups are v1 with a cgroup2 mount beside
# them ("hybrid mode"), as some CI sandboxes are: run this test in a mount
# namespace of its own without that mount (podman's own state is shared).
if [ -z "${TROUPE_IN_OWN_MOUNTS:-}" ] \
   && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] \
   && [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  echo "# hybrid cgroups: running in a mount namespace without /sys/fs/cgroup/unified"
  exec env TROUPE_IN_OWN_MOUNTS=1 unshare -m sh -c \
    'umount /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi

echo "--- the Kubernetes manifests"
check "the manifests hold together" "$src/tests/k8s_manifests.py" check "$troupe" \
  "$manifests"

tag="localhost/troupe:test-$$"
names=()
trap 'podman rm -f "${names[@]}" >/dev/null 2>&1; podman rmi -f "$tag" >/dev/null 2>&1' EXIT
echo "--- the image"
if ! "$src/samples/cluster/container/build_image.sh" "$build" "$tag"; then
  echo "FAILED: the image was not built"
  exit 1
fi

# What this machine lets podman do: as root it raises the containers' open
# files and process limits, which a sandbox without CAP_SYS_RESOURCE
# refuses; there, give them limits it may set, and no cgroup of their own.
run_flags=(--shm-size 256m)
if ! podman run --rm "${run_flags[@]}" "$tag" --help >/dev/null 2>&1; then
  run_flags+=(--cgroups=disabled --ulimit nofile=4096:4096 --ulimit nproc=32768:32768)
  echo "# podman runs here with ${run_flags[*]}"
fi
check "troupe runs in the image" podman run --rm "${run_flags[@]}" "$tag" --help

token=$("$troupe" new-token)
export TROUPE_TOKEN=$token # for the CLI below
args_of() { "$src/tests/k8s_manifests.py" args "$manifests" "$1" TROUPE_CPUS=1 \
              TROUPE_STORE_BYTES=134217728; }
# run NAME DEPLOYMENT [PODMAN FLAGS...]: a container with the manifest's arguments.
run() {
  mapfile -t a < <(args_of "$2")
  names+=("$1")
  podman run -d --name "$1" "${run_flags[@]}" -e TROUPE_TOKEN="$token" "${@:3}" "$tag" \
    "${a[@]}" >/dev/null
}
ip_of() { podman inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }
# http_status URL: the status of a GET, 0 when nothing answers.
http_status() {
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
PY
}
# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local until=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$until" ]; do "${@:2}" && return 0; sleep 0.5; done
  return 1
}
healthy() { test "$(http_status "http://$1:8080/healthz")" = 200; }
alive_nodes() {
  "$troupe" status --address "$head_ip:6380" --json 2>/dev/null | python3 -c \
    'import json, sys; print(sum(n["alive"] for n in json.load(sys.stdin)["nodes"]))'
}

echo "--- a head and two nodes"
run "troupe-head-$$" troupe-head
head_ip=$(ip_of "troupe-head-$$")
echo "head at $head_ip"
check "the head's /healthz answers (its readiness and liveness probe)" \
  wait_for 60 healthy "$head_ip"
for i in 1 2; do
  run "troupe-worker-$i-$$" troupe-worker --add-host "troupe-head:$head_ip"
done
check "both nodes' /healthz answer" \
  wait_for 60 sh -c "$(declare -f http_status healthy); healthy $(ip_of "troupe-worker-1-$$") \
                     && healthy $(ip_of "troupe-worker-2-$$")"
three() { test "$(alive_nodes)" = 3; }
check "the cluster has three nodes alive" wait_for 60 three
"$troupe" status --address "$head_ip:6380"
check "the dashboard answers on the head" \
  test "$(http_status "http://$head_ip:8265/healthz")" = 200

echo "--- a job from outside the cluster"
timeout 180 "$troupe" job submit --address "$head_ip:6380" -- "$parallel_tasks" \
  >"/tmp/container-job-$$" 2>&1
rc=$?
cat "/tmp/container-job-$$"
check "a job submitted from outside ran on the cluster" test "$rc" = 0
check "its tasks ran" grep -q 'f(0..3) = 0 1 4 9' "/tmp/container-job-$$"
check "on the worker nodes (the head offers no CPU)" \
  grep -qE '^\(f pid=[0-9]+, node=[23]\)' "/tmp/container-job-$$"
check "none on the head" not grep -q 'node=1)' "/tmp/container-job-$$"
rm -f "/tmp/container-job-$$"
metrics=$("$troupe" metrics --address "$head_ip:6380" 2>&1)
echo "series per node: $(grep -v '^#' <<<"$metrics" | grep -oE 'node="[0-9]+"' | sort \
                          | uniq -c | tr -s ' \n' ' ')"
check "every node's metrics are scraped" \
  test "$(grep -v '^#' <<<"$metrics" | grep -oE 'node="[0-9]+"' | sort -u | tr -d '\n')" \
  = 'node="1"node="2"node="3"'

echo "--- stopping"
podman stop -t 20 "troupe-worker-1-$$" "troupe-worker-2-$$" >/dev/null
podman stop -t 20 "troupe-head-$$" >/dev/null
check "the head container stopped on SIGTERM, cleanly" \
  test "$(podman inspect -f '{{.State.ExitCode}}' "troupe-head-$$")" = 0
check "so did the nodes" \
  test "$(podman inspect -f '{{.State.ExitCode}}' "troupe-worker-1-$$")" = 0

echo "$passed passed, $failed failed"
test "$failed" = 0
