/*  pst_scope - OAuth scope lists: words separated by spaces (RFC 6749 §3.3).

    One place answers "is this word in that list" for the gateway, the bus
    envelope and the services, so they cannot disagree on what counts as a
    separator or an empty list.
*/
#ifndef PST_SCOPE_H_INCLUDED
#define PST_SCOPE_H_INCLUDED

//  1 when word is one of the space-separated words of scopes, 0 when not (or
//  when either is NULL or word is empty). Runs of spaces count as one separator.
int
    pst_scope_has (const char *scopes, const char *word);

//  1 when any word of words is one of scopes: what an operation that names
//  several scopes asks of its caller (Auth0's "expected any of"). 0 when none
//  is, or either is NULL or empty; a word longer than 255 bytes never matches.
int
    pst_scope_has_any (const char *scopes, const char *words);

//  scopes as one space between words, each word once, in the order first
//  given. Here a tab separates words too (as a requested scope may have
//  them); NULL is the empty list. Caller frees; NULL only when out of memory.
char *
    pst_scope_normalise (const char *scopes);

#endif
