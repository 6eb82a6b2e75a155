/*  replay_main - runs a libFuzzer target over every regular file of a corpus
    directory, so the corpus is a plain test (under ASan+UBSan when built with
    POSTERN_SANITIZE=ON) on machines without libFuzzer.

    Usage: <target>_replay <corpus-dir>
*/
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Reads a whole file into an exact-size buffer, so a read past its end is an
//  out-of-bounds access the sanitizers can see.
static int
s_replay (int dir_fd, const char *name, int *replayed_p)
{
    int fd = openat (dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat info;
    if (fstat (fd, &info) || !S_ISREG (info.st_mode)) {
        close (fd);
        return 0;                       //  sub-directories and the like are skipped
    }
    size_t size = (size_t) info.st_size;
    uint8_t *data = (uint8_t *) malloc (size? size: 1);
    size_t done = 0;
    while (data && done < size) {
        ssize_t got = read (fd, data + done, size - done);
        if (got <= 0)
            break;
        done += (size_t) got;
    }
    close (fd);
    if (!data || done != size) {
        free (data);
        return -1;
    }
    LLVMFuzzerTestOneInput (data, size);
    free (data);
    (*replayed_p)++;
    return 0;
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: %s <corpus-dir>\n", argv [0]);
        return 2;
    }
    DIR *dir = opendir (argv [1]);
    if (!dir) {
        fprintf (stderr, "%s: cannot open %s\n", argv [0], argv [1]);
        return 1;
    }
    int replayed = 0;
    int failed = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        if (entry->d_name [0] == '.')
            continue;
        if (s_replay (dirfd (dir), entry->d_name, &replayed)) {
            fprintf (stderr, "%s: cannot read %s/%s\n", argv [0], argv [1], entry->d_name);
            failed++;
        }
    }
    closedir (dir);
    printf ("%s: replayed %d inputs from %s\n", argv [0], replayed, argv [1]);
    if (replayed == 0) {
        fprintf (stderr, "%s: no inputs in %s\n", argv [0], argv [1]);
        return 1;
    }
    return failed? 1: 0;
}
