#include "pst_keyfile.h"
#include "pst_crypto.h"
#include "pst_log.h"
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
s_write_all (int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t rc = write (fd, data, size);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        data += rc;
        size -= (size_t) rc;
    }
    return 0;
}

static int
s_read_exact (int fd, uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t rc = read (fd, data, size);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        data += rc;
        size -= (size_t) rc;
    }
    //  One more byte means the file is longer than the key: refuse it
    uint8_t extra;
    ssize_t rc;
    do
        rc = read (fd, &extra, 1);
    while (rc < 0 && errno == EINTR);
    return rc == 0? 0: -1;
}

static int
s_key_file_read (const char *path, uint8_t *key, size_t key_size)
{
    //  Symlinks are followed: mounted secrets (Kubernetes) are links
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pst_log (PST_LOG_ERROR, "key_file_unreadable", "path", path,
                 "reason", strerror (errno), NULL);
        return -1;
    }
    struct stat info;
    int rc = -1;
    if (fstat (fd, &info) != 0 || !S_ISREG (info.st_mode))
        pst_log (PST_LOG_ERROR, "key_file_invalid", "path", path,
                 "reason", "not a regular file", NULL);
    else
    if ((uint64_t) info.st_size != (uint64_t) key_size
    ||  s_read_exact (fd, key, key_size) != 0) {
        sodium_memzero (key, key_size);
        pst_log (PST_LOG_ERROR, "key_file_invalid", "path", path,
                 "reason", "wrong size", NULL);
    }
    else {
        if (info.st_mode & (S_IRWXG | S_IRWXO))
            pst_log (PST_LOG_WARN, "key_file_permissions", "path", path,
                     "reason", "readable by group or others; chmod 0600", NULL);
        rc = 0;
    }
    close (fd);
    return rc;
}

//  Creates the file exclusively: the key is written and synced under a temporary
//  name created O_CREAT|O_EXCL 0600, then link() publishes it atomically, so no
//  reader ever sees a partial key and a crash never leaves a short file behind.
//  Returns 0 created, 1 another writer won (read theirs), -1 error.
static int
s_key_file_create (const char *path, uint8_t *key, size_t key_size)
{
    char *temp = NULL;
    if (asprintf (&temp, "%s.new-XXXXXX", path) < 0)
        return -1;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        char suffix [7];
        pst_random_string (suffix, 6, "abcdefghijklmnopqrstuvwxyz0123456789");
        memcpy (temp + strlen (temp) - 6, suffix, 6);
        fd = open (temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        pst_log (PST_LOG_ERROR, "key_file_create_failed", "path", path,
                 "reason", strerror (errno), NULL);
        free (temp);
        return -1;
    }
    randombytes_buf (key, key_size);
    int rc = -1;
    if (fchmod (fd, 0600) != 0
    ||  s_write_all (fd, key, key_size) != 0
    ||  fsync (fd) != 0)
        pst_log (PST_LOG_ERROR, "key_file_create_failed", "path", path,
                 "reason", strerror (errno), NULL);
    else
    if (link (temp, path) == 0)
        rc = 0;
    else
    if (errno == EEXIST)
        rc = 1;
    else
        pst_log (PST_LOG_ERROR, "key_file_create_failed", "path", path,
                 "reason", strerror (errno), NULL);
    close (fd);
    unlink (temp);
    free (temp);
    if (rc != 0)
        sodium_memzero (key, key_size);
    return rc;
}

//  The new name must survive a power loss, or the next start makes another key
static void
s_sync_parent (const char *path)
{
    char *copy = strdup (path);
    if (!copy)
        return;
    char *slash = strrchr (copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else
    if (slash) {
        *slash = '\0';
        dir = copy;
    }
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void) fsync (fd);
        close (fd);
    }
    free (copy);
}

int
pst_key_file_load (const char *path, uint8_t *key, size_t key_size)
{
    if (!path || !key || key_size == 0)
        return -1;
    struct stat info;
    if (lstat (path, &info) == 0 || errno != ENOENT)
        return s_key_file_read (path, key, key_size);
    int rc = s_key_file_create (path, key, key_size);
    if (rc == 0) {
        s_sync_parent (path);
        pst_log (PST_LOG_INFO, "key_file_created", "path", path, NULL);
        return 0;
    }
    if (rc < 0)
        return -1;
    return s_key_file_read (path, key, key_size);
}
