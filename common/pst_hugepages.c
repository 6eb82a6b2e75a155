/*  pst_hugepages - argon2id's memory on transparent huge pages (see the header).
*/
#include "pst_hugepages.h"
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifndef MADV_POPULATE_WRITE
#   define MADV_POPULATE_WRITE 23      //  Linux 5.14; older kernels answer EINVAL
#endif

typedef void *(mmap_fn) (void *, size_t, int, int, int, off_t);

//  The next mmap in the lookup order: the C library's (or a sanitizer's)
static _Atomic (mmap_fn *) s_next_mmap;
static atomic_bool s_enabled = true;

static mmap_fn *
s_resolve (void)
{
    mmap_fn *next = atomic_load (&s_next_mmap);
    if (!next) {
        //  dlsym is thread-safe; two threads that race here store the same value
        next = (mmap_fn *) dlsym (RTLD_NEXT, "mmap");
        atomic_store (&s_next_mmap, next);
    }
    return next;
}

bool
pst_hugepages_init (void)
{
    const char *setting = getenv ("POSTERN_ARGON2_HUGEPAGES");
    if (setting && strcmp (setting, "0") == 0)
        atomic_store (&s_enabled, false);
    return s_resolve () != NULL && atomic_load (&s_enabled);
}

void *
mmap (void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    mmap_fn *next = s_resolve ();
    if (!next)
        return MAP_FAILED;
    if (!(flags & MAP_ANONYMOUS) || length < PST_HUGEPAGES_MIN_BYTES
    ||  !atomic_load (&s_enabled))
        return next (addr, length, prot, flags, fd, offset);
    void *region = next (addr, length, prot, flags & ~MAP_POPULATE, fd, offset);
    if (region != MAP_FAILED) {
        //  Both are advice: a kernel without huge pages, or that cannot
        //  populate, leaves the mapping to fault in as usual
        (void) madvise (region, length, MADV_HUGEPAGE);
        if (flags & MAP_POPULATE)
            (void) madvise (region, length, MADV_POPULATE_WRITE);
    }
    return region;
}
