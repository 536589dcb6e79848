#!/bin/sh
# Runs one libFuzzer target for a fixed time on a copy of its seed corpus.
#   run_smoke.sh <fuzzer> <corpus dir> <seconds> <artifact dir>
# Prints "FUZZ <target> execs=<n> exec/s=<n> crashes=<n>"; exits non-zero on
# any crash, leak, timeout or out-of-memory (the input is kept in
# <artifact dir>/<target>-crash-* etc.).
set -u
bin=$1; corpus=$2; secs=$3; art=$4
name=$(basename "$bin" | sed 's/^fuzz_//')
tmp=$(mktemp -d "${TMPDIR:-/tmp}/h2fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus" "$art"
[ -d "$corpus" ] && cp "$corpus"/* "$tmp/corpus/" 2>/dev/null
dict=""
case $name in server|client|service_feed) dict="-dict=fuzz/h2.dict" ;; esac
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$art/$name-" $dict "$tmp/corpus" >"$tmp/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log" | tail -1)
secs_run=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$tmp/log" | tail -1)
[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log" | tail -1)
execs=${execs:-0}
rate=0
[ -n "$secs_run" ] && [ "$secs_run" -gt 0 ] && rate=$((execs / secs_run))
crashes=0
[ $rc -ne 0 ] && crashes=1
echo "FUZZ $name execs=$execs exec/s=$rate crashes=$crashes"
if [ $rc -ne 0 ]; then
    grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$tmp/log" | head -20
    exit 1
fi
exit 0
