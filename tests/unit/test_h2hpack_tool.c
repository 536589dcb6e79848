/*
 * The h2hpack tool, run as a program: decoding the hpack-test-case stories
 * of every implementation gives the raw-data headers, encode then decode
 * gives back the input, and every kind of bad input fails with a message.
 *
 * The tool is found next to the test folder: <dir of this binary>/../h2hpack.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#define STORIES H2_STORIES_DIR

typedef struct run_result {
    int status; /* exit status, or -1 if the tool did not exit normally */
    char *out;  /* everything written to stdout (NUL terminated) */
    size_t out_len;
    char *err; /* everything written to stderr */
    size_t err_len;
} run_result;

static char tool_path[PATH_MAX + 32];
static char tmp_dir[] = "/tmp/test_h2hpack_XXXXXX";

static void setup(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    cr_assert_gt(n, 0);
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    snprintf(tool_path, sizeof(tool_path), "%s/../h2hpack", self);
    cr_assert_eq(access(tool_path, X_OK), 0, "tool not found at %s", tool_path);
    cr_assert_not_null(mkdtemp(tmp_dir));
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(h2hpack_tool, .init = setup, .fini = teardown);

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) {
            break;
        }
        cap *= 2;
        buf = realloc(buf, cap);
        cr_assert_not_null(buf);
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Runs the tool with |a1| and |a2| (either may be NULL), capturing its output. */
static run_result run_tool(const char *a1, const char *a2)
{
    char out_path[PATH_MAX], err_path[PATH_MAX];
    snprintf(out_path, sizeof(out_path), "%s/stdout", tmp_dir);
    snprintf(err_path, sizeof(err_path), "%s/stderr", tmp_dir);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) {
            _exit(127);
        }
        char *argv[] = {tool_path, (char *)a1, a1 ? (char *)a2 : NULL, NULL};
        execv(tool_path, argv);
        _exit(127);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    run_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, NULL, 0, NULL, 0};
    r.out = slurp(out_path, &r.out_len);
    r.err = slurp(err_path, &r.err_len);
    return r;
}

static void free_result(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* Writes |text| to a file in the temporary folder; returns its path (static). */
static const char *write_input(const char *name, const char *text, size_t len)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

static json_t *load(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    return j;
}

static json_t *parse_output(const run_result *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->out, r->out_len, JSON_ALLOW_NUL, &e);
    cr_assert_not_null(j, "tool output is not JSON: %s", e.text);
    return j;
}

/* Every case of |got| has the headers of the same case of |want|, in order. */
static void expect_same_headers(json_t *got, json_t *want, const char *what)
{
    json_t *gc = json_object_get(got, "cases");
    json_t *wc = json_object_get(want, "cases");
    cr_assert(json_is_array(gc), "%s: no cases", what);
    cr_assert_eq(json_array_size(gc), json_array_size(wc), "%s: case count", what);
    for (size_t i = 0; i < json_array_size(wc); i++) {
        json_t *gh = json_object_get(json_array_get(gc, i), "headers");
        json_t *wh = json_object_get(json_array_get(wc, i), "headers");
        cr_assert(json_is_array(gh), "%s case %zu: no headers", what, i);
        cr_assert(json_equal(gh, wh), "%s case %zu: headers differ", what, i);
    }
}

