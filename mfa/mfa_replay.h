/*  mfa_replay - operations that run once per request id (requirements S26).

    mfa.associate, challenge.create, the verifications and the deletions mail a
    code, spend an attempt or make a secret: a caller that retries a request id
    (its first answer was lost) must get the first answer again, not a second
    email or a second attempt. The first run claims the id in mfa.db; its reply
    is kept there sealed (secretbox under a key derived from the code key, since
    it may hold an oob_code or a recovery code); a retry while it runs waits for
    it; a claim older than 30 s belongs to a crashed worker and is taken over.
    Replies saying temporarily_unavailable or server_error are not kept, so a
    retry of those runs again.

    The claim and the kept reply cost no commit of their own: the run's first
    transaction (mfa_worker_transact, through mfa_writer) claims the id inside
    its own commit, before anything else it writes, and its last one may keep
    the reply in the same way (mfa_replay_claim_in, mfa_replay_keep_in). The
    claim still stops a concurrent duplicate: claims are made under the write
    lock, one transaction at a time, so of two runs of one id the second finds
    the first's claim, writes nothing, and waits for its reply. Before its first
    transaction a run only reads. Whatever a run leaves owing (a refusal given
    before any transaction, a reply no transaction kept) is settled after it.
*/
#ifndef MFA_REPLAY_H_INCLUDED
#define MFA_REPLAY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "mfa_store.h"
#include "mfa_writer.h"
#include "pst_msg.h"

typedef struct _mfa_replay_t mfa_replay_t;

//  store (the worker's, for reading) and writer are borrowed and must outlive
//  it; code_key (32 bytes) is only read.
mfa_replay_t *
    mfa_replay_new (mfa_store_t *store, mfa_writer_t *writer, const uint8_t *code_key);
void
    mfa_replay_destroy (mfa_replay_t **self_p);

//  Where a run stands with its request id
typedef enum {
    MFA_CLAIM_PENDING,          //  not claimed yet: its first transaction will
    MFA_CLAIM_HELD,             //  claimed by this run
    MFA_CLAIM_LOST              //  another run claimed it first: this one wrote nothing
} mfa_claim_t;

//  One run of a request id, while it runs
typedef struct {
    mfa_replay_t *replay;
    const pst_msg_t *request;
    mfa_claim_t claim;
    bool kept;                  //  its reply is settled (kept, or the claim released)
} mfa_replay_run_t;

//  A step of a request: 0 to go on, -1 after failing reply.
typedef int (mfa_replay_step_fn) (void *args, const pst_msg_t *request, pst_msg_t *reply);
//  The run itself; its transactions see run.
typedef int (mfa_replay_run_fn) (void *args, mfa_replay_run_t *run, const pst_msg_t *request,
                                 pst_msg_t *reply);

//  Runs run (with args) at most once for the request's id: a retry gets the
//  first run's reply. gate (NULL: none) decides whether a first run may claim the
//  id at all: a refusal is answered and nothing is stored. It only reads, on the
//  store given at mfa_replay_new, in the same read transaction as the lookup of
//  the request id (on SQLite: mfa_store_read_begin). 0 when reply succeeded.
//  A run that loses its claim (run->claim MFA_CLAIM_LOST, reply untouched) gets
//  the other run's reply instead.
int
    mfa_replay_once (mfa_replay_t *self, const pst_msg_t *request, pst_msg_t *reply,
                     mfa_replay_step_fn *gate, mfa_replay_run_fn *run, void *args);

//  In the writer's thread, inside its transaction on store: claims the run's
//  request id unless the run holds it. 0 when it does, -1 when another run has
//  it (run->claim becomes MFA_CLAIM_LOST) or on error (it stays pending).
int
    mfa_replay_claim_in (mfa_replay_run_t *run, mfa_store_t *store);
//  Likewise: keeps reply, the run's final answer, for retries (sealed) when it
//  is one to keep, else releases the run's claim. 0 (run->kept) or -1.
int
    mfa_replay_keep_in (mfa_replay_run_t *run, mfa_store_t *store, const pst_msg_t *reply);

#endif
