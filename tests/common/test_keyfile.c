/*  Unit tests of pst_keyfile: creation (0600, atomic, no leftovers), reload,
    refusal of files of the wrong size, and services racing to create one key.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_crypto.h"
#include "pst_keyfile.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
s_temp_dir (void)
{
    char *dir = strdup ("/tmp/pst_test_keyfile_XXXXXX");
    assert_non_null (mkdtemp (dir));
    return dir;
}

static int
s_dir_entries (const char *path)
{
    DIR *dir = opendir (path);
    assert_non_null (dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (strcmp (entry->d_name, ".") && strcmp (entry->d_name, ".."))
            count++;
    closedir (dir);
    return count;
}

static void
test_key_file (void **state)
{
    (void) state;
    char *dir = s_temp_dir ();
    char path [256];
    snprintf (path, sizeof path, "%s/hmac.key", dir);

    uint8_t key [32], again [32], zero [32] = { 0 };
    assert_int_equal (pst_key_file_load (path, key, sizeof key), 0);
    assert_memory_not_equal (key, zero, sizeof key);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    assert_int_equal (info.st_size, 32);
    //  Only the key itself: the temporary name is gone
    assert_int_equal (s_dir_entries (dir), 1);

    //  Reload gives the same key
    assert_int_equal (pst_key_file_load (path, again, sizeof again), 0);
    assert_memory_equal (key, again, sizeof key);

    //  Wrong size in either direction is refused
    uint8_t small [16], large [64];
    assert_int_equal (pst_key_file_load (path, small, sizeof small), -1);
    assert_int_equal (pst_key_file_load (path, large, sizeof large), -1);

    //  A truncated file is refused, never padded
    char short_path [256];
    snprintf (short_path, sizeof short_path, "%s/short.key", dir);
    int fd = open (short_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "0123456789", 10), 10);
    close (fd);
    assert_int_equal (pst_key_file_load (short_path, key, sizeof key), -1);

    //  A directory that does not exist
    char missing [256];
    snprintf (missing, sizeof missing, "%s/no/such/dir.key", dir);
    assert_int_equal (pst_key_file_load (missing, key, sizeof key), -1);

    unlink (path);
    unlink (short_path);
    assert_int_equal (rmdir (dir), 0);
    free (dir);
}

typedef struct {
    const char *path;
    pthread_barrier_t *barrier;
    uint8_t key [32];
    int rc;
} loader_t;

static void *
s_loader (void *args)
{
    loader_t *loader = args;
    pthread_barrier_wait (loader->barrier);
    loader->rc = pst_key_file_load (loader->path, loader->key, sizeof loader->key);
    return NULL;
}

//  Services starting together on an empty volume must all end up with one key
static void
test_key_file_race (void **state)
{
    (void) state;
    enum { LOADERS = 4, ROUNDS = 10 };
    char *dir = s_temp_dir ();
    for (int round = 0; round < ROUNDS; round++) {
        char path [256];
        snprintf (path, sizeof path, "%s/race%d.key", dir, round);
        pthread_barrier_t barrier;
        assert_int_equal (pthread_barrier_init (&barrier, NULL, LOADERS), 0);
        pthread_t threads [LOADERS];
        loader_t loaders [LOADERS];
        for (int i = 0; i < LOADERS; i++) {
            loaders [i].path = path;
            loaders [i].barrier = &barrier;
            loaders [i].rc = -2;
            assert_int_equal (pthread_create (&threads [i], NULL, s_loader, &loaders [i]), 0);
        }
        for (int i = 0; i < LOADERS; i++)
            assert_int_equal (pthread_join (threads [i], NULL), 0);
        pthread_barrier_destroy (&barrier);
        for (int i = 0; i < LOADERS; i++) {
            assert_int_equal (loaders [i].rc, 0);
            assert_memory_equal (loaders [i].key, loaders [0].key, 32);
        }
        unlink (path);
    }
    assert_int_equal (s_dir_entries (dir), 0);
    assert_int_equal (rmdir (dir), 0);
    free (dir);
}

int
main (void)
{
    if (pst_crypto_init () != 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_key_file),
        cmocka_unit_test (test_key_file_race),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
