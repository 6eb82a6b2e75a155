/*  pst_hugepages - argon2id's memory on transparent huge pages.

    libsodium maps each argon2id computation's 19 MiB afresh (mmap with
    MAP_POPULATE) and unmaps it after. With 4 KiB pages that is about 4,900 page
    faults a hash, and argon2id's random walk over the region misses the TLB on
    most of its reads; on a virtual machine, where faults are dear, the hash took
    three times as long as on huge pages (docs/performance.md). Linux gives huge
    pages to an anonymous mapping that asks for them (MADV_HUGEPAGE) in the
    default "madvise" mode, but libsodium has no allocator hook to ask with.

    So this module defines mmap in the process: anonymous mappings of at least
    PST_HUGEPAGES_MIN_BYTES are made without MAP_POPULATE, marked MADV_HUGEPAGE,
    then populated (MADV_POPULATE_WRITE), which is what MAP_POPULATE did, on
    2 MiB pages where the kernel has them. Every other mmap goes to the C
    library's unchanged. In Postern's processes the only mappings that large are
    argon2id's (malloc's arenas use the C library's internal mmap). Where huge
    pages are off ("never") or populating fails, the mapping is as it would have
    been; nothing else changes. POSTERN_ARGON2_HUGEPAGES=0 in the environment
    turns it off (every mmap as the C library makes it).
*/
#ifndef PST_HUGEPAGES_H_INCLUDED
#define PST_HUGEPAGES_H_INCLUDED

#include <stdbool.h>

#define PST_HUGEPAGES_MIN_BYTES  (16u * 1024u * 1024u)

//  Resolves the C library's mmap and reads POSTERN_ARGON2_HUGEPAGES; pst_crypto_init
//  calls it, which also links this module into every program that hashes passwords.
//  True when large mappings go on huge pages.
bool
    pst_hugepages_init (void);

#endif
