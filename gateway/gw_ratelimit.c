#include "gw_ratelimit.h"
#include <czmq.h>
#include <pthread.h>
#include <stdlib.h>

//  Tokens are counted in thousandths, so a bucket gains exactly per_second of
//  them each millisecond
#define MILLI       1000

typedef struct {
    int64_t tokens;             //  thousandths of a token
    int64_t at_ms;              //  when tokens was last brought up to date
} bucket_t;

struct _gw_ratelimit_t {
    pthread_mutex_t lock;
    zhashx_t *buckets;          //  key -> bucket_t
    bucket_t overflow;          //  shared by new callers when the table is full
    int64_t capacity;           //  limit * MILLI
    int64_t rate;               //  thousandths gained per millisecond: per_second
    int limit;
    size_t max_keys;
};

static void
s_bucket_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

gw_ratelimit_t *
gw_ratelimit_new (int limit, int per_second, size_t max_keys)
{
    if (limit < 1 || per_second < 1 || max_keys < 1)
        return NULL;
    gw_ratelimit_t *self = (gw_ratelimit_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->buckets = zhashx_new ();
    if (!self->buckets || pthread_mutex_init (&self->lock, NULL) != 0) {
        zhashx_destroy (&self->buckets);
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->buckets, s_bucket_free);
    self->limit = limit;
    self->capacity = (int64_t) limit * MILLI;
    self->rate = per_second;
    self->max_keys = max_keys;
    self->overflow.tokens = self->capacity;
    return self;
}

void
gw_ratelimit_destroy (gw_ratelimit_t **self_p)
{
    if (self_p && *self_p) {
        gw_ratelimit_t *self = *self_p;
        zhashx_destroy (&self->buckets);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *self_p = NULL;
    }
}

//  Brings bucket's tokens up to now_ms
static void
s_refill (gw_ratelimit_t *self, bucket_t *bucket, int64_t now_ms)
{
    if (now_ms > bucket->at_ms) {
        int64_t elapsed = now_ms - bucket->at_ms;
        //  Past a full refill the product could only overflow
        if (elapsed >= self->capacity / self->rate + 1)
            bucket->tokens = self->capacity;
        else
            bucket->tokens += elapsed * self->rate;
        if (bucket->tokens > self->capacity)
            bucket->tokens = self->capacity;
        bucket->at_ms = now_ms;
    }
}

//  Drops the buckets that are full by now_ms: they count nothing
static void
s_prune (gw_ratelimit_t *self, int64_t now_ms)
{
    zlistx_t *full = zlistx_new ();
    if (!full)
        return;
    for (bucket_t *bucket = (bucket_t *) zhashx_first (self->buckets); bucket;
         bucket = (bucket_t *) zhashx_next (self->buckets)) {
        s_refill (self, bucket, now_ms);
        if (bucket->tokens == self->capacity)
            zlistx_add_end (full, (void *) zhashx_cursor (self->buckets));
    }
    for (const char *key = (const char *) zlistx_first (full); key;
         key = (const char *) zlistx_next (full))
        zhashx_delete (self->buckets, key);
    zlistx_destroy (&full);
}

//  key's bucket, new and full when it had none; the overflow bucket when the
//  table has no room left
static bucket_t *
s_bucket (gw_ratelimit_t *self, const char *key, int64_t now_ms)
{
    bucket_t *bucket = (bucket_t *) zhashx_lookup (self->buckets, key);
    if (bucket)
        return bucket;
    if (zhashx_size (self->buckets) >= self->max_keys)
        s_prune (self, now_ms);
    if (zhashx_size (self->buckets) >= self->max_keys)
        return &self->overflow;
    bucket = (bucket_t *) calloc (1, sizeof *bucket);
    if (!bucket || zhashx_insert (self->buckets, key, bucket) != 0) {
        free (bucket);
        return &self->overflow;
    }
    bucket->tokens = self->capacity;
    bucket->at_ms = now_ms;
    return bucket;
}

//  Milliseconds until a bucket holding tokens holds wanted
static int64_t
s_wait_ms (gw_ratelimit_t *self, int64_t tokens, int64_t wanted)
{
    return tokens >= wanted? 0: (wanted - tokens + self->rate - 1) / self->rate;
}

void
gw_ratelimit_take (gw_ratelimit_t *self, const char *key, int64_t mono_ms, int64_t unix_ms,
                   gw_ratelimit_take_t *take)
{
    pthread_mutex_lock (&self->lock);
    bucket_t *bucket = s_bucket (self, key? key: "", mono_ms);
    s_refill (self, bucket, mono_ms);
    take->refused = bucket->tokens < MILLI;
    if (!take->refused)
        bucket->tokens -= MILLI;
    int64_t tokens = bucket->tokens;
    //  Times from the bucket's own clock, never behind the caller's
    int64_t ahead_ms = bucket->at_ms > mono_ms? bucket->at_ms - mono_ms: 0;
    pthread_mutex_unlock (&self->lock);

    take->limit = self->limit;
    take->remaining = (int) (tokens / MILLI);
    take->reset = (unix_ms + ahead_ms + s_wait_ms (self, tokens, self->capacity) + 999) / 1000;
    int64_t retry_ms = s_wait_ms (self, tokens, MILLI);
    take->retry_after = take->refused? (int) ((retry_ms + 999) / 1000): 0;
    if (take->refused && take->retry_after < 1)
        take->retry_after = 1;
}

size_t
gw_ratelimit_size (gw_ratelimit_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t size = zhashx_size (self->buckets);
    pthread_mutex_unlock (&self->lock);
    return size;
}
