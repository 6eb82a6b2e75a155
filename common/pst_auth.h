/*  pst_auth - who may connect to this process's bus servers: CZMQ's zauth with
    a certificate store of the keys directory's public keys (requirements S27).

    ZeroMQ has one authentication handler per context, and CZMQ one context per
    process, so this is process-wide: every service of the process acquires it
    before it binds and releases it after it closed its sockets. zauth admits a
    client whose public key is one of the <name>.key files of the keys directory
    (pst_curve) and gives each of its messages two properties: "User-Id" (the
    key, z85) and "service" (the role its file name says: gateway, authn, mfa,
    mailer). The bus believes nothing else about a sender (pst_bus).

    The store is built by this module, not by zauth's directory loader, so a
    file that does not parse, names no role or repeats another file's key is
    skipped with a warning instead of stopping the process. It is read once: a
    key added or removed takes effect when the process restarts (docs/security.md).
*/
#ifndef PST_AUTH_H_INCLUDED
#define PST_AUTH_H_INCLUDED

#include <stddef.h>

//  Starts the handler with the public keys of dir, or counts one more user of
//  the one running for dir. -1 (logged) when it cannot start, or when it runs
//  for another directory.
int
    pst_auth_acquire (const char *dir);

//  One user less; the last one stops the handler. Call it only after closing the
//  sockets that relied on it: a CURVE server without a handler admits anyone.
void
    pst_auth_release (void);

//  The number of keys the running handler admits, 0 when none runs (for tests).
size_t
    pst_auth_keys (void);

#endif
