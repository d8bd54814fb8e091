#!/usr/bin/env bash
# Actors as microservices: start a head node, run a program that leaves a
# named detached actor behind, run a second program that uses it, stop.
# Usage: samples/cluster/service_demo.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
out=$("$build/tools/troupe" start --head --num-cpus 2)
echo "$out"
addr=$(grep -o '127\.0\.0\.1:[0-9]*' <<<"$out" | head -n1)
trap '"$build/tools/troupe" stop' EXIT
TROUPE_ADDRESS=$addr "$build/samples/service_create"
TROUPE_ADDRESS=$addr "$build/samples/service_query"
