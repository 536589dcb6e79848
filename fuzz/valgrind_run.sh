#!/bin/sh
# Runs Criterion test binaries under valgrind's memcheck.
#   valgrind_run.sh "<valgrind command and options>" <test binary>...
# Criterion runs every test in a child process whose exit status it does not
# check, so each process (the runner and every child, which valgrind
# follows through fork and exec) writes its own log, and a run fails when
# any log reports errors ("ERROR SUMMARY: n" with n > 0; definite and
# indirect leaks count as errors) or the suite itself fails. Programs under
# /usr and /bin (curl, nghttp, nghttpd ...) are not traced.
# Prints one line per binary: "VALGRIND <name> <Criterion synthesis> errors=<n> time=<s>s".
set -u
vg=$1
shift
logs=$(mktemp -d "${TMPDIR:-/tmp}/h2vg.XXXXXX")
trap 'rm -rf "$logs"' EXIT
status=0
passed=0
failed=0
for t in "$@"; do
    name=$(basename "$t")
    start=$(date +%s)
    # The options hold glob characters (--trace-children-skip=/usr/*): split
    # $vg into words without expanding them.
    set -f
    # shellcheck disable=SC2086
    out=$($vg --log-file="$logs/$name.%p.log" "$t" --jobs 2 2>&1)
    rc=$?
    set +f
    secs=$(($(date +%s) - start))
    syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -1 | sed 's/^.*Synthesis: *//')
    bad=$(grep -l 'ERROR SUMMARY: [1-9]' "$logs/$name".*.log 2>/dev/null)
    nbad=0
    [ -n "$bad" ] && nbad=$(printf '%s\n' "$bad" | wc -l)
    echo "VALGRIND $name ${syn:-no synthesis} errors=$nbad time=${secs}s"
    p=$(printf '%s' "$syn" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
    f=$(printf '%s' "$syn" | sed -n 's/.*Failing: *\([0-9]*\).*Crashing: *\([0-9]*\).*/\1 \2/p')
    if [ -n "$bad" ] || [ -z "$syn" ]; then
        failed=$((failed + 1)) # a binary with memcheck errors, or one that did not finish
    else
        passed=$((passed + ${p:-0}))
    fi
    for x in $f; do failed=$((failed + x)); done
    if [ $rc -ne 0 ] || [ -z "$syn" ]; then
        printf '%s\n' "$out" | grep -v '^\[----\]' | tail -40
        status=1
    fi
    if [ -n "$bad" ]; then
        for f in $bad; do
            echo "---- $f"
            grep -v '^==[0-9]*== *$' "$f" | head -80
        done
        status=1
    fi
done
echo "valgrind: $passed passed, $failed failed"
exit $status
