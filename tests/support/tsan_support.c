/*
 * Linked into every test binary. Under ThreadSanitizer it adapts Criterion
 * to the sanitizer; in every other build it contains nothing.
 */
#if defined(__SANITIZE_THREAD__)
/*
 * Criterion's sandbox (BoxFort) maps its shared arenas with MAP_FIXED at
 * bases built from rand_r(): 0x200000000000 + r * 2^24, r < 2^22. Under
 * ThreadSanitizer only part of that range is application memory (with GCC's
 * runtime on x86-64: 0x550000000000-0x568000000000), so the mapping fails
 * and every test binary aborts with "Could not initialize inheritable
 * arena". Interposing rand_r() keeps the bases inside that window; BoxFort
 * probes each candidate and moves on when it is taken.
 */
int rand_r(unsigned int *seed);
int rand_r(unsigned int *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (int)(0x350000u + (*seed >> 8) % 0x18000u);
}

/*
 * Criterion ends each test process with _Exit(), which skips TSan's
 * exit-code check: a race would be printed but the test would pass. Stop at
 * the first report instead, so that a race fails the test.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "halt_on_error=1";
}
#else
/* ISO C forbids an empty translation unit. */
typedef int h2_tsan_support_unused;
#endif
