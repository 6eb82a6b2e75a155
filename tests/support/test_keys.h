/*  test_keys - the bus keys of a test process, so services started in-process
    and the stand-ins the tests bind talk CURVE as they do in production.

    The first call makes a private keys directory with a key pair for every
    name below and points POSTERN_KEYS_DIR at it: every service config read
    from the environment after that uses it. All keys exist before any server
    starts, because a server admits only the keys it found when it started.
*/
#ifndef TEST_KEYS_H_INCLUDED
#define TEST_KEYS_H_INCLUDED

#include <czmq.h>
#include "pst_curve.h"

//  The keys directory ("gateway", "authn", "mfa", "mailer", "mailer-2" and
//  "intruder", which no name admits to anything: pst_curve_role is 0 for it).
const char *
    test_keys_dir (void);

//  The identity name, loaded once per process; borrowed.
pst_curve_t *
    test_keys_curve (const char *name);

//  A socket of type bound to endpoint as name's CURVE server, admitting the
//  directory's keys (pst_auth, held until test_keys_close). NULL on failure.
zsock_t *
    test_keys_server (int type, const char *name, const char *endpoint);
void
    test_keys_close (zsock_t **sock_p);

//  A DEALER connected to endpoint as name, talking only to server's key.
zsock_t *
    test_keys_dealer (const char *name, const char *server, const char *endpoint);

//  A directory only this user may use: mkdtemp's, checked. Caller frees.
char *
    test_keys_private_tmpdir (const char *prefix);

#endif
