/*
 * A real browser against h2server: headless Chromium loads a generated page
 * over TLS with 60 subresources (20 stylesheets, 20 images, 20 scripts).
 * After the load event a script in the page writes into the DOM the
 * navigation entry's and every resource entry's nextHopProtocol (Resource
 * Timing API); --dump-dom prints the DOM, and the test checks 60 resource
 * entries, one per subresource, all "h2", and "h2" for the navigation.
 */
#include "examples_util.h"

#define N_EACH 20 /* stylesheets, images and scripts: 3 * N_EACH subresources */

static ex_dir dir;
static ex_server server;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ex_dir_make(&dir), 0, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
    ex_server_kill(&server);
    ex_dir_remove(&dir);
}

/* Chromium is slow to start (seconds on a loaded machine): one test, a generous timeout. */
TestSuite(examples_chromium, .init = setup, .fini = teardown, .timeout = 240);

/* A 1x1 transparent GIF. */
static const uint8_t gif[] = {'G', 'I',  'F',  '8',  '9', 'a',  1, 0, 1, 0,   0x80, 0, 0,   0, 0,
                              0,   0xff, 0xff, 0xff, '!', 0xf9, 4, 1, 0, 0,   0,    0, ',', 0, 0,
                              0,   0,    1,    0,    1,   0,    0, 2, 2, 'D', 1,    0, ';'};

