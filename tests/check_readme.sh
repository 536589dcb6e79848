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
body = blocks[2].replace("#include <h2/h2.h>", "")
open(out + "/ex2.c", "w").write("#include <stdio.h>\n#include <h2/h2.h>\nint main(void)\n{\n" + body + "return 0;\n}\n")
# Service example: serve_h2(listen_fd, &stop) on 127.0.0.1, port printed; SIGTERM stops it.
open(out + "/ex3.c", "w").write(blocks[1] + """
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
static volatile int stop_flag;
static void on_term(int sig) { (void)sig; stop_flag = 1; }
int main(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        return 2;
    signal(SIGTERM, on_term);
    printf("%d\\n", ntohs(a.sin_port));
    fflush(stdout);
    return serve_h2(fd, &stop_flag) == 0 ? 0 : 1;
}
""")
PY
for ex in ex1 ex2 ex3; do
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror ${SAN:-} -Iinclude "$tmp/$ex.c" "$build/libh2.a" -lpthread -o "$tmp/$ex"
done
"$tmp/ex1"
"$tmp/ex2"
# The service example answers curl over prior-knowledge HTTP/2, then stops on SIGTERM.
"$tmp/ex3" >"$tmp/port" &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(cat "$tmp/port")
body=$(curl -s --max-time 10 --http2-prior-knowledge "http://127.0.0.1:$port/" || echo "curl failed")
kill -TERM $pid
wait $pid
if [ "$body" != "hello" ]; then
    echo "README service example answered: $body"
    exit 1
fi
echo "README examples: 3 passed, 0 failed"
