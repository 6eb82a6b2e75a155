/*  mfa_seal - secrets mfa keeps at rest (otp secrets, the SMTP password),
    sealed with XChaCha20-Poly1305 under a subkey of the code key. A sealed
    value is the nonce followed by the ciphertext and its tag; the associated
    data names what it belongs to, so a sealed value copied elsewhere in the
    database (by someone who can write it but has no key) does not open there.
*/
#ifndef MFA_SEAL_H_INCLUDED
#define MFA_SEAL_H_INCLUDED

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define MFA_SEAL_KEY_SIZE   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define MFA_SEAL_NONCE_SIZE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
//  What sealing adds to the plain size
#define MFA_SEAL_OVERHEAD   (MFA_SEAL_NONCE_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES)

//  Seals size bytes of plain for ad (a NUL-terminated name) into sealed, which
//  holds size + MFA_SEAL_OVERHEAD bytes.
void
    mfa_seal (const uint8_t key [MFA_SEAL_KEY_SIZE], const char *ad,
              const uint8_t *plain, size_t size, uint8_t *sealed);
//  Opens sealed_size bytes sealed for ad into plain, which holds
//  sealed_size - MFA_SEAL_OVERHEAD bytes. That size, or -1 when it does not
//  open (another key, another ad, a tampered value, too short).
long
    mfa_seal_open (const uint8_t key [MFA_SEAL_KEY_SIZE], const char *ad,
                   const uint8_t *sealed, size_t sealed_size, uint8_t *plain);

#endif
