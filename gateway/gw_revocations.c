#include "gw_revocations.h"
#include <pthread.h>
#include <stdlib.h>

//  The key of "every audience": no API has an empty identifier
#define ALL_AUDIENCES   ""

struct _gw_revocations_t {
    pthread_rwlock_t lock;
    json_t *clients;            //  client_id -> {audience or "" -> revoked_at}; NULL until loaded
    size_t size;
};

gw_revocations_t *
gw_revocations_new (void)
{
    gw_revocations_t *self = (gw_revocations_t *) calloc (1, sizeof *self);
    if (self && pthread_rwlock_init (&self->lock, NULL) != 0) {
        free (self);
        self = NULL;
    }
    return self;
}

void
gw_revocations_destroy (gw_revocations_t **self_p)
{
    if (self_p && *self_p) {
        gw_revocations_t *self = *self_p;
        pthread_rwlock_destroy (&self->lock);
        json_decref (self->clients);
        free (self);
        *self_p = NULL;
    }
}

//  The list as the lookup table, or NULL when an entry is malformed. Two
//  revocations of the same pair keep the later time.
static json_t *
s_table (const json_t *list, size_t *size_p)
{
    json_t *clients = json_is_array (list)? json_object (): NULL;
    size_t index;
    json_t *entry;
    *size_p = 0;
    json_array_foreach (list, index, entry) {
        const char *client_id = json_string_value (json_object_get (entry, "client_id"));
        json_t *audience = json_object_get (entry, "audience");
        json_t *revoked_at = json_object_get (entry, "revoked_at");
        if (!clients || !client_id || !*client_id || !json_is_integer (revoked_at)
        ||  json_integer_value (revoked_at) < 0
        ||  !(json_is_string (audience) || json_is_null (audience) || !audience)) {
            json_decref (clients);
            return NULL;
        }
        const char *key = json_is_string (audience)? json_string_value (audience): ALL_AUDIENCES;
        json_t *audiences = json_object_get (clients, client_id);
        if (!audiences) {
            audiences = json_object ();
            if (json_object_set_new (clients, client_id, audiences) != 0)
                audiences = NULL;
        }
        json_t *known = audiences? json_object_get (audiences, key): NULL;
        if (!audiences) {
            json_decref (clients);
            return NULL;
        }
        if (!known)
            (*size_p)++;
        if (!known || json_integer_value (known) < json_integer_value (revoked_at))
            json_object_set_new (audiences, key, json_integer (json_integer_value (revoked_at)));
    }
    return clients;
}

int
gw_revocations_update (gw_revocations_t *self, const json_t *list)
{
    size_t size = 0;
    json_t *clients = s_table (list, &size);
    if (!clients)
        return -1;
    pthread_rwlock_wrlock (&self->lock);
    json_t *old = self->clients;
    self->clients = clients;
    self->size = size;
    pthread_rwlock_unlock (&self->lock);
    json_decref (old);
    return 0;
}

int
gw_revocations_loaded (gw_revocations_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    int loaded = self->clients != NULL;
    pthread_rwlock_unlock (&self->lock);
    return loaded;
}

size_t
gw_revocations_size (gw_revocations_t *self)
{
    pthread_rwlock_rdlock (&self->lock);
    size_t size = self->size;
    pthread_rwlock_unlock (&self->lock);
    return size;
}

//  iat * 1000 <= revoked_at, without the product (revoked_at is never negative)
static int
s_covered (const json_t *revoked_at, int64_t iat)
{
    return revoked_at && iat <= json_integer_value (revoked_at) / 1000;
}

int
gw_revocations_covers (gw_revocations_t *self, const char *client_id, const char *audience,
                       int64_t iat)
{
    if (!client_id)
        return 0;
    pthread_rwlock_rdlock (&self->lock);
    json_t *audiences = self->clients? json_object_get (self->clients, client_id): NULL;
    int covered = s_covered (json_object_get (audiences, ALL_AUDIENCES), iat)
               || (audience && *audience && s_covered (json_object_get (audiences, audience), iat));
    pthread_rwlock_unlock (&self->lock);
    return covered;
}
