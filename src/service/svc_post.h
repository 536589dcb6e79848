/*
 * Service: building command records and posting them to a worker's ring
 * (service_cmd.c).
 */
#ifndef H2_SERVICE_SVC_POST_H
#define H2_SERVICE_SVC_POST_H

#include "h2/service.h"
#include "service/mailbox.h"
#include "service/svc_record.h"

typedef struct svc_worker svc_worker;

/* ---- service_cmd.c ---- */

/* |svc| checked and the worker of |conn|, or NULL. */
svc_worker *svc_target(h2_svc *svc, h2_svc_conn_id conn);

/* A zeroed command with |extra| bytes after it (16-byte aligned) in |*tail|; NULL: no memory. */
svc_cmd *svc_cmd_new(h2_svc *svc, int kind, h2_svc_conn_id conn, size_t extra, uint8_t **tail);

/* Posts |ptr| to |mb|, waiting for room as the configuration says (never on
 * a worker thread); 0 or H2_EAGAIN. */
int svc_post_ring(h2_svc *svc, h2_mailbox *mb, void *ptr);

/* Posts |cmd| to |w| (waiting for room as configured); frees it when that fails. */
int svc_post(h2_svc *svc, svc_worker *w, svc_cmd *cmd);

/* Posts a command without payload. */
int svc_post_simple(h2_svc *svc, h2_svc_conn_id conn, int kind, uint32_t stream_id,
                    uint32_t error_code, uint64_t user);

/* Posts HEADERS (h2_svc_submit_headers()), with RFC 7540 priority fields
 * when |prio| is not NULL (h2_svc_submit_headers_prio()). */
int svc_post_headers(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id,
                     const h2_header *fields, size_t n, uint32_t flags,
                     const h2_priority_args *prio, uint64_t user);

/* Posts DATA: copied when |release| is NULL (h2_svc_send_data()), else
 * referenced (h2_svc_send_data_ref()); each frame padded by |pad_len|
 * (0..255) bytes, or not padded when it is -1 (h2_svc_send_data_padded()). */
int svc_post_data(h2_svc *svc, h2_svc_conn_id conn, uint32_t stream_id, const uint8_t *data,
                  size_t len, uint32_t flags, int pad_len, uint64_t user,
                  h2_svc_release_fn release, void *release_user);

/* A command of |kind| carrying a copy of |fields| (|n|), and |more| bytes
 * of room after the copy (at |*more_at| when not NULL); NULL with |*rv|
 * H2_EINVAL (bad fields) or H2_ENOMEM. */
svc_cmd *svc_cmd_new_fields(h2_svc *svc, int kind, h2_svc_conn_id conn, const h2_header *fields,
                            size_t n, size_t more, uint8_t **more_at, int *rv);

/* Frees a command block that was never answered (not posted, or its post
 * failed), giving back the hold it carries (svc_hold_attach()). */
void svc_cmd_free(svc_cmd *cmd);

/* ---- service_batch.c ---- */

/* True while the calling thread batches its posts to |svc|. */
bool svc_batch_holds(const h2_svc *svc);

/* Notes that the calling thread's batch posted to shared worker |worker|
 * without waking it. */
void svc_batch_mark(unsigned worker);

#endif /* H2_SERVICE_SVC_POST_H */
