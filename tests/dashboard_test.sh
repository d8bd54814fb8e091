#!/usr/bin/env bash
# The dashboard in a real browser: a head and a second node, a named actor
# left by a program; headless chromium loads the page with the cluster's
# token and the DOM must show both nodes and the actor; the API refuses a
# request without the token. Saves a screenshot (dashboard.png) in the
# build folder, a test artifact.
# Usage: dashboard_test.sh TROUPE_EXE SERVICE_CREATE_EXE PARALLEL_TASKS_EXE OUT_DIR
set -uo pipefail
troupe=$1
service_create=$2
parallel_tasks=$3
out_dir=$4
export XDG_RUNTIME_DIR
XDG_RUNTIME_DIR=$(mktemp -d) # our own pid files: stop touches nothing else
browser_dir=$(mktemp -d)
trap '"$troupe" stop >/dev/null 2>&1; rm -rf "$XDG_RUNTIME_DIR" "$browser_dir"' EXIT
passed=0
failed=0
check() { # check NAME COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "FAILED: no chromium (./dev deps installs it)"
  exit 1
fi
# chromium URL ARGS...: a headless browser, as root too, that runs the page's
# scripts for 5 s of virtual time (its fetches are real).
run_browser() {
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$browser_dir" --virtual-time-budget=5000 "${@:2}" "$1" 2>/dev/null
}
# status URL [TOKEN]: the HTTP status of a GET.
status() {
  python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    print(urllib.request.urlopen(req, timeout=20).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}

out=$("$troupe" start --head --port 0 --num-cpus 2 --object-store-memory 67108864 \
        --dashboard-port 0)
echo "$out"
addr=$(grep -o '127\.0\.0\.1:[0-9]*' <<<"$out" | head -n1)
token=$(grep -oE 'trp1\.[0-9a-f]{64}' <<<"$out" | head -n1)
"$troupe" start --address "$addr" --num-cpus 1 --resources accelerator=1 \
  --object-store-memory 67108864 >/dev/null
TROUPE_ADDRESS=$addr timeout 60 "$service_create"
TROUPE_ADDRESS=$addr timeout 60 "$parallel_tasks" >/dev/null
timeout 60 "$troupe" job submit --address "$addr" -- /bin/sh -c 'echo from a job; exit 4' \
  >/dev/null 2>&1
st=$("$troupe" status --address "$addr")
echo "$st"
url=$(grep -oE 'dashboard: http://[0-9.]+:[0-9]+' <<<"$st" | sed 's/^dashboard: //')
check "troupe status names the dashboard" test -n "$url"

check "the API refuses a request without the token" test "$(status "$url/api/nodes")" = 401
check "and one with another token" \
  test "$(status "$url/api/nodes" "trp1.$(printf '0%.0s' {1..64})")" = 401
check "and answers one with it" test "$(status "$url/api/nodes" "$token")" = 200
check "the submitted jobs have their API" \
  test "$(status "$url/api/submissions" "$token")" = 200
check "the health endpoint needs no token" test "$(status "$url/healthz")" = 200

dom=$(run_browser "$url/?token=$token" --dump-dom)
check "the page shows node 1" grep -q 'data-node-id="1"' <<<"$dom"
check "the page shows node 2" grep -q 'data-node-id="2"' <<<"$dom"
check "the page shows the actor 'kv'" grep -q 'data-actor-name="kv"' <<<"$dom"
check "the page lists node 1's log files" grep -q 'data-file="node.log"' <<<"$dom"
check "the page shows nodes alive" grep -q '2 of 2 nodes alive' <<<"$dom"
check "the page shows the submitted job, failed" \
  grep -qE 'data-submission-id="1"><td>1</td><td><span class="state failed">FAILED' <<<"$dom"
check "and its failure among the errors" \
  grep -q '<td>job</td><td>1</td><td>exited with status 4</td>' <<<"$dom"
refused=$(run_browser "$url/" --dump-dom)
check "without the token the page is refused" grep -q 'needs its token' <<<"$refused"

run_browser "$url/?token=$token" --window-size=1400,1100 --screenshot="$out_dir/dashboard.png" \
  >/dev/null
check "a screenshot was taken" test -s "$out_dir/dashboard.png"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