static const char report_script[] =
    "<pre id=\"report\">pending</pre>\n"
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  setTimeout(function () {\n"
    "    var lines = [];\n"
    "    var nav = performance.getEntriesByType('navigation')[0];\n"
    "    lines.push('navigation ' + (nav ? nav.nextHopProtocol || 'empty' : 'none'));\n"
    "    var res = performance.getEntriesByType('resource');\n"
    "    lines.push('resources ' + res.length);\n"
    "    res.forEach(function (e) {\n"
    "      lines.push('resource ' + (e.nextHopProtocol || 'empty') + ' ' + e.name);\n"
    "    });\n"
    "    lines.push('scripts ' + (window.scriptsRun || 0));\n"
    "    lines.push('end');\n"
    "    document.getElementById('report').textContent = lines.join('\\n');\n"
    "  }, 0);\n"
    "});\n"
    "</script>\n";

/* Writes root/index.html and its 60 subresources. */
static void make_page(void)
{
    size_t cap = 16384, len = 0;
    char *page = malloc(cap);
    cr_assert_not_null(page);
    len += (size_t)snprintf(page + len, cap - len,
                            "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                            "<title>libh2 in a browser</title>\n");
    for (int i = 0; i < N_EACH; i++) {
        char name[32], text[64];
        snprintf(name, sizeof(name), "c%02d.css", i);
        snprintf(text, sizeof(text), ".c%02d { color: #%06x; }\n", i, i * 1000);
        cr_assert_eq(ex_make_text_file(&dir, name, text), 0);
        len += (size_t)snprintf(page + len, cap - len, "<link rel=\"stylesheet\" href=\"/%s\">\n",
                                name);
    }
    len += (size_t)snprintf(page + len, cap - len, "</head><body>\n<p>libh2</p>\n");
    for (int i = 0; i < N_EACH; i++) {
        char name[32], path[256];
        snprintf(name, sizeof(name), "i%02d.gif", i);
        snprintf(path, sizeof(path), "%s/%s", dir.root, name);
        cr_assert_eq(interop_write_file(path, gif, sizeof(gif)), 0);
        len += (size_t)snprintf(page + len, cap - len, "<img src=\"/%s\" alt=\"\">\n", name);
    }
    for (int i = 0; i < N_EACH; i++) {
        char name[32];
        snprintf(name, sizeof(name), "s%02d.js", i);
        cr_assert_eq(
            ex_make_text_file(&dir, name, "window.scriptsRun = (window.scriptsRun || 0) + 1;\n"),
            0);
        len += (size_t)snprintf(page + len, cap - len, "<script src=\"/%s\"></script>\n", name);
    }
    len += (size_t)snprintf(page + len, cap - len, "%s</body></html>\n", report_script);
    cr_assert_lt(len, cap);
    cr_assert_eq(ex_make_text_file(&dir, "index.html", page), 0);
    free(page);
}

/*
 * Runs Chromium in its own process group so that every process it forks
 * can be killed at the end (the browser leaves helpers behind when killed
 * on a timeout). Returns its exit status as interop_wait().
 */
static int run_chromium(ex_argv *a, const char *out, const char *err, int timeout_ms)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execv(a->v[0], a->v);
        _exit(127);
    }
    setpgid(pid, pid); /* also from here, so the group exists before any kill */
    int rc = interop_wait(pid, timeout_ms);
    kill(-pid, SIGKILL); /* helpers that outlived the browser */
    return rc;
}

/* The text of <pre id="report"> in the dumped DOM (malloc'd), or NULL. */
static char *report_text(const char *dom)
{
    const char *start = strstr(dom, "<pre id=\"report\">");
    if (start == NULL)
        return NULL;
    start += strlen("<pre id=\"report\">");
    const char *end = strstr(start, "</pre>");
    if (end == NULL)
        return NULL;
    return strndup(start, (size_t)(end - start));
}

Test(examples_chromium, page_with_60_subresources_over_h2)
{
    EX_REQUIRE("h2server");
    ex_argv a;
    cr_assert(ex_argv_peer(&a, "chromium"), "chromium is not installed (run `make deps`)");
    make_page();
    cr_assert_eq(ex_make_cert(&dir), 0, "openssl could not make a certificate");
    ex_server_opts o = {.tls = true, .workers = 2};
    cr_assert_eq(ex_server_start(&server, &dir, &o), 0, "h2server did not start");

    const char *flags[] = {"--headless",
                           "--no-sandbox",
                           "--disable-gpu",
                           "--disable-quic",
                           "--no-first-run",
                           "--disable-background-networking",
                           "--disable-component-update",
                           "--disable-sync",
                           "--ignore-certificate-errors",
                           "--dump-dom",
                           NULL};
    for (size_t i = 0; flags[i] != NULL; i++)
        ex_arg(&a, flags[i]);
    ex_argf(&a, "--user-data-dir=%s/chromium-profile", dir.dir);
    ex_argf(&a, "--virtual-time-budget=%d", ex_scale(10000, 60000));
    ex_argf(&a, "https://127.0.0.1:%u/index.html", server.tls_port);
    char out[128], err[128];
    ex_path(&dir, "chromium.stdout", out, sizeof(out));
    ex_path(&dir, "chromium.stderr", err, sizeof(err));
    int rc = run_chromium(&a, out, err, ex_scale(60000, 200000));
    if (rc != 0)
        interop_dump_file("chromium stderr", err, 6000);
    cr_assert_eq(rc, 0, "chromium exited with %d", rc);

    size_t len = 0;
    char *dom = (char *)interop_read_file(out, &len);
    cr_assert_not_null(dom, "no output from chromium");
    char *report = report_text(dom);
    if (report == NULL || strstr(report, "\nend") == NULL)
        fprintf(stderr, "---- dumped DOM ----\n%.4000s\n", dom);
    free(dom);
    cr_assert_not_null(report, "the page's report is missing from the DOM");
    cr_assert_neq(strstr(report, "\nend"), NULL, "the report was not written:\n%s", report);

    /* Every line checked; each expected resource seen exactly once. */
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "https://127.0.0.1:%u/", server.tls_port);
    bool seen[3 * N_EACH] = {false};
    int resources = -1, lines_h2 = 0, scripts = -1;
    bool nav_h2 = false;
    char *save = NULL;
    for (char *line = strtok_r(report, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "navigation h2") == 0) {
            nav_h2 = true;
        } else if (strncmp(line, "resources ", 10) == 0) {
            resources = atoi(line + 10);
        } else if (strncmp(line, "scripts ", 8) == 0) {
            scripts = atoi(line + 8);
        } else if (strncmp(line, "resource ", 9) == 0) {
            const char *proto = line + 9;
            cr_assert(strncmp(proto, "h2 ", 3) == 0, "not over h2: %s", line);
            const char *url = proto + 3;
            cr_assert(strncmp(url, prefix, strlen(prefix)) == 0, "unexpected resource %s", url);
            const char *name = url + strlen(prefix);
            int kind = name[0] == 'c' ? 0 : name[0] == 'i' ? 1 : name[0] == 's' ? 2 : -1;
            int num = atoi(name + 1);
            cr_assert(kind >= 0 && num >= 0 && num < N_EACH, "unexpected resource %s", url);
            cr_assert(!seen[kind * N_EACH + num], "resource listed twice: %s", url);
            seen[kind * N_EACH + num] = true;
            lines_h2++;
        } else if (strcmp(line, "end") != 0) {
            cr_assert_fail("unexpected report line: %s", line);
        }
    }
    free(report);
    cr_assert(nav_h2, "the page itself was not loaded over h2");
    cr_assert_eq(resources, 3 * N_EACH, "%d resource entries, expected %d", resources, 3 * N_EACH);
    cr_assert_eq(lines_h2, 3 * N_EACH);
    cr_assert_eq(scripts, N_EACH, "%d scripts ran, expected %d", scripts, N_EACH);

    rc = ex_server_stop(&server);
    cr_assert_eq(rc, 0, "h2server exited with %d after SIGTERM", rc);
}
