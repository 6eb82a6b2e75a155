/*  pst_memory - how a Postern process asks glibc's malloc to keep its memory.

    glibc hands the free memory at the top of a thread's heap back to the kernel
    as soon as it passes 128 KiB (madvise), and gets it back with page faults on
    the next allocation. SQLite frees and allocates that much in every
    transaction (page caches that another connection's commit invalidated,
    savepoints), so under load each thread gave memory back and took it again
    hundreds of times a second, and on a virtual machine each give-back flushes
    the TLB of every core (a perf profile of mfa at 16 connections: 16% of its
    CPU in madvise). pst_memory_tune keeps up to PST_MEMORY_KEEP of free memory
    per heap and serves allocations below it from the heap, not from mmap.
*/
#ifndef PST_MEMORY_H_INCLUDED
#define PST_MEMORY_H_INCLUDED

//  Free memory a heap keeps before giving it back, and the allocation size
//  from which malloc maps memory of its own
#define PST_MEMORY_KEEP     (4 * 1024 * 1024)

//  Call first in main, before any thread starts. 0, or -1 when malloc refused.
int
    pst_memory_tune (void);

#endif
