#include "pst_auth.h"
#include "pst_actor.h"
#include "pst_curve.h"
#include "pst_log.h"
#include <czmq.h>
#include <dirent.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static zactor_t *s_handler;
static char *s_dir;
static int s_users;
static size_t s_keys;

//  Adds the public key of dir/file to store under the role its name says; a
//  file that cannot be used is skipped, and said so.
static void
s_add_key (zcertstore_t *store, const char *dir, const char *file)
{
    size_t length = strlen (file);
    if (length <= 4 || strcmp (file + length - 4, ".key") != 0 || file [0] == '.')
        return;
    char name [PST_CURVE_NAME_MAX + 1];
    unsigned role = 0;
    if (length - 4 <= PST_CURVE_NAME_MAX) {
        memcpy (name, file, length - 4);
        name [length - 4] = 0;
        role = pst_curve_role (name);
    }
    if (!role) {
        pst_log (PST_LOG_WARN, "keys_file_skipped", "file", file, "reason", "its name says no role", NULL);
        return;
    }
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, file);
    char *text = pst_curve_public_of (path);
    uint8_t key [32], zero [32] = { 0 };
    const char *reason = NULL;
    if (!text || !zmq_z85_decode (key, text))
        reason = "no public key in it";
    else
    //  zcertstore_insert asserts on a key it holds already
    if (zcertstore_lookup (store, text))
        reason = "its key is another file's";
    if (reason)
        pst_log (PST_LOG_WARN, "keys_file_skipped", "file", file, "reason", reason, NULL);
    else {
        //  Only the key is taken from the file; its metadata says nothing we believe
        zcert_t *entry = zcert_new_from (key, zero);
        if (entry) {
            zcert_set_meta (entry, "service", "%s", pst_curve_role_name (role));
            zcertstore_insert (store, &entry);
            s_keys++;
        }
    }
    free (text);
}

static zcertstore_t *
s_store_of (const char *dir)
{
    if (pst_curve_dir_private (dir))
        return NULL;
    DIR *handle = opendir (dir);
    zcertstore_t *store = handle? zcertstore_new (NULL): NULL;
    s_keys = 0;
    struct dirent *entry;
    while (store && (entry = readdir (handle)))
        s_add_key (store, dir, entry->d_name);
    if (handle)
        closedir (handle);
    return store;
}

int
pst_auth_acquire (const char *dir)
{
    pthread_mutex_lock (&s_lock);
    int rc = 0;
    if (s_handler) {
        if (strcmp (s_dir, dir) == 0)
            s_users++;
        else {
            pst_log (PST_LOG_ERROR, "bus_auth_conflict", "running_for", s_dir, "asked_for", dir, NULL);
            rc = -1;
        }
    }
    else {
        zcertstore_t *store = s_store_of (dir);
        //  zauth takes the store: from here it is the handler's. Its thread
        //  is CZMQ's and would carry our name; the creator takes the handler's
        //  name for the moment the thread is made, which it inherits
        char creator [16] = "";
        pthread_getname_np (pthread_self (), creator, sizeof creator);
        pst_actor_name ("bus-zauth");
        s_handler = store? zactor_new (zauth, store): NULL;
        pst_actor_name (creator);
        s_dir = s_handler? strdup (dir): NULL;
        if (s_handler && s_dir) {
            s_users = 1;
            char keys [24];
            snprintf (keys, sizeof keys, "%zu", s_keys);
            pst_log (PST_LOG_INFO, "bus_auth_started", "dir", dir, "admitted", keys, NULL);
        }
        else {
            zactor_destroy (&s_handler);
            free (s_dir);
            s_dir = NULL;
            pst_log (PST_LOG_ERROR, "bus_auth_failed", "dir", dir, NULL);
            rc = -1;
        }
    }
    pthread_mutex_unlock (&s_lock);
    return rc;
}

void
pst_auth_release (void)
{
    pthread_mutex_lock (&s_lock);
    if (s_handler && --s_users == 0) {
        zactor_destroy (&s_handler);
        free (s_dir);
        s_dir = NULL;
        s_keys = 0;
    }
    pthread_mutex_unlock (&s_lock);
}

size_t
pst_auth_keys (void)
{
    pthread_mutex_lock (&s_lock);
    size_t keys = s_handler? s_keys: 0;
    pthread_mutex_unlock (&s_lock);
    return keys;
}
