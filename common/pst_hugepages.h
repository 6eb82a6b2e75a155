/*  pst_hugepages - argon2id's memory on transparent huge pages.

    libsodium maps each argon2id computation's 19 MiB afresh (mmap with
    MAP_POPULATE) and unmaps it after. With 4 KiB pages that is about 4,900 page
    faults a hash, and argon2id's random walk over the region misses the TLB on
    most of its reads; on a virtual machine, where faults are dear, the hash took
    three times as long as on huge pages (bench/README.md). Linux gives huge
    pages to an anonymous mapping that asks for them (MADV_HUGEPAGE) in the
    default "madvise" mode, but libsodium has no allocator hook to ask with.

    So this module defines mmap (and mmap64, its other name) in every program
    that links pst_crypto: a fresh private read-write anonymous mapping of at
    least PST_HUGEPAGES_MIN_BYTES, which is how libsodium asks for argon2id's
    memory, is made without MAP_POPULATE, marked MADV_HUGEPAGE and MADV_DONTDUMP
    (it holds password-derived state), then populated (MADV_POPULATE_WRITE),
    which is what MAP_POPULATE did, on 2 MiB pages where the kernel has them.
    Every other mmap goes to the C library's unchanged; malloc and thread stacks
    use the C library's internal mmap and never come here. Where huge pages are
    off ("never") or populating fails, the mapping is as it would have been.
    With the kernel's THP defrag setting at "madvise" (Debian's default) a fault
    may compact memory first, so on a fragmented host a hash can take longer
    now and then. POSTERN_ARGON2_HUGEPAGES=0 turns it off in any process.
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
