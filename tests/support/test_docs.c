#include "test_docs.h"
#include <stdlib.h>
#include <string.h>

FILE *
test_docs_open (const char *relative)
{
    char path [1024];
    const char *source = getenv ("POSTERN_SOURCE_DIR");
    if (source)
        snprintf (path, sizeof path, "%s/%s", source, relative);
    else {
        //  Run by hand: the tree is where this file is, two folders up
        snprintf (path, sizeof path, "%s", __FILE__);
        char *tests = strstr (path, "tests/support/");
        if (!tests)
            return NULL;
        snprintf (tests, sizeof path - (size_t) (tests - path), "%s", relative);
    }
    FILE *file = fopen (path, "r");
    if (!file)
        fprintf (stderr, "cannot open %s\n", path);
    return file;
}
