/*  pst_hugepages - argon2id's memory on transparent huge pages (see the header).
*/
#include "pst_hugepages.h"
#include "pst_config.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifdef __USE_FILE_OFFSET64
#   error "mmap would be mmap64 here: pst_hugepages defines both names itself"
#endif
#ifndef MADV_POPULATE_WRITE
#   define MADV_POPULATE_WRITE 23      //  Linux 5.14; older kernels answer EINVAL
#endif

typedef void *(mmap_fn) (void *, size_t, int, int, int, off_t);

//  The next definitions in the lookup order: the C library's (or a sanitizer's).
//  glibc exports mmap and mmap64 as two names of one call on 64-bit systems; a
//  library built with 64-bit file offsets calls the second
static _Atomic (mmap_fn *) s_next_mmap;
static _Atomic (mmap_fn *) s_next_mmap64;
static atomic_bool s_enabled = true;

static mmap_fn *
s_resolve (_Atomic (mmap_fn *) *slot, const char *name)
{
    mmap_fn *next = atomic_load (slot);
    if (!next) {
        //  dlsym is thread-safe; two threads that race here store the same value
        next = (mmap_fn *) dlsym (RTLD_NEXT, name);
        atomic_store (slot, next);
    }
    return next;
}

bool
pst_hugepages_init (void)
{
    atomic_store (&s_enabled, pst_config_bool ("POSTERN_ARGON2_HUGEPAGES", 1) != 0);
    return s_resolve (&s_next_mmap, "mmap") && s_resolve (&s_next_mmap64, "mmap64")
        && atomic_load (&s_enabled);
}

//  Exactly what libsodium asks for argon2id's memory: a fresh, private,
//  read-write, anonymous mapping (populated or not). Reservations (PROT_NONE,
//  MAP_NORESERVE), stacks, fixed addresses and shared memory are left alone
static bool
s_is_argon2_like (void *addr, size_t length, int prot, int flags, int fd)
{
    return atomic_load (&s_enabled) && !addr && fd == -1
        && length >= PST_HUGEPAGES_MIN_BYTES
        && prot == (PROT_READ | PROT_WRITE)
        && (flags & ~MAP_POPULATE) == (MAP_PRIVATE | MAP_ANONYMOUS);
}

static void *
s_map (mmap_fn *next, void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    if (!next) {
        errno = ENOSYS;
        return MAP_FAILED;
    }
    if (!s_is_argon2_like (addr, length, prot, flags, fd))
        return next (addr, length, prot, flags, fd, offset);
    void *region = next (addr, length, prot, flags & ~MAP_POPULATE, fd, offset);
    if (region != MAP_FAILED) {
        //  All advice: a kernel without huge pages, or that cannot populate,
        //  leaves the mapping to fault in as usual; errno stays as mmap left it.
        //  The region holds password-derived state: keep it out of core dumps
        int saved = errno;
        (void) madvise (region, length, MADV_HUGEPAGE);
        (void) madvise (region, length, MADV_DONTDUMP);
        if (flags & MAP_POPULATE)
            (void) madvise (region, length, MADV_POPULATE_WRITE);
        errno = saved;
    }
    return region;
}

void *
mmap (void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    return s_map (s_resolve (&s_next_mmap, "mmap"), addr, length, prot, flags, fd, offset);
}

void *
mmap64 (void *addr, size_t length, int prot, int flags, int fd, off64_t offset)
{
    return s_map (s_resolve (&s_next_mmap64, "mmap64"), addr, length, prot, flags, fd, offset);
}
