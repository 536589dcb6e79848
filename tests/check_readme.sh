#!/bin/sh
# Compiles and runs the C examples of README.md against the freshly built
# library, so the documentation cannot drift from the API.
# Usage: tests/check_readme.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import re, sys
out = sys.argv[1]
s = open("README.md").read()
blocks = re.findall(r"```c\n(.*?)```", s, re.S)
assert len(blocks) >= 2, "README.md lost its C examples"
# First example: a function serve(fd); call it on an invalid fd (read fails at once).
open(out + "/ex1.c", "w").write(blocks[0] + "\nint main(void) { return serve(-1) == 0 ? 0 : 1; }\n")
body = blocks[1].replace("#include <h2/h2.h>", "")
open(out + "/ex2.c", "w").write("#include <stdio.h>\n#include <h2/h2.h>\nint main(void)\n{\n" + body + "return 0;\n}\n")
PY
for ex in ex1 ex2; do
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror ${SAN:-} -Iinclude "$tmp/$ex.c" "$build/libh2.a" -o "$tmp/$ex"
    "$tmp/$ex"
done
echo "README examples: 2 passed, 0 failed"
