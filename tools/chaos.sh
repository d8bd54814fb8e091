#!/usr/bin/env bash
# The chaos test's workload for longer (10 minutes by default): a 4-node
# cluster on this machine runs rounds of nested tasks, logged actors and
# 1-20 MB objects between nodes while a random worker is SIGKILLed every
# second and a random non-head node every 10 s (a fresh one takes its place).
# Every round's results are checked; it prints the seed, the rounds and what
# it killed.
#
#   tools/chaos.sh [SECONDS] [SEED]      (after ./dev build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TROUPE_BUILD_DIR:-build}
[ -x "$BUILD_DIR/tests/integration_tests" ] || ./dev build
export TROUPE_CHAOS_SECONDS=${1:-600}
[ -n "${2:-}" ] && export TROUPE_CHAOS_SEED=$2
exec "$BUILD_DIR/tests/integration_tests" --source-file='*chaos.test.cpp'
