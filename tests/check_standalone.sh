#!/bin/sh
# Fails when a tracked file other than Markdown names the folder that sits
# beside the repository on the development machines: the tree must build,
# test, benchmark and fuzz from a clone with nothing next to it.
cd "$(dirname "$0")/.." || exit 2
pattern='\.\./'"shared"
hits=$(git grep -n -I -e "$pattern" -- ':!*.md' 2>/dev/null)
if [ -n "$hits" ]; then
    printf '%s\n' "$hits"
    echo "check_standalone: the files above refer to a path outside the repository"
    exit 1
fi
echo "check_standalone: no tracked file refers outside the repository"
