/*  pst_curve - a process's CURVE identity on the bus: its key pair on disk, and
    the CURVE settings of its sockets.

    Every Postern process has a name (gateway, authn, mfa, mailer, mailer-2 ...)
    and a key pair in the keys directory: <name>.key (public, 0644) and
    <name>.key_secret (0600), in CZMQ's zcert format. The name says the role
    (pst_curve_role): what a peer with that key may ask for (the catalogue's
    callers). Servers bind with their own key; clients pin the server's public
    key, read from <server>.key, so a process that holds no key of the directory
    can neither serve nor call (requirements S27; docs/security.md).

    The directory must be the owner's alone (0700); a secret file that others
    may read, that does not match its public key or that is all zeros is
    refused, not repaired.
*/
#ifndef PST_CURVE_H_INCLUDED
#define PST_CURVE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

typedef struct _pst_curve_t pst_curve_t;

//  Longest key name; names are lowercase letters, digits and '-'
#define PST_CURVE_NAME_MAX  32

//  The identity name in dir: loads its key pair, or makes one first when create
//  is set and there is none (the directory too). NULL, logged, when the
//  directory or the files are unusable.
pst_curve_t *
    pst_curve_new (const char *dir, const char *name, bool create);
void
    pst_curve_destroy (pst_curve_t **self_p);

const char *
    pst_curve_dir (pst_curve_t *self);
const char *
    pst_curve_name (pst_curve_t *self);
//  The public key as z85 text (40 characters).
const char *
    pst_curve_public (pst_curve_t *self);

//  Makes sock a CURVE server with this identity's key. 0 or -1.
int
    pst_curve_server (pst_curve_t *self, zsock_t *sock);
//  Makes sock a CURVE client with this identity's key that talks only to the
//  holder of server_name's key (<dir>/<server_name>.key, read now). 0, or -1
//  (logged) when that key is missing or malformed.
int
    pst_curve_client (pst_curve_t *self, zsock_t *sock, const char *server_name);

//  Makes the key pair name in dir unless it exists (the directory too, 0700).
//  0 made, 1 already there, -1 error (logged). For `postern keys` and first starts.
int
    pst_curve_generate (const char *dir, const char *name);

//  The public key (z85 text) of the zcert public file at path, read from that
//  file alone; NULL when it holds none. Caller frees.
char *
    pst_curve_public_of (const char *path);

//  The role of a key name, as a catalogue caller bit (PST_CALLER_GATEWAY ...):
//  "gateway", "authn", "mfa", "mailer" or "mailer-<anything>". 0 for any other
//  name, or one that is not [a-z0-9-]{1,32}.
unsigned
    pst_curve_role (const char *name);

//  The role's name ("gateway" ...), "unknown" for 0 or a mix.
const char *
    pst_curve_role_name (unsigned role);

//  0 when dir exists, is a directory, belongs to this user and nobody else may
//  read or enter it; -1 (logged) if not.
int
    pst_curve_dir_private (const char *dir);

#endif
