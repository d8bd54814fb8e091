#!/usr/bin/env bash
# `troupe job` against a real head: a driver program submitted with its
# output streamed back and kept; a program the head does not have, fetched
# from the submitting CLI by its hash (the CLI runs in a mount namespace of
# its own, so the head cannot see its file); a failing program; stop of a
# running job; list, status, logs; the errors of bad input; the progress
# line on a terminal and plain lines when piped.
# Usage: job_test.sh TROUPE_EXE PARALLEL_TASKS_EXE
set -uo pipefail
troupe=$1
parallel_tasks=$2
export XDG_RUNTIME_DIR
XDG_RUNTIME_DIR=$(mktemp -d) # our own pid files: stop touches nothing else
work=$(mktemp -d)
trap '"$troupe" stop >/dev/null 2>&1; rm -rf "$XDG_RUNTIME_DIR" "$work"' EXIT
passed=0
failed=0
check() { # check NAME COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
contains() { grep -qF -- "$2" <<<"$1"; } # contains TEXT PART
# gone PID: it ended (gone, or a zombie its parent has not reaped yet).
gone() {
  for _ in $(seq 200); do
    [ -e "/proc/$1" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}
# job_state ID: the job's state, from `job status --json`.
job_state() {
  "$troupe" job status "$1" --address "$addr" --json | python3 -c \
    'import json, sys; print(json.load(sys.stdin)["state"])'
}

# A cache of fetched programs of its own: the fetch below happens each run.
out=$(TROUPE_EXE_CACHE=$work/cache "$troupe" start --head --port 0 --num-cpus 2 \
        --object-store-memory 67108864 \
        --dashboard-port -1)
addr=$(grep -o '127\.0\.0\.1:[0-9]*' <<<"$out" | head -n1)
check "the head started" test -n "$addr"

# 1. A driver program that runs tasks on the cluster: its output (its
# workers' lines too) comes back, and the CLI exits 0 when it succeeded.
timeout 120 "$troupe" job submit --address "$addr" -- "$parallel_tasks" \
  >"$work/out" 2>"$work/err"
rc=$?
echo "--- job submit $parallel_tasks (exit $rc):"; cat "$work/out" "$work/err"
check "submit exits 0 for a job that succeeded" test "$rc" = 0
check "the driver's output came back" grep -q 'f(0..3) = 0 1 4 9' "$work/out"
check "its workers' output too, prefixed" grep -qE '^\(f pid=[0-9]+, node=1\) computing' \
  "$work/out"
check "piped, the states come as plain lines" grep -qE '^\[[0-9.]+ s\] job 1 RUNNING' "$work/err"
check "and the end" grep -q 'job 1 SUCCEEDED: exited with status 0' "$work/err"
check "job logs prints the same output again" \
  contains "$("$troupe" job logs 1 --address "$addr")" 'f(0..3) = 0 1 4 9'
check "job logs --tail 1 prints the last line" \
  test "$("$troupe" job logs 1 --tail 1 --address "$addr")" = "$(tail -n1 "$work/out")"

# 2. A program the head does not have: fetched from the CLI by its hash.
mkdir -p "$work/private"
timeout 120 unshare -m sh -c \
  'mount -t tmpfs none "$1" && cp "$2" "$1/copied_driver" && "$3" job submit --address "$4" \
     -- "$1/copied_driver"' sh "$work/private" "$parallel_tasks" "$troupe" "$addr" \
  >"$work/out2" 2>"$work/err2"
rc=$?
echo "--- job submit of a file the head cannot see (exit $rc):"; cat "$work/out2" "$work/err2"
check "the head cannot see the private file" test ! -e "$work/private/copied_driver"
check "a program only the CLI has runs on the head" test "$rc" = 0
check "and its tasks ran" grep -q 'f(0..3) = 0 1 4 9' "$work/out2"
check "the CLI showed the program being sent" grep -q 'job 2 PENDING: sending its program' \
  "$work/err2"
check "the head keeps it in its cache, by hash" \
  test -x "$work/cache/$(sha256sum "$parallel_tasks" | cut -c1-64)"

# 3. A failing program: exit 1, its state, its status and its output kept.
"$troupe" job submit --address "$addr" --env GREETING=hello -- /bin/sh -c \
  'echo "$GREETING at $TROUPE_ADDRESS, role ${TROUPE_ROLE:-none}, in $(basename "$PWD")";
   echo oops >&2; exit 3' >"$work/out3" 2>"$work/err3"
rc=$?
cat "$work/out3" "$work/err3"
check "submit exits 1 for a job that failed" test "$rc" = 1
check "it says how it ended" grep -q 'job 3 FAILED: exited with status 3' "$work/err3"
check "--env reached the program, with the head's address and no node setting" \
  grep -qx "hello at $addr, role none, in job-3" "$work/out3"
check "its stderr is kept with its stdout" grep -qx 'oops' "$work/out3"
check "its state is FAILED" test "$(job_state 3)" = FAILED
status3=$("$troupe" job status 3 --address "$addr")
check "job status shows the exit" contains "$status3" "exited with status 3"

# 4. Stop: a running job gets SIGTERM, ends STOPPED, and its process is gone.
id=$("$troupe" job submit --no-wait --address "$addr" -- /bin/sh -c 'echo started; exec sleep 300')
check "--no-wait prints the job's id" test "$id" = 4
check "it runs" test "$(job_state "$id")" = RUNNING
pid=$("$troupe" job status "$id" --address "$addr" --json | python3 -c \
  'import json, sys; print(json.load(sys.stdin)["pid"])')
stop_out=$("$troupe" job stop "$id" --address "$addr")
echo "$stop_out"
check "job stop waits for the end" \
  contains "$stop_out" "job 4 STOPPED: stopped: killed by signal 15"
check "its process is gone" gone "$pid"
check "its state is STOPPED" test "$(job_state "$id")" = STOPPED

# 5. logs --follow prints until the job ends.
id=$("$troupe" job submit --no-wait --address "$addr" -- /bin/sh -c \
       'echo first; while [ ! -e "$1" ]; do sleep 0.05; done; echo second' sh "$work/go")
("$troupe" job logs "$id" --follow --address "$addr" >"$work/follow" 2>&1) &
follower=$!
for _ in $(seq 200); do grep -q first "$work/follow" && break; sleep 0.05; done
touch "$work/go"
wait "$follower"
cat "$work/follow"
check "logs --follow printed what came before and after it started" \
  test "$(grep -cE '^(first|second)$' "$work/follow")" = 2
check "and ended with the job" grep -q "job $id SUCCEEDED" "$work/follow"

# 6. The list, and bad input named.
list=$("$troupe" job list --address "$addr" --json)
check "job list has every job" test "$(python3 -c \
  'import json, sys; print(" ".join(j["state"] for j in json.loads(sys.argv[1])))' "$list")" \
  = "SUCCEEDED SUCCEEDED FAILED STOPPED SUCCEEDED"
err=$("$troupe" job status 99 --address "$addr" 2>&1)
check "an unknown job is named" contains "$err" "no job 99 was submitted"
err=$("$troupe" job submit --address "$addr" -- no-such-program-here 2>&1)
check "an unknown program is named" contains "$err" "no program no-such-program-here on PATH"
err=$("$troupe" job submit --address "$addr" -- /etc/passwd 2>&1)
check "a file that is not a program is refused" contains "$err" "is not an executable file"
err=$("$troupe" job submit --address "$addr" --env NOVALUE -- /bin/true 2>&1)
check "a bad --env is named" contains "$err" "--env NOVALUE: not NAME=VALUE"

# 7. On a terminal the progress is one line redrawn in place.
script -qec "$troupe job submit --address $addr -- /bin/sh -c 'sleep 0.5; echo \$((6*7))-answer'" \
  /dev/null >"$work/tty" 2>&1
check "on a terminal the line is redrawn" grep -q $'\r\033\\[K' "$work/tty"
check "and the job's output is there" grep -q '42-answer' "$work/tty"

# 8. A head that stops sends its running jobs SIGTERM.
id=$("$troupe" job submit --no-wait --address "$addr" -- /bin/sh -c 'exec sleep 300')
pid=$("$troupe" job status "$id" --address "$addr" --json | python3 -c \
  'import json, sys; print(json.load(sys.stdin)["pid"])')
check "a long job runs" test -e "/proc/$pid"
"$troupe" stop >/dev/null
check "the head's stop ended it" gone "$pid"

echo "$passed passed, $failed failed"
test "$failed" = 0
