#include "pst_curve.h"
#include "pst_catalogue.h"
#include "pst_log.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define Z85_KEY_LEN     40

struct _pst_curve_t {
    char *dir;
    char *name;
    zcert_t *cert;
};

static const struct {
    const char *name;
    unsigned role;
} s_roles [] = {
    { "gateway", PST_CALLER_GATEWAY },
    { "authn", PST_CALLER_AUTHN },
    { "mfa", PST_CALLER_MFA },
    { "mailer", PST_CALLER_MAILER }
};

static int
s_name_valid (const char *name)
{
    size_t length = name? strlen (name): 0;
    return length > 0 && length <= PST_CURVE_NAME_MAX
        && strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-") == length;
}

unsigned
pst_curve_role (const char *name)
{
    if (!s_name_valid (name))
        return 0;
    for (size_t i = 0; i < sizeof s_roles / sizeof s_roles [0]; i++)
        if (strcmp (name, s_roles [i].name) == 0)
            return s_roles [i].role;
    //  More mailers than one: mailer-2, mailer-eu ...
    if (strncmp (name, "mailer-", 7) == 0 && name [7])
        return PST_CALLER_MAILER;
    return 0;
}

const char *
pst_curve_role_name (unsigned role)
{
    for (size_t i = 0; i < sizeof s_roles / sizeof s_roles [0]; i++)
        if (role == s_roles [i].role)
            return s_roles [i].name;
    return "unknown";
}

int
pst_curve_dir_private (const char *dir)
{
    struct stat info;
    const char *reason = NULL;
    if (stat (dir, &info) != 0)
        reason = strerror (errno);
    else
    if (!S_ISDIR (info.st_mode))
        reason = "not a directory";
    else
    if (info.st_uid != geteuid ())
        reason = "owned by another user";
    else
    if (info.st_mode & 077)
        reason = "others may read or enter it (chmod 700)";
    if (reason)
        pst_log (PST_LOG_ERROR, "keys_dir_unusable", "path", dir, "reason", reason, NULL);
    return reason? -1: 0;
}

static int
s_dir_ready (const char *dir, bool create)
{
    if (create && mkdir (dir, 0700) != 0 && errno != EEXIST) {
        pst_log (PST_LOG_ERROR, "keys_dir_unusable", "path", dir, "reason", strerror (errno), NULL);
        return -1;
    }
    return pst_curve_dir_private (dir);
}

static char *
s_path (const char *dir, const char *name, const char *suffix)
{
    char *path = NULL;
    if (asprintf (&path, "%s/%s%s", dir, name, suffix) < 0)
        return NULL;
    return path;
}

//  1 when text is a key in z85 (40 characters that decode), filling key.
static int
s_z85_key (const char *text, uint8_t key [32])
{
    return text && strlen (text) == Z85_KEY_LEN && zmq_z85_decode (key, text) != NULL;
}

//  The whole of a small file as a string; NULL when it cannot be read or is
//  larger than any key file (a public key file is a few hundred bytes).
static char *
s_read_small (const char *path)
{
    enum { LIMIT = 8192 };
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = (char *) malloc (LIMIT + 1);
    size_t length = 0;
    ssize_t got = 1;
    while (text && got > 0 && length <= LIMIT) {
        got = read (fd, text + length, LIMIT + 1 - length);
        if (got < 0 && errno == EINTR)
            got = 1;
        else
        if (got > 0)
            length += (size_t) got;
    }
    close (fd);
    if (!text || got < 0 || length > LIMIT) {
        free (text);
        return NULL;
    }
    text [length] = 0;
    return text;
}

char *
pst_curve_public_of (const char *path)
{
    //  zconfig, not zcert_load: zcert_load reads <path>_secret first when there
    //  is one, and a peer's public key must come from its public file alone.
    //  The file is read here, bounded, and parsed from memory: zconfig_load
    //  leaks its file handle when the text does not parse.
    char *content = path? s_read_small (path): NULL;
    zconfig_t *root = content? zconfig_str_load (content): NULL;
    free (content);
    const char *value = root? zconfig_get (root, "curve/public-key", NULL): NULL;
    uint8_t key [32];
    char *text = s_z85_key (value, key)? strdup (value): NULL;
    zconfig_destroy (&root);
    return text;
}

int
pst_curve_generate (const char *dir, const char *name)
{
    if (!s_name_valid (name)) {
        pst_log (PST_LOG_ERROR, "keys_bad_name", "name", name, NULL);
        return -1;
    }
    if (s_dir_ready (dir, true) != 0)
        return -1;
    char *secret_path = s_path (dir, name, ".key_secret");
    char *public_path = s_path (dir, name, ".key");
    char temporary [64];
    snprintf (temporary, sizeof temporary, ".new-%d-%s", (int) getpid (), name);
    char *temporary_path = s_path (dir, temporary, ".key");
    char *temporary_secret = s_path (dir, temporary, ".key_secret");
    int rc = -1;
    if (secret_path && public_path && temporary_path && temporary_secret) {
        if (access (secret_path, F_OK) == 0)
            rc = 1;
        else {
            zcert_t *cert = zcert_new ();
            if (cert) {
                zcert_set_meta (cert, "name", "%s", name);
                //  zcert_save writes <path> and <path>_secret; the directory is
                //  0700, and the secret goes to 0600 before it gets its name
                if (zcert_save (cert, temporary_path) == 0
                &&  chmod (temporary_secret, 0600) == 0 && chmod (temporary_path, 0644) == 0) {
                    //  link, not rename: never replace a secret made meanwhile
                    if (link (temporary_secret, secret_path) == 0)
                        rc = rename (temporary_path, public_path) == 0? 0: -1;
                    else
                    if (errno == EEXIST)
                        rc = 1;
                }
                zcert_destroy (&cert);
            }
            unlink (temporary_secret);
            unlink (temporary_path);
            if (rc == 0)
                pst_log (PST_LOG_INFO, "keys_created", "name", name, "dir", dir, NULL);
            else
            if (rc < 0)
                pst_log (PST_LOG_ERROR, "keys_not_created", "name", name, "dir", dir,
                         "reason", strerror (errno), NULL);
        }
    }
    free (secret_path);
    free (public_path);
    free (temporary_path);
    free (temporary_secret);
    return rc;
}

