#include "pst_memory.h"
#include <malloc.h>

int
pst_memory_tune (void)
{
    //  A fixed threshold also stops glibc from moving it as the program runs
    int ok = mallopt (M_TRIM_THRESHOLD, PST_MEMORY_KEEP) == 1;
    ok &= mallopt (M_MMAP_THRESHOLD, PST_MEMORY_KEEP) == 1;
    return ok? 0: -1;
}
