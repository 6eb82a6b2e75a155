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
*/
#ifndef MFA_REPLAY_H_INCLUDED
#define MFA_REPLAY_H_INCLUDED

#include <stdint.h>
#include "mfa_store.h"
#include "pst_msg.h"

typedef struct _mfa_replay_t mfa_replay_t;

//  store is borrowed and must outlive it; code_key (32 bytes) is only read.
mfa_replay_t *
    mfa_replay_new (mfa_store_t *store, const uint8_t *code_key);
void
    mfa_replay_destroy (mfa_replay_t **self_p);

//  A step of a request: 0 to go on, -1 after failing reply.
typedef int (mfa_replay_step_fn) (void *args, const pst_msg_t *request, pst_msg_t *reply);

//  Runs run (with args) at most once for the request's id: a retry gets the
//  first run's reply. gate (NULL: none) decides whether a first run may claim the
//  id at all: a refusal is answered and nothing is stored. 0 when reply succeeded.
int
    mfa_replay_once (mfa_replay_t *self, const pst_msg_t *request, pst_msg_t *reply,
                     mfa_replay_step_fn *gate, mfa_replay_step_fn *run, void *args);

#endif
