#include "pst_email.h"
#include <string.h>

static int
s_is_atext (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c && strchr ("!#$%&'*+-/=?^_`{|}~", c));
}

static int
s_is_domain_char (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.';
}

//  Dot-atom rule of both halves: no leading, trailing or doubled dot
static int
s_dots_ok (const char *part, size_t size)
{
    if (size == 0 || part [0] == '.' || part [size - 1] == '.')
        return 0;
    for (size_t i = 1; i < size; i++)
        if (part [i] == '.' && part [i - 1] == '.')
            return 0;
    return 1;
}

int
pst_email_valid (const char *address)
{
    if (!address)
        return 0;
    size_t size = strnlen (address, PST_EMAIL_MAX + 1);
    if (size == 0 || size > PST_EMAIL_MAX)
        return 0;
    const char *at = strchr (address, '@');
    if (!at || strchr (at + 1, '@'))
        return 0;
    size_t local_size = (size_t) (at - address);
    size_t domain_size = size - local_size - 1;
    if (local_size > PST_EMAIL_LOCAL_MAX
    ||  !s_dots_ok (address, local_size) || !s_dots_ok (at + 1, domain_size))
        return 0;
    for (size_t i = 0; i < local_size; i++)
        if (address [i] != '.' && !s_is_atext ((unsigned char) address [i]))
            return 0;
    for (size_t i = 0; i < domain_size; i++)
        if (!s_is_domain_char ((unsigned char) at [1 + i]))
            return 0;
    return 1;
}
