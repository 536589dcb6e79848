#!/bin/sh
# Runs the compile line of README.md's "Using the library" section against
# BUILD_DIR/libh2-uninstalled.pc: a small program using the core must
# compile, link and run from the tree, without installing anything.
# Usage: tests/check_pkgconfig.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
line=$(grep -m1 '^cc app\.c .*pkg-config.*libh2-uninstalled' README.md) || {
    echo "README.md lost its pkg-config compile line"
    exit 1
}
cat >"$tmp/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <h2/h2.h>

int main(void)
{
    static const h2_header req[] = {
        H2_HDR(":method", "GET"), H2_HDR(":scheme", "http"),
        H2_HDR(":authority", "localhost"), H2_HDR(":path", "/"),
    };
    h2_conn_config cfg;
    h2_conn_config_init(&cfg, H2_ROLE_CLIENT);
    h2_conn *c = NULL;
    if (h2_conn_new(&c, &cfg) != 0 || h2_conn_initiate(c) != 0)
        return 1;
    int rv = h2_conn_send_headers(c, 1, req, 4, H2_SEND_END_STREAM, NULL);
    size_t queued = h2_conn_output_pending(c);
    const h2_header *path = h2_header_find(req, 4, ":path");
    h2_conn_free(c);
    if (rv != 0 || queued < 24 || path != &req[3])
        return 1;
    puts("ok");
    return 0;
}
C
# The README's line, run from the tree with this build's folder, compiler and sanitizers.
cmd=$(printf '%s\n' "$line" | sed -e "s|^cc |${CC:-cc} ${SAN:-} |" -e "s|PKG_CONFIG_PATH=build |PKG_CONFIG_PATH=$build |" \
    -e "s| app\.c | $tmp/app.c |" -e "s| -o app\$| -o $tmp/app|")
sh -c "$cmd"
out=$("$tmp/app")
if [ "$out" != "ok" ]; then
    echo "pkg-config example printed: $out"
    exit 1
fi
echo "pkg-config (uninstalled): 1 passed, 0 failed"
