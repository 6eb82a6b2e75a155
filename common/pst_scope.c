#include "pst_scope.h"
#include <stdlib.h>
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

int
pst_scope_has_any (const char *scopes, const char *words)
{
    if (!words)
        return 0;
    const char *at = words + strspn (words, " ");
    while (*at) {
        size_t len = strcspn (at, " ");
        char word [256];
        if (len < sizeof word) {
            memcpy (word, at, len);
            word [len] = '\0';
            if (pst_scope_has (scopes, word))
                return 1;
        }
        at += len;
        at += strspn (at, " ");
    }
    return 0;
}

char *
pst_scope_normalise (const char *scopes)
{
    const char *at = scopes? scopes: "";
    //  The result is never longer than what it was made from
    char *result = (char *) calloc (1, strlen (at) + 1);
    char *word = (char *) malloc (strlen (at) + 1);
    if (!result || !word) {
        free (result);
        free (word);
        return NULL;
    }
    size_t size = 0;
    for (at += strspn (at, " \t"); *at; at += strspn (at, " \t")) {
        size_t length = strcspn (at, " \t");
        memcpy (word, at, length);
        word [length] = '\0';
        at += length;
        if (pst_scope_has (result, word))
            continue;
        if (size)
            result [size++] = ' ';
        memcpy (result + size, word, length + 1);
        size += length;
    }
    free (word);
    return result;
}