/* Decodes |folder|/|story| and checks it against raw-data; returns the output. */
static json_t *decode_and_check(const char *folder, const char *story)
{
    char path[PATH_MAX], raw[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s/%s", STORIES, folder, story);
    snprintf(raw, sizeof(raw), "%s/raw-data/%s", STORIES, story);
    run_result r = run_tool("decode", path);
    cr_assert_eq(r.status, 0, "%s: exit %d: %s", path, r.status, r.err);
    cr_expect_eq(r.err_len, 0);
    json_t *got = parse_output(&r);
    json_t *want = load(raw);
    expect_same_headers(got, want, path);
    json_decref(want);
    free_result(&r);
    return got;
}

/* Runs the tool expecting failure; checks the exit code and that stderr holds |needle|. */
static void expect_failure(const char *cmd, const char *path, const char *needle)
{
    run_result r = run_tool(cmd, path);
    cr_expect_eq(r.status, 1, "exit status %d for %s", r.status, needle);
    cr_expect_eq(r.out_len, 0, "stdout should be empty on failure");
    cr_expect_not_null(strstr(r.err, "h2hpack: "), "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.err, needle), "wanted '%s' in stderr: %s", needle, r.err);
    free_result(&r);
}

static void expect_failure_on(const char *cmd, const char *text, const char *needle)
{
    expect_failure(cmd, write_input("bad.json", text, strlen(text)), needle);
}

/* The first case after case 0 whose "header_table_size" is not 4096, or NULL. */
static json_t *first_resized_case(json_t *story)
{
    json_t *cases = json_object_get(story, "cases");
    for (size_t i = 1; i < json_array_size(cases); i++) {
        json_t *ts = json_object_get(json_array_get(cases, i), "header_table_size");
        if (json_is_integer(ts) && json_integer_value(ts) != 4096) {
            return json_array_get(cases, i);
        }
    }
    return NULL;
}

Test(h2hpack_tool, decode_every_story_of_every_implementation)
{
    static const char *const folders[] = {
        "nghttp2",      "nghttp2-change-table-size",    "go-hpack",
        "python-hpack", "haskell-http2-linear-huffman", "swift-nio-hpack-huffman",
    };
    size_t decoded = 0;
    for (size_t f = 0; f < sizeof(folders) / sizeof(folders[0]); f++) {
        for (int s = 0; s < 32; s++) {
            char story[32], path[PATH_MAX];
            snprintf(story, sizeof(story), "story_%02d.json", s);
            snprintf(path, sizeof(path), "%s/%s/%s", STORIES, folders[f], story);
            if (access(path, R_OK) != 0) {
                continue;
            }
            json_decref(decode_and_check(folders[f], story));
            decoded++;
        }
    }
    cr_expect_eq(decoded, 5 * 32 + 31);
}

Test(h2hpack_tool, decode_keeps_story_fields)
{
    json_t *got = decode_and_check("go-hpack", "story_07.json");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/go-hpack/story_07.json", STORIES);
    json_t *in = load(path);
    cr_expect(json_equal(json_object_get(got, "description"), json_object_get(in, "description")));
    json_t *gc = json_object_get(got, "cases"), *ic = json_object_get(in, "cases");
    for (size_t i = 0; i < json_array_size(ic); i++) {
        json_t *g = json_array_get(gc, i), *c = json_array_get(ic, i);
        cr_assert(json_equal(json_object_get(g, "seqno"), json_object_get(c, "seqno")));
        cr_assert(json_equal(json_object_get(g, "wire"), json_object_get(c, "wire")));
        cr_assert(json_equal(json_object_get(g, "header_table_size"),
                             json_object_get(c, "header_table_size")));
    }
    json_decref(in);
    json_decref(got);
}

Test(h2hpack_tool, decode_honours_header_table_size)
{
    /* Two cases of this story limit the table to 1365 and 2730 and begin with a size update. */
    json_t *got = decode_and_check("nghttp2-change-table-size", "story_00.json");
    json_t *c = first_resized_case(got);
    cr_assert_not_null(c);
    cr_expect_eq(json_integer_value(json_object_get(c, "header_table_size")), 1365);
    json_decref(got);
}

Test(h2hpack_tool, decode_rejects_update_above_header_table_size)
{
    /* A size update to 4096 (3f e1 1f) after the peer was limited to 100. */
    expect_failure_on("decode",
                      "{\"cases\": [{\"seqno\": 0, \"wire\": \"82\"},"
                      " {\"seqno\": 1, \"header_table_size\": 100, \"wire\": \"3fe11f82\"}]}",
                      "case 1: HPACK decode error");
}

/* Encodes a story, checks the output format, decodes it and compares with the input. */
static void encode_round_trip(const char *in_path)
{
    run_result r = run_tool("encode", in_path);
    cr_assert_eq(r.status, 0, "%s: exit %d: %s", in_path, r.status, r.err);
    json_t *enc = parse_output(&r);
    json_t *in = load(in_path);
    expect_same_headers(enc, in, in_path);
    json_t *cases = json_object_get(enc, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *wire = json_string_value(json_object_get(c, "wire"));
        cr_assert_not_null(wire);
        cr_assert_gt(strlen(wire), 0);
        cr_assert_eq(strlen(wire) % 2, 0);
        cr_assert_eq(strspn(wire, "0123456789abcdef"), strlen(wire), "not lowercase hex");
        cr_assert_eq(json_integer_value(json_object_get(c, "seqno")), (json_int_t)i);
    }
    const char *enc_path = write_input("encoded.json", r.out, r.out_len);
    run_result d = run_tool("decode", enc_path);
    cr_assert_eq(d.status, 0, "decoding our own encoding: %s", d.err);
    json_t *dec = parse_output(&d);
    expect_same_headers(dec, in, "round trip");
    json_decref(dec);
    json_decref(in);
    json_decref(enc);
    free_result(&d);
    free_result(&r);
}

Test(h2hpack_tool, encode_then_decode_raw_data)
{
    static const char *const stories[] = {"story_00.json", "story_09.json", "story_17.json",
                                          "story_26.json", "story_31.json"};
    for (size_t i = 0; i < sizeof(stories) / sizeof(stories[0]); i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/raw-data/%s", STORIES, stories[i]);
        encode_round_trip(path);
    }
}

Test(h2hpack_tool, encode_honours_header_table_size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/nghttp2-change-table-size/story_03.json", STORIES);
    encode_round_trip(path);
    run_result r = run_tool("encode", path);
    cr_assert_eq(r.status, 0);
    json_t *enc = parse_output(&r);
    json_t *c1 = first_resized_case(enc);
    cr_assert_not_null(c1);
    cr_expect_eq(json_integer_value(json_object_get(c1, "header_table_size")), 1365);
    /* The block after the limit changed starts with a table size update (001xxxxx). */
    const char *wire = json_string_value(json_object_get(c1, "wire"));
    cr_assert_not_null(wire);
    unsigned first = 0;
    cr_assert_eq(sscanf(wire, "%2x", &first), 1);
    cr_expect_eq(first & 0xe0u, 0x20u, "first byte %02x", first);
    json_decref(enc);
    free_result(&r);
}

Test(h2hpack_tool, encode_byte_strings_with_nul_and_utf8)
{
    static const char text[] =
        "{\"description\": \"bytes\", \"cases\": [{\"headers\": ["
        "{\"x-nul\": \"a\\u0000b\"}, {\"x-utf8\": \"\\u00e9\\ud83d\\ude00\"},"
        "{\"x-empty\": \"\"}]}, {\"headers\": [{\"x-nul\": \"a\\u0000b\"}]}]}";
    encode_round_trip(write_input("nul.json", text, sizeof(text) - 1));
    run_result r = run_tool("encode", write_input("nul.json", text, sizeof(text) - 1));
    json_t *enc = parse_output(&r);
    cr_expect_str_eq(json_string_value(json_object_get(enc, "description")), "bytes");
    json_t *h0 = json_array_get(
        json_object_get(json_array_get(json_object_get(enc, "cases"), 0), "headers"), 0);
    cr_expect_eq(json_string_length(json_object_get(h0, "x-nul")), 3);
    json_decref(enc);
    free_result(&r);
}

Test(h2hpack_tool, usage)
{
    run_result r = run_tool("--help", NULL);
    cr_expect_eq(r.status, 0);
    cr_expect_not_null(strstr(r.out, "usage: h2hpack decode STORY.json"));
    free_result(&r);
    r = run_tool(NULL, NULL);
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "usage:"));
    free_result(&r);
    r = run_tool("squash", "x.json");
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "unknown command 'squash'"));
    free_result(&r);
}

