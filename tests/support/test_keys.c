#include "test_keys.h"
#include "pst_auth.h"
#include "pst_bus.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *s_names [] = {
    "gateway", "authn", "mfa", "mailer", "mailer-2", "intruder", NULL
};

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static char *s_dir;
static pst_curve_t *s_curves [8];

char *
test_keys_private_tmpdir (const char *prefix)
{
    char *dir = NULL;
    if (asprintf (&dir, "/tmp/%s-XXXXXX", prefix) < 0 || !mkdtemp (dir)) {
        free (dir);
        return NULL;
    }
    return dir;
}

static void
s_make (void)
{
    char *base = test_keys_private_tmpdir ("postern-test-keys");
    if (!base || asprintf (&s_dir, "%s/keys", base) < 0)
        abort ();
    free (base);
    for (int i = 0; s_names [i]; i++)
        if (pst_curve_generate (s_dir, s_names [i]) < 0)
            abort ();
    for (int i = 0; s_names [i]; i++)
        s_curves [i] = pst_curve_new (s_dir, s_names [i], false);
    setenv ("POSTERN_KEYS_DIR", s_dir, 1);
}

const char *
test_keys_dir (void)
{
    pthread_once (&s_once, s_make);
    return s_dir;
}

pst_curve_t *
test_keys_curve (const char *name)
{
    test_keys_dir ();
    for (int i = 0; s_names [i]; i++)
        if (strcmp (s_names [i], name) == 0)
            return s_curves [i];
    return NULL;
}

zsock_t *
test_keys_server (int type, const char *name, const char *endpoint)
{
    pst_curve_t *curve = test_keys_curve (name);
    if (!curve || pst_auth_acquire (test_keys_dir ()) != 0)
        return NULL;
    zsock_t *sock = zsock_new (type);
    if (sock) {
        pst_bus_tune (sock);
        if (pst_curve_server (curve, sock) != 0 || zsock_bind (sock, "%s", endpoint) < 0)
            zsock_destroy (&sock);
    }
    if (!sock)
        pst_auth_release ();
    return sock;
}

void
test_keys_close (zsock_t **sock_p)
{
    if (sock_p && *sock_p) {
        zsock_destroy (sock_p);
        pst_auth_release ();
    }
}

zsock_t *
test_keys_dealer (const char *name, const char *server, const char *endpoint)
{
    pst_curve_t *curve = test_keys_curve (name);
    zsock_t *sock = curve? zsock_new (ZMQ_DEALER): NULL;
    if (sock) {
        pst_bus_tune (sock);
        if (pst_curve_client (curve, sock, server) != 0 || zsock_connect (sock, "%s", endpoint) != 0)
            zsock_destroy (&sock);
    }
    return sock;
}
