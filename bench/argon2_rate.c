/*  argon2_rate - the ceiling of password sign-ins: argon2id hashes per second at
    Postern's configured cost (common/pst_crypto.c: m = 19 MiB, t = 2, p = 1), one
    thread per core, with libsodium's crypto_pwhash as authn verifies a password
    (crypto_pwhash_str_verify recomputes exactly this hash), and its memory on huge
    pages as in authn (common/pst_hugepages.h; POSTERN_ARGON2_HUGEPAGES=0: not).

    argon2_rate [--seconds S] [--threads N]   (defaults: 5 s, one thread per core)

    Each thread finishes the hash it started, so a run lasts a little longer than S.
    Prints one line: "argon2_rate threads=N hashes=K seconds=S per_s=R".
*/
#include "pst_crypto.h"
#include <sodium.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Keep in step with PASSWORD_OPSLIMIT and PASSWORD_MEMLIMIT in common/pst_crypto.c
#define OPSLIMIT    2
#define MEMLIMIT    (19u * 1024u * 1024u)

typedef struct {
    double until;
    long hashes;
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
    const char *password = "correct horse battery staple";
    unsigned char salt [crypto_pwhash_SALTBYTES];
    unsigned char out [32];
    randombytes_buf (salt, sizeof salt);
    do {
        if (crypto_pwhash (out, sizeof out, password, strlen (password), salt,
                           OPSLIMIT, MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
            self->failed = 1;
            break;
        }
        self->hashes++;
    } while (s_now () < self->until);
    return NULL;
}

int
main (int argc, char **argv)
{
    double seconds = 5;
    long threads = sysconf (_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof (argv [++i]);
        else
        if (strcmp (argv [i], "--threads") == 0 && i + 1 < argc)
            threads = atol (argv [++i]);
        else {
            fprintf (stderr, "usage: argon2_rate [--seconds S] [--threads N]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 600 || threads < 1 || threads > 256 || pst_crypto_init () != 0) {
        fprintf (stderr, "argon2_rate: seconds in (0, 600], threads in [1, 256]\n");
        return 2;
    }
    s_worker_t *workers = (s_worker_t *) calloc ((size_t) threads, sizeof *workers);
    pthread_t *ids = (pthread_t *) calloc ((size_t) threads, sizeof *ids);
    if (!workers || !ids)
        return 1;
    double start = s_now ();
    for (long i = 0; i < threads; i++) {
        workers [i].until = start + seconds;
        if (pthread_create (&ids [i], NULL, s_work, &workers [i]) != 0)
            return 1;
    }
    long hashes = 0;
    int failed = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join (ids [i], NULL);
        hashes += workers [i].hashes;
        failed |= workers [i].failed;
    }
    double elapsed = s_now () - start;
    free (workers);
    free (ids);
    if (failed || hashes == 0) {
        fprintf (stderr, "argon2_rate: a hash failed (out of memory?)\n");
        return 1;
    }
    printf ("argon2_rate threads=%ld hashes=%ld seconds=%.3f per_s=%.2f\n",
            threads, hashes, elapsed, (double) hashes / elapsed);
    return 0;
}
