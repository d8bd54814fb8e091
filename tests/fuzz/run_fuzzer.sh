#!/usr/bin/env bash
# Runs one libFuzzer target from its seed corpus for FUZZ_SECONDS (default
# 20), keeping what it learns in FUZZ_WORK (never in the repository's
# corpus). A crash, leak, timeout or broken invariant fails the run and
# leaves the input in FUZZ_WORK, named by libFuzzer (crash-..., leak-...).
# libFuzzer prints the seed of its run ("INFO: Seed: N"): -seed=N repeats it.
# Exit codes are 1 on any finding: libFuzzer's own 77 reads as "skipped" to meson.
set -euo pipefail
exe=$1 seeds=$2
work=${FUZZ_WORK:?}
seconds=${FUZZ_SECONDS:-20}
mkdir -p "$work/corpus"
exec "$exe" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds"
