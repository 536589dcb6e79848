#!/bin/sh
# A program built against an older release keeps working with this one:
# tests/abi/old_app.c is compiled with a copy of include/ whose versioned
# structs lack their trailing fields (as an older release would have had
# them), linked against BUILD_DIR/libh2.so and run from the tree.
# Usage: tests/check_abi.sh BUILD_DIR
set -eu
build=$1
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R include "$tmp/old"

# cut FILE FIELD_LINE STRUCT: drops FIELD_LINE and every line after it up to
# the end of STRUCT's definition.
cut() {
    awk -v field="$2" -v end="} $3;" '
        $0 == field { skip = 1 }
        $0 == end { skip = 0 }
        !skip { print }
    ' "$tmp/old/h2/$1" >"$tmp/cut.h"
    if cmp -s "$tmp/cut.h" "$tmp/old/h2/$1"; then
        echo "check_abi: $3 has no line '$2' in $1"
        exit 1
    fi
    mv "$tmp/cut.h" "$tmp/old/h2/$1"
}
cut conn_config.h '    uint32_t max_continuation_frames;' h2_conn_config
cut conn_limits.h '    uint32_t active_requests;       /* request slots taken now (servers) */' h2_conn_stats
cut service.h '    int post_wait_ms;' h2_svc_config
cut service_conn.h '    const uint8_t *initial_data;' h2_svc_conn_config

flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror ${SAN:-}"
$cc $flags -DABI_PROBE -Iinclude tests/abi/old_app.c -o "$tmp/probe" "$build/libh2.so" -lpthread
$cc $flags -I"$tmp/old" tests/abi/old_app.c -o "$tmp/old_app" "$build/libh2.so" -lpthread
new=$(LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/probe")
out=$(LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/old_app") || {
    printf '%s\n' "$out"
    exit 1
}
old=$(printf '%s\n' "$out" | head -n 1)
# Every struct of the copy must really be smaller than the tree's.
set -- $new
for o in $old; do
    if [ "$o" -ge "$1" ]; then
        echo "check_abi: the older layouts ($old) are not smaller than the tree's ($new)"
        exit 1
    fi
    shift
done
printf '%s\n' "$out" | tail -n 1
