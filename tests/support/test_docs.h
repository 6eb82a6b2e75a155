/*  test_docs - the project's documents, for the tests that hold code and prose
    to each other (the error table, the operation catalogue).
*/
#ifndef TEST_DOCS_H_INCLUDED
#define TEST_DOCS_H_INCLUDED

#include <stdio.h>

//  Opens relative (e.g. "docs/protocol.md") in the source tree: POSTERN_SOURCE_DIR
//  under ctest, else found from this file's own path. NULL (said on stderr) when
//  it cannot be opened.
FILE *
    test_docs_open (const char *relative);

#endif