//  Loads and checks this process's own key pair. NULL (logged) if unusable.
static zcert_t *
s_load_own (const char *dir, const char *name)
{
    char *secret_path = s_path (dir, name, ".key_secret");
    char *public_path = s_path (dir, name, ".key");
    struct stat info;
    const char *reason = NULL;
    zcert_t *cert = NULL;
    if (!secret_path || !public_path)
        reason = "out of memory";
    else
    if (stat (secret_path, &info) != 0)
        reason = "no secret key file";
    else
    if (info.st_uid != geteuid () || (info.st_mode & 077))
        reason = "the secret key file is not the owner's alone (chmod 600)";
    else
    if (!(cert = zcert_load (public_path)))
        reason = "unreadable key files";
    char *published = cert && !reason? pst_curve_public_of (public_path): NULL;
    if (cert && !reason && (!published || strcmp (published, zcert_public_txt (cert)) != 0))
        reason = "the public key file is not the secret's (peers would pin another key)";
    free (published);
    if (cert && !reason) {
        uint8_t zero [32] = { 0 }, derived [32];
        char public_text [Z85_KEY_LEN + 1];
        uint8_t key [32];
        if (!s_z85_key (zcert_public_txt (cert), key) || sodium_memcmp (zcert_secret_key (cert), zero, 32) == 0)
            reason = "no secret in the key file";
        else
        if (crypto_scalarmult_base (derived, zcert_secret_key (cert)) != 0
        ||  !zmq_z85_encode (public_text, derived, 32)
        ||  strcmp (public_text, zcert_public_txt (cert)) != 0)
            reason = "the secret does not match the public key";
        sodium_memzero (derived, sizeof derived);
    }
    if (reason) {
        pst_log (PST_LOG_ERROR, "keys_unusable", "name", name, "dir", dir, "reason", reason, NULL);
        zcert_destroy (&cert);
    }
    free (secret_path);
    free (public_path);
    return cert;
}

pst_curve_t *
pst_curve_new (const char *dir, const char *name, bool create)
{
    if (!dir || !s_name_valid (name)) {
        pst_log (PST_LOG_ERROR, "keys_bad_name", "name", name, NULL);
        return NULL;
    }
    if ((create && pst_curve_generate (dir, name) < 0) || (!create && s_dir_ready (dir, false)))
        return NULL;
    pst_curve_t *self = (pst_curve_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->dir = strdup (dir);
    self->name = strdup (name);
    self->cert = self->dir && self->name? s_load_own (dir, name): NULL;
    if (!self->cert)
        pst_curve_destroy (&self);
    return self;
}

void
pst_curve_destroy (pst_curve_t **self_p)
{
    if (self_p && *self_p) {
        pst_curve_t *self = *self_p;
        zcert_destroy (&self->cert);
        free (self->dir);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

const char *
pst_curve_dir (pst_curve_t *self)
{
    return self->dir;
}

const char *
pst_curve_name (pst_curve_t *self)
{
    return self->name;
}

const char *
pst_curve_public (pst_curve_t *self)
{
    return zcert_public_txt (self->cert);
}

int
pst_curve_server (pst_curve_t *self, zsock_t *sock)
{
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    //  Every server of the process shares the one ZAP handler (pst_auth); the
    //  domain names the caller in its log
    zsock_set_zap_domain (sock, "postern");
    return zsock_mechanism (sock) == ZMQ_CURVE? 0: -1;
}

//  <dir>/<name>.key for a valid name, else NULL. Caller frees.
static char *
s_valid_name_path (const char *dir, const char *name)
{
    return s_name_valid (name)? s_path (dir, name, ".key"): NULL;
}

int
pst_curve_client (pst_curve_t *self, zsock_t *sock, const char *server_name)
{
    char *path = s_valid_name_path (self->dir, server_name);
    char *server = path? pst_curve_public_of (path): NULL;
    free (path);
    uint8_t key [32];
    //  zsock_set_curve_serverkey asserts on a malformed key: checked first
    if (!s_z85_key (server, key)) {
        pst_log (PST_LOG_ERROR, "keys_server_unknown", "server", server_name, "dir", self->dir,
                 "hint", "run ./postern keys, or copy the server's .key file here", NULL);
        free (server);
        return -1;
    }
    zcert_apply (self->cert, sock);
    zsock_set_curve_serverkey (sock, server);
    free (server);
    return zsock_mechanism (sock) == ZMQ_CURVE? 0: -1;
}
