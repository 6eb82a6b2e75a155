#include "mfa_job_id.h"
#include "pst_crypto.h"
#include <stdio.h>
#include <string.h>

#define TIME_DIGITS     12

int
mfa_job_id_new (int64_t now, char out [MFA_JOB_ID_SIZE])
{
    if (now < 0)
        now = 0;
    snprintf (out, MFA_JOB_ID_SIZE, "%012llx", (unsigned long long) now & 0xffffffffffffULL);
    return pst_random_hex (out + TIME_DIGITS, MFA_JOB_ID_SIZE - TIME_DIGITS,
                           (MFA_JOB_ID_SIZE - 1 - TIME_DIGITS) / 2);
}

int
mfa_job_id_settling (const char *job_id, int64_t now)
{
    if (!job_id || strlen (job_id) != MFA_JOB_ID_SIZE - 1
    ||  strspn (job_id, "0123456789abcdef") != MFA_JOB_ID_SIZE - 1)
        return 0;
    int64_t made = 0;
    for (int i = 0; i < TIME_DIGITS; i++) {
        char digit = job_id [i];
        made = made * 16 + (digit <= '9'? digit - '0': digit - 'a' + 10);
    }
    int64_t age = now - made;
    return age > -MFA_JOB_ID_SETTLE_MS && age < MFA_JOB_ID_SETTLE_MS;
}
