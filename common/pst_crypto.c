/*  pst_crypto - thin wrappers over libsodium and OpenSSL 3.

    Every primitive comes from a library; this file only fixes the policy (argon2id
    limits, base64 variant) in one place. Key files are pst_keyfile's.
*/
#include "pst_crypto.h"
#include "pst_hugepages.h"
#include "pst_log.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <assert.h>
#include <limits.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  OWASP Password Storage minimum for argon2id (requirement S13).
#define PASSWORD_OPSLIMIT   2
#define PASSWORD_MEMLIMIT   (19u * 1024u * 1024u)
_Static_assert (PASSWORD_MEMLIMIT >= PST_HUGEPAGES_MIN_BYTES,
                "argon2id's memory must stay large enough for pst_hugepages");
#define B64_VARIANT         sodium_base64_VARIANT_URLSAFE_NO_PADDING

int
pst_crypto_init (void)
{
    //  argon2id's memory on huge pages where it can be (pst_hugepages.h)
    pst_hugepages_init ();
    //  sodium_init answers 1 when already initialised, which is fine
    return sodium_init () < 0? -1: 0;
}

//  --------------------------------------------------------------------------
//  Random values

int
pst_random_token (char *out, size_t out_size, size_t bytes)
{
    assert (out);
    if (bytes == 0 || out_size < pst_b64url_len (bytes) + 1)
        return -1;
    uint8_t *buffer = malloc (bytes);
    if (!buffer)
        return -1;
    randombytes_buf (buffer, bytes);
    sodium_bin2base64 (out, out_size, buffer, bytes, B64_VARIANT);
    sodium_memzero (buffer, bytes);
    free (buffer);
    return 0;
}

int
pst_random_hex (char *out, size_t out_size, size_t bytes)
{
    assert (out);
    if (bytes == 0 || bytes > (SIZE_MAX - 1) / 2 || out_size < 2 * bytes + 1)
        return -1;
    uint8_t *buffer = malloc (bytes);
    if (!buffer)
        return -1;
    randombytes_buf (buffer, bytes);
    sodium_bin2hex (out, out_size, buffer, bytes);
    sodium_memzero (buffer, bytes);
    free (buffer);
    return 0;
}

void
pst_random_code6 (char out [7])
{
    assert (out);
    //  Uniform over the whole range, so leading zeros occur about 10% of the time
    snprintf (out, 7, "%06u", (unsigned) randombytes_uniform (1000000));
}

void
pst_random_string (char *out, size_t length, const char *alphabet)
{
    assert (out);
    assert (alphabet);
    size_t size = strlen (alphabet);
    assert (size > 0 && size <= UINT32_MAX);
    for (size_t i = 0; i < length; i++)
        out [i] = alphabet [randombytes_uniform ((uint32_t) size)];
    out [length] = '\0';
}

uint32_t
pst_random_uniform (uint32_t upper)
{
    return randombytes_uniform (upper);
}

//  --------------------------------------------------------------------------
//  Passwords

//  At most one argon2id computation per core at a time, whatever the number of
//  workers. Each one walks its own 19 MiB at random: more of them than cores
//  only take turns on the cores, and every turn evicts the others' memory from
//  the caches (bench/argon2_rate: 4 threads on 2 cores hashed at half the rate
//  of 2 threads). The bound also caps the memory a flood of sign-ins can take
//  at cores x 19 MiB. A thread that cannot get a slot waits: its request was
//  going to wait for a core anyway.
static sem_t s_hash_slots;
static int s_hash_slots_ready = 0;
static pthread_once_t s_hash_slots_once = PTHREAD_ONCE_INIT;

static void
s_hash_slots_init (void)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    unsigned slots = cores < 1? 1: cores > 256? 256: (unsigned) cores;
    s_hash_slots_ready = sem_init (&s_hash_slots, 0, slots) == 0;
}

static void
s_hash_slot_take (void)
{
    pthread_once (&s_hash_slots_once, s_hash_slots_init);
    //  Without the semaphore (it could not be made) hashes run unbounded, as before
    if (s_hash_slots_ready)
        while (sem_wait (&s_hash_slots) != 0 && errno == EINTR)
            ;
}

static void
s_hash_slot_give (void)
{
    if (s_hash_slots_ready)
        sem_post (&s_hash_slots);
}

char *
pst_password_hash (const char *password)
{
    if (!password)
        return NULL;
    char phc [crypto_pwhash_STRBYTES];
    s_hash_slot_take ();
    int rc = crypto_pwhash_str_alg (phc, password, strlen (password),
                                    PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
                                    crypto_pwhash_ALG_ARGON2ID13);
    s_hash_slot_give ();
    if (rc != 0) {
        pst_log (PST_LOG_ERROR, "password_hash_failed", "reason", "out of memory", NULL);
        return NULL;
    }
    return strdup (phc);
}

//  A PHC string comes from a database: refuse one that is not terminated
//  within the size libsodium expects before handing it over.
static int
s_phc_is_bounded (const char *phc)
{
    return phc && memchr (phc, '\0', crypto_pwhash_STRBYTES) != NULL;
}

