/*  Unit tests of pst_hugepages: the process's mmap and mmap64 are its own (so
    libsodium's calls reach it), a mapping made as libsodium makes argon2id's is
    asked onto huge pages (the kernel's "hg" flag) and kept out of core dumps
    ("dd") and still populated, other mappings are left alone,
    POSTERN_ARGON2_HUGEPAGES=0 turns it off, and argon2id's hashes are the same
    either way. On a kernel built without huge pages the advice is refused, so
    there the mapping must carry no flag.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_crypto.h"
#include "pst_hugepages.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARGON2_BYTES    (19u * 1024u * 1024u)

//  1 when the mapping that holds region carries the kernel's VmFlags flag (" hg"
//  for VM_HUGEPAGE, " dd" for VM_DONTDUMP in /proc/self/smaps), 0 when not, -1
//  when it is not found (the kernel may merge a mapping with a like neighbour,
//  so it need not start at region)
static int
s_mapping_flag (const void *region, const char *flag)
{
    FILE *smaps = fopen ("/proc/self/smaps", "r");
    assert_non_null (smaps);
    char line [512];
    int found = 0, flagged = -1;
    while (flagged == -1 && fgets (line, sizeof line, smaps)) {
        unsigned long start, end;
        if (sscanf (line, "%lx-%lx ", &start, &end) == 2)
            found = start <= (uintptr_t) region && (uintptr_t) region < end;
        else
        if (found && strncmp (line, "VmFlags:", 8) == 0)
            flagged = strstr (line, flag) != NULL;
    }
    fclose (smaps);
    return flagged;
}

static int
s_asked_for_hugepages (const void *region)
{
    return s_mapping_flag (region, " hg");
}

static void
test_process_mmap_is_ours (void **state)
{
    (void) state;
    //  What a shared library's call binds to: this program's definitions, not
    //  the C library's, which come next
    assert_ptr_equal (dlsym (RTLD_DEFAULT, "mmap"), (void *) mmap);
    assert_ptr_equal (dlsym (RTLD_DEFAULT, "mmap64"), (void *) mmap64);
    assert_ptr_not_equal (dlsym (RTLD_NEXT, "mmap"), (void *) mmap);
    assert_ptr_not_equal (dlsym (RTLD_NEXT, "mmap64"), (void *) mmap64);
}

static void
test_large_anonymous_mapping (void **state)
{
    (void) state;
    unsetenv ("POSTERN_ARGON2_HUGEPAGES");
    assert_true (pst_hugepages_init ());
    int thp = access ("/sys/kernel/mm/transparent_hugepage", F_OK) == 0;
    //  As libsodium maps argon2id's memory
    void *region = mmap (NULL, ARGON2_BYTES, PROT_READ | PROT_WRITE,
                         MAP_ANONYMOUS | MAP_PRIVATE | MAP_POPULATE, -1, 0);
    assert_true (region != MAP_FAILED);
    assert_int_equal (s_asked_for_hugepages (region), thp);
    assert_int_equal (s_mapping_flag (region, " dd"), 1);
    //  Populated before anything touched it, as MAP_POPULATE would have
    size_t pages = ARGON2_BYTES / (size_t) sysconf (_SC_PAGESIZE);
    unsigned char *resident = (unsigned char *) malloc (pages);
    assert_non_null (resident);
    assert_int_equal (mincore (region, ARGON2_BYTES, resident), 0);
    size_t in = 0;
    for (size_t i = 0; i < pages; i++)
        in += resident [i] & 1;
    assert_int_equal (in, pages);
    free (resident);
    //  Still zeroed and writable, as MAP_POPULATE left it
    const unsigned char *bytes = (const unsigned char *) region;
    assert_int_equal (bytes [0] | bytes [ARGON2_BYTES / 2] | bytes [ARGON2_BYTES - 1], 0);
    memset (region, 0x5a, ARGON2_BYTES);
    assert_int_equal (munmap (region, ARGON2_BYTES), 0);
}

static void
test_other_mappings_unchanged (void **state)
{
    (void) state;
    void *small = mmap (NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    assert_true (small != MAP_FAILED);
    assert_int_equal (s_asked_for_hugepages (small), 0);
    assert_int_equal (munmap (small, 1u << 20), 0);
    //  A large reservation, as allocators make them: not argon2id's
    void *reserved = mmap (NULL, ARGON2_BYTES, PROT_NONE,
                           MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
    assert_true (reserved != MAP_FAILED);
    assert_int_equal (s_asked_for_hugepages (reserved), 0);
    assert_int_equal (munmap (reserved, ARGON2_BYTES), 0);

    char path [] = "/tmp/postern-hugepages-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    unlink (path);
    assert_int_equal (ftruncate (fd, ARGON2_BYTES), 0);
    void *file = mmap (NULL, ARGON2_BYTES, PROT_READ, MAP_PRIVATE, fd, 0);
    assert_true (file != MAP_FAILED);
    assert_int_equal (s_asked_for_hugepages (file), 0);
    assert_int_equal (munmap (file, ARGON2_BYTES), 0);
    close (fd);
}

static void
test_hash_verifies (void **state)
{
    (void) state;
    char *phc = pst_password_hash ("correct horse battery staple");
    assert_non_null (phc);
    assert_int_equal (pst_password_verify (phc, "correct horse battery staple"), 0);
    assert_int_equal (pst_password_verify (phc, "correct horse battery stapler"), -1);

    //  Turned off: a large mapping is as the C library makes it, and a hash
    //  made on huge pages verifies on small ones
    setenv ("POSTERN_ARGON2_HUGEPAGES", "0", 1);
    assert_false (pst_hugepages_init ());
    void *region = mmap (NULL, ARGON2_BYTES, PROT_READ | PROT_WRITE,
                         MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    assert_true (region != MAP_FAILED);
    assert_int_equal (s_asked_for_hugepages (region), 0);
    assert_int_equal (munmap (region, ARGON2_BYTES), 0);
    assert_int_equal (pst_password_verify (phc, "correct horse battery staple"), 0);
    free (phc);
}

int
main (void)
{
    if (pst_crypto_init () != 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_process_mmap_is_ours),
        cmocka_unit_test (test_large_anonymous_mapping),
        cmocka_unit_test (test_other_mappings_unchanged),
        cmocka_unit_test (test_hash_verifies),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
