#!/bin/sh
# h2_svc_event.type is one enum, so -Wswitch checks a switch over it: a
# switch that names every event compiles with -Wswitch -Werror, and the
# same switch missing one event does not.
# Usage: tests/check_switch.sh
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
events=$(sed -n 's/^ *\(H2_SVC_EV_[A-Z_]*\)\( = [A-Z0-9_]*\)\{0,1\},.*/\1/p' include/h2/service_events.h)
[ -n "$events" ] || { echo "no H2_SVC_EV_ names found"; exit 1; }
write() { # $1: file, $2: an event to leave out (or none)
    {
        echo '#include <h2/service.h>'
        echo 'int kind(const h2_svc_event *ev);'
        echo 'int kind(const h2_svc_event *ev) {'
        echo '    switch (ev->type) {'
        for e in $events; do [ "$e" = "$2" ] || echo "    case $e: return 1;"; done
        echo '    }'
        echo '    return 0;'
        echo '}'
    } >"$1"
}
pass=0; fail=0
write "$tmp/all.c" none
if $cc -std=c11 -Iinclude -Wswitch -Werror -c "$tmp/all.c" -o "$tmp/all.o"; then
    pass=$((pass + 1))
else
    echo "a switch naming every event does not compile"; fail=$((fail + 1))
fi
write "$tmp/one_short.c" H2_SVC_EV_DATA_RECEIVED
if $cc -std=c11 -Iinclude -Wswitch -Werror -c "$tmp/one_short.c" -o "$tmp/one.o" 2>"$tmp/err" &&
    true; then
    echo "-Wswitch did not flag a switch missing H2_SVC_EV_DATA_RECEIVED"; fail=$((fail + 1))
elif grep -q H2_SVC_EV_DATA_RECEIVED "$tmp/err"; then
    pass=$((pass + 1))
else
    echo "the compile failed for another reason:"; head -5 "$tmp/err"; fail=$((fail + 1))
fi
echo "event switch: $pass passed, $fail failed"
[ $fail -eq 0 ]
