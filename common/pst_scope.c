#include "pst_scope.h"
#include <string.h>

int
pst_scope_has (const char *scopes, const char *word)
{
    if (!scopes || !word || !*word)
        return 0;
    size_t want = strlen (word);
    const char *at = scopes + strspn (scopes, " ");
    while (*at) {
        size_t len = strcspn (at, " ");
        if (len == want && memcmp (at, word, len) == 0)
            return 1;
        at += len;
        at += strspn (at, " ");
    }
    return 0;
}
