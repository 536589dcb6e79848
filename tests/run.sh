#!/bin/sh
# Runs every Criterion test binary given, prints each one's summary and a
# closing total line; exits non-zero if any test failed or crashed.
total=0; failed=0; bad=0
for t in "$@"; do
    out=$("$t" --jobs 2 2>&1); rc=$?
    syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -1)
    if [ $rc -ne 0 ] || [ -z "$syn" ]; then
        printf '%s\n' "$out" | grep -v '^\[----\] [^:]*$' | tail -40
        bad=1
    fi
    printf '%-36s %s\n' "$(basename "$t")" "$syn"
    n=$(printf '%s' "$syn" | sed -n 's/.*Tested: *\([0-9]*\).*/\1/p')
    f=$(printf '%s' "$syn" | sed -n 's/.*Failing: *\([0-9]*\).*Crashing: *\([0-9]*\).*/\1 \2/p')
    total=$((total + ${n:-0}))
    for x in $f; do failed=$((failed + x)); done
done
passed=$((total - failed))
echo "tests: $passed passed, $failed failed"
[ $bad -eq 0 ] && [ $failed -eq 0 ]
