/*  pst_keyfile - secret keys kept in files of their own, outside any database.

    A key file holds exactly the key's bytes. On first start it is created from
    the CSPRNG, mode 0600, written and synced under a temporary name and then
    published with link(), so a reader never sees a partial key and two starting
    processes agree on one key. An existing file must be a regular file (a
    symlink to one is followed: mounted secrets are links) of exactly the key's
    size; one readable by group or others is used, with a warning.
*/
#ifndef PST_KEYFILE_H_INCLUDED
#define PST_KEYFILE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Loads a key of key_size bytes from path, creating it (0600) from the CSPRNG when
//  missing. 0 or -1.
int
    pst_key_file_load (const char *path, uint8_t *key, size_t key_size);

#endif
