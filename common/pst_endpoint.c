#include "pst_endpoint.h"
#include "pst_curve.h"
#include "pst_log.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct _pst_endpoint_t {
    char *path;                 //  the ipc socket file, NULL for other transports
    int lock;                   //  held for the life of the claim, -1 when none
};

static const char *
s_ipc_path (const char *endpoint)
{
    return endpoint && strncmp (endpoint, "ipc://", 6) == 0? endpoint + 6: NULL;
}

//  The folder of path, made 0700 when missing, else checked. 0 or -1.
static int
s_private_folder (const char *path)
{
    char folder [PST_ENDPOINT_IPC_MAX + 1];
    snprintf (folder, sizeof folder, "%s", path);
    char *slash = strrchr (folder, '/');
    if (!slash || slash == folder) {
        pst_log (PST_LOG_ERROR, "bus_endpoint_unusable", "path", path,
                 "reason", "an ipc endpoint needs a folder of its own", NULL);
        return -1;
    }
    *slash = 0;
    if (mkdir (folder, 0700) != 0 && errno != EEXIST) {
        pst_log (PST_LOG_ERROR, "bus_endpoint_unusable", "path", folder, "reason", strerror (errno), NULL);
        return -1;
    }
    return pst_curve_dir_private (folder);
}

int
pst_endpoint_prepare_dir (const char *endpoint)
{
    const char *path = s_ipc_path (endpoint);
    return path? s_private_folder (path): 0;
}

//  1 when something accepts connections at path
static int
s_answers (const char *path)
{
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf (address.sun_path, sizeof address.sun_path, "%s", path);
    int answers = connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
    close (fd);
    return answers;
}

pst_endpoint_t *
pst_endpoint_claim (const char *endpoint)
{
    pst_endpoint_t *self = (pst_endpoint_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->lock = -1;
    const char *path = s_ipc_path (endpoint);
    if (!path)
        return self;
    const char *reason = NULL;
    char *lock_path = NULL;
    if (strlen (path) == 0 || strlen (path) > PST_ENDPOINT_IPC_MAX)
        reason = "the path is longer than a Unix socket address allows (107 bytes): "
                 "choose a shorter data directory or endpoint";
    else
    if (s_private_folder (path))
        reason = "its folder is not private";
    else
    if (asprintf (&lock_path, "%s.lock", path) < 0)
        reason = "out of memory";
    if (!reason) {
        self->lock = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (self->lock < 0)
            reason = strerror (errno);
        else
        if (flock (self->lock, LOCK_EX | LOCK_NB) != 0)
            reason = errno == EWOULDBLOCK? "another instance holds it (its lock file is taken)"
                                         : strerror (errno);
        else
        //  A process that does not take the lock (an older Postern) still shows
        if (s_answers (path))
            reason = "another instance serves it";
    }
    free (lock_path);
    if (reason) {
        pst_log (PST_LOG_ERROR, "bus_endpoint_taken", "endpoint", endpoint, "reason", reason, NULL);
        pst_endpoint_release (&self);
        return NULL;
    }
    self->path = strdup (path);
    if (!self->path)
        pst_endpoint_release (&self);
    return self;
}

void
pst_endpoint_release (pst_endpoint_t **self_p)
{
    if (self_p && *self_p) {
        pst_endpoint_t *self = *self_p;
        //  The socket file goes while the lock is still held, so a new instance
        //  never sees it removed under it
        if (self->path)
            unlink (self->path);
        if (self->lock >= 0)
            close (self->lock);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}
