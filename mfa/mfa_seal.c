#include "mfa_seal.h"
#include <string.h>

void
mfa_seal (const uint8_t key [MFA_SEAL_KEY_SIZE], const char *ad,
          const uint8_t *plain, size_t size, uint8_t *sealed)
{
    randombytes_buf (sealed, MFA_SEAL_NONCE_SIZE);
    crypto_aead_xchacha20poly1305_ietf_encrypt (sealed + MFA_SEAL_NONCE_SIZE, NULL,
        plain, size, (const uint8_t *) ad, strlen (ad), NULL, sealed, key);
}

long
mfa_seal_open (const uint8_t key [MFA_SEAL_KEY_SIZE], const char *ad,
               const uint8_t *sealed, size_t sealed_size, uint8_t *plain)
{
    if (!sealed || sealed_size < MFA_SEAL_OVERHEAD)
        return -1;
    unsigned long long size = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt (plain, &size, NULL,
            sealed + MFA_SEAL_NONCE_SIZE, sealed_size - MFA_SEAL_NONCE_SIZE,
            (const uint8_t *) ad, strlen (ad), sealed, key) != 0)
        return -1;
    return (long) size;
}