int
pst_password_verify (const char *phc, const char *password)
{
    if (!s_phc_is_bounded (phc) || !password)
        return -1;
    s_hash_slot_take ();
    int rc = crypto_pwhash_str_verify (phc, password, strlen (password));
    s_hash_slot_give ();
    return rc == 0? 0: -1;
}

int
pst_password_needs_rehash (const char *phc)
{
    //  The argon2id-specific call also answers "rehash" for argon2i strings;
    //  any string that is not exactly the current policy is upgraded on login.
    if (!s_phc_is_bounded (phc))
        return 1;
    return crypto_pwhash_argon2id_str_needs_rehash (phc, PASSWORD_OPSLIMIT,
                                                    PASSWORD_MEMLIMIT) != 0;
}

static char s_dummy_phc [crypto_pwhash_STRBYTES];
static int s_dummy_ready = 0;
static pthread_once_t s_dummy_once = PTHREAD_ONCE_INIT;

static void
s_dummy_init (void)
{
    char password [33];
    if (pst_random_hex (password, sizeof password, 16) == 0
    &&  crypto_pwhash_str_alg (s_dummy_phc, password, strlen (password),
                               PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
                               crypto_pwhash_ALG_ARGON2ID13) == 0)
        s_dummy_ready = 1;
    sodium_memzero (password, sizeof password);
}

void
pst_password_burn (const char *password)
{
    pthread_once (&s_dummy_once, s_dummy_init);
    const char *input = password? password: "";
    if (s_dummy_ready) {
        //  The answer does not matter, only the time it takes
        s_hash_slot_take ();
        int rc = crypto_pwhash_str_verify (s_dummy_phc, input, strlen (input));
        s_hash_slot_give ();
        (void) rc;
    }
    else {
        //  Without a dummy hash, hashing costs the same as a verification
        char *phc = pst_password_hash (input);
        free (phc);
    }
}

//  --------------------------------------------------------------------------
//  Comparisons

int
pst_ct_equal (const void *a, const void *b, size_t size)
{
    assert (a || size == 0);
    assert (b || size == 0);
    if (size == 0)
        return 1;
    return sodium_memcmp (a, b, size) == 0;
}

int
pst_ct_streq (const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    size_t a_len = strlen (a);
    size_t b_len = strlen (b);
    size_t common = a_len < b_len? a_len: b_len;
    //  Compare the common part even when the lengths differ: no early exit
    int same = common == 0 || sodium_memcmp (a, b, common) == 0;
    return same & (a_len == b_len);
}

//  --------------------------------------------------------------------------
//  Digests

void
pst_sha256_hex (const void *data, size_t size, char out [65])
{
    assert (out);
    assert (data || size == 0);
    uint8_t digest [EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (EVP_Digest (data? data: "", size, digest, &digest_size, EVP_sha256 (), NULL) != 1
    ||  digest_size != 32) {
        //  An empty string never equals a stored digest
        pst_log (PST_LOG_ERROR, "sha256_failed", NULL);
        out [0] = '\0';
        return;
    }
    sodium_bin2hex (out, 65, digest, 32);
}

int
pst_sha256_matches_hex (const char *secret, const char *expected_hex)
{
    if (!secret || !expected_hex)
        return 0;
    char hash [65];
    pst_sha256_hex (secret, strlen (secret), hash);
    return pst_ct_streq (hash, expected_hex);
}

void
pst_hmac_sha256_hex (const uint8_t *key, size_t key_size,
                     const void *data, size_t size, char out [65])
{
    assert (out);
    assert (key || key_size == 0);
    assert (data || size == 0);
    uint8_t digest [EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (key_size > INT_MAX
    ||  !HMAC (EVP_sha256 (), key? key: (const uint8_t *) "", (int) key_size,
               data? data: "", size, digest, &digest_size)
    ||  digest_size != 32) {
        pst_log (PST_LOG_ERROR, "hmac_failed", NULL);
        out [0] = '\0';
        return;
    }
    sodium_bin2hex (out, 65, digest, 32);
    sodium_memzero (digest, sizeof digest);
}

//  --------------------------------------------------------------------------
//  base64url

size_t
pst_b64url_len (size_t bytes)
{
    //  4 characters per 3 bytes, and 2 or 3 for a trailing group (no padding)
    return bytes / 3 * 4 + (bytes % 3 == 0? 0: bytes % 3 + 1);
}

char *
pst_b64url_encode (const void *data, size_t size)
{
    assert (data || size == 0);
    size_t text_size = sodium_base64_ENCODED_LEN (size, B64_VARIANT);
    char *text = malloc (text_size);
    if (!text)
        return NULL;
    if (size == 0)
        text [0] = '\0';
    else
        sodium_bin2base64 (text, text_size, data, size, B64_VARIANT);
    return text;
}

int
pst_b64url_decode (const char *text, size_t text_len,
                   uint8_t *out, size_t max, size_t *size_p)
{
    if (!text || !out)
        return -1;
    size_t size = 0;
    //  With b64_end NULL, libsodium fails on any character outside the alphabet
    //  ('+', '/', '=', NUL...) and on non-zero trailing bits.
    if (sodium_base642bin (out, max, text, text_len, NULL, &size, NULL, B64_VARIANT) != 0)
        return -1;
    if (size_p)
        *size_p = size;
    return 0;
}
