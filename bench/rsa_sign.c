/*  rsa_sign - the ceiling of RS256 token signing: RSA-2048 PKCS#1 v1.5 signatures
    over SHA-256 per second, one thread per core, through OpenSSL's EVP interface
    as authn signs access tokens (one key loaded once, a digest context per
    signature), over a message the size of a JWT's header and claims.

    rsa_sign [--seconds S] [--threads N]      (defaults: 3 s, one thread per core)

    Prints one line: "rsa_sign threads=N signs=K seconds=S per_s=R".
*/
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    EVP_PKEY *key;
    double until;
    long signs;
    int failed;
} s_worker_t;

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static void *
s_work (void *arg)
{
    s_worker_t *self = (s_worker_t *) arg;
    //  A JWT's signing input is about 350 bytes of base64url
    unsigned char message [350];
    memset (message, 'e', sizeof message);
    unsigned char signature [512];
    while (s_now () < self->until) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
        size_t size = sizeof signature;
        if (!ctx
        ||  EVP_DigestSignInit (ctx, NULL, EVP_sha256 (), NULL, self->key) != 1
        ||  EVP_DigestSign (ctx, signature, &size, message, sizeof message) != 1) {
            self->failed = 1;
            EVP_MD_CTX_free (ctx);
            break;
        }
        EVP_MD_CTX_free (ctx);
        self->signs++;
    }
    return NULL;
}

int
main (int argc, char **argv)
{
    double seconds = 3;
    long threads = sysconf (_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof (argv [++i]);
        else
        if (strcmp (argv [i], "--threads") == 0 && i + 1 < argc)
            threads = atol (argv [++i]);
        else {
            fprintf (stderr, "usage: rsa_sign [--seconds S] [--threads N]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 600 || threads < 1 || threads > 256) {
        fprintf (stderr, "rsa_sign: seconds in (0, 600], threads in [1, 256]\n");
        return 2;
    }
    EVP_PKEY *key = EVP_RSA_gen (2048);
    if (!key) {
        fprintf (stderr, "rsa_sign: cannot generate an RSA-2048 key\n");
        return 1;
    }
    s_worker_t *workers = (s_worker_t *) calloc ((size_t) threads, sizeof *workers);
    pthread_t *ids = (pthread_t *) calloc ((size_t) threads, sizeof *ids);
    if (!workers || !ids)
        return 1;
    double start = s_now ();
    for (long i = 0; i < threads; i++) {
        workers [i].key = key;
        workers [i].until = start + seconds;
        if (pthread_create (&ids [i], NULL, s_work, &workers [i]) != 0)
            return 1;
    }
    long signs = 0;
    int failed = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join (ids [i], NULL);
        signs += workers [i].signs;
        failed |= workers [i].failed;
    }
    double elapsed = s_now () - start;
    EVP_PKEY_free (key);
    free (workers);
    free (ids);
    if (failed || signs == 0) {
        fprintf (stderr, "rsa_sign: a signature failed\n");
        return 1;
    }
    printf ("rsa_sign threads=%ld signs=%ld seconds=%.3f per_s=%.1f\n",
            threads, signs, elapsed, (double) signs / elapsed);
    return 0;
}