Test(h2hpack_tool, error_missing_file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/no-such-story.json", tmp_dir);
    expect_failure("decode", path, "cannot open");
    expect_failure("encode", path, "cannot open");
}

Test(h2hpack_tool, error_bad_json)
{
    expect_failure_on("decode", "{\"cases\": [", "bad JSON at line");
    expect_failure_on("encode", "not json", "bad JSON at line 1");
    expect_failure_on("encode", "", "bad JSON");
}

Test(h2hpack_tool, error_bad_hex)
{
    expect_failure_on("decode", "{\"cases\": [{\"wire\": \"82zz\"}]}",
                      "case 0: \"wire\" has a bad hex digit at offset 2");
    expect_failure_on("decode", "{\"cases\": [{\"wire\": \"82\"}, {\"wire\": \"828\"}]}",
                      "case 1: \"wire\" has an odd number of hex digits");
    expect_failure_on("decode", "{\"cases\": [{\"wire\": 82}]}", "case 0: \"wire\" must be");
}

Test(h2hpack_tool, error_wrong_shape)
{
    expect_failure_on("decode", "[1, 2]", "top level must be a JSON object");
    expect_failure_on("decode", "{\"cases\": {}}", "\"cases\" must be an array");
    expect_failure_on("encode", "{\"description\": \"no cases\"}", "\"cases\" must be an array");
    expect_failure_on("decode", "{\"cases\": [7]}", "case 0 must be a JSON object");
    expect_failure_on("encode", "{\"cases\": [{\"headers\": {\"a\": \"b\"}}]}",
                      "case 0: \"headers\" must be an array");
    expect_failure_on("encode", "{\"cases\": [{\"headers\": [{\"a\": \"b\", \"c\": \"d\"}]}]}",
                      "case 0: header 0 must be an object with exactly one member");
    expect_failure_on("encode", "{\"cases\": [{\"headers\": [{\"a\": \"b\"}, {\"n\": 1}]}]}",
                      "case 0: header 1: the value must be a string");
    expect_failure_on("decode", "{\"cases\": [{\"wire\": \"82\", \"header_table_size\": -1}]}",
                      "case 0: \"header_table_size\" must be an integer");
    expect_failure_on("encode", "{\"cases\": [{\"headers\": [], \"header_table_size\": \"4096\"}]}",
                      "case 0: \"header_table_size\" must be an integer");
}

Test(h2hpack_tool, error_hpack_decoding_names_the_case)
{
    /* Case 2 refers to dynamic table index 62, which is empty. */
    expect_failure_on("decode",
                      "{\"cases\": [{\"wire\": \"82\"}, {\"wire\": \"8684\"}, {\"wire\": \"be\"}]}",
                      "case 2: HPACK decode error: H2_ECOMPRESSION");
    /* A truncated integer. */
    expect_failure_on("decode", "{\"cases\": [{\"wire\": \"ff\"}]}",
                      "case 0: HPACK decode error: H2_ECOMPRESSION");
}

Test(h2hpack_tool, error_value_not_representable_in_json)
{
    /* Literal with incremental indexing, name "a", value the single byte 0xff. */
    expect_failure_on("decode", "{\"cases\": [{\"wire\": \"40016101ff\"}]}",
                      "case 0: header 0: decoded value is not valid UTF-8");
}
