/*
 * Service: batches of posts (h2_svc_batch_begin(), h2_svc_batch_end()).
 * The state is the calling thread's: which service it batches for, how
 * deep, and a bitmap of the shared workers its posts did not wake.
 */
#include "h2/errors.h"
#include "service/svc_post.h"
#include "service/svc_service.h"
#include "service/svc_worker.h"

#define WORDS (H2_SVC_MAX_WORKERS / 64u)

typedef struct svc_batch {
    h2_svc *svc;
    unsigned depth;
    uint64_t pending[WORDS]; /* shared workers posted to and not woken */
} svc_batch;

static _Thread_local svc_batch batch;

bool svc_batch_holds(const h2_svc *svc)
{
    return batch.depth > 0 && batch.svc == svc;
}

void svc_batch_mark(unsigned worker)
{
    batch.pending[worker / 64u] |= 1ull << (worker % 64u);
}

int h2_svc_batch_begin(h2_svc *svc)
{
    if (svc == NULL)
        return H2_EINVAL;
    if (batch.depth > 0 && batch.svc != svc)
        return H2_ESTATE;
    batch.svc = svc;
    batch.depth++;
    return 0;
}

int h2_svc_batch_end(h2_svc *svc)
{
    if (svc == NULL)
        return H2_EINVAL;
    if (batch.depth == 0 || batch.svc != svc)
        return H2_ESTATE;
    if (--batch.depth > 0)
        return 0;
    for (unsigned i = 0; i < WORDS; i++) {
        uint64_t bits = batch.pending[i];
        batch.pending[i] = 0;
        while (bits != 0) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1u;
            h2_mailbox_notify(&svc->workers[i * 64u + b].mb);
        }
    }
    batch.svc = NULL;
    return 0;
}
