//  postern-keys: makes the bus key pairs that are missing (pst_curve), so every
//  process finds its own and its peers' keys before any of them starts.
//
//      postern-keys [--dir DIR] [NAME ...]
//
//  DIR defaults to POSTERN_KEYS_DIR, else <POSTERN_DATA_DIR>/keys; NAMEs to
//  gateway authn mfa mailer. A pair that exists is left as it is. Prints each
//  name with "made" or "kept"; exits 1 when any pair could not be made.
#include "pst_config.h"
#include "pst_curve.h"
#include "pst_log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char *argv [])
{
    pst_log_init ("keys");
    static const char *defaults [] = { "gateway", "authn", "mfa", "mailer", NULL };
    char *dir = NULL;
    int first = 1;
    if (argc > 2 && strcmp (argv [1], "--dir") == 0) {
        dir = strdup (argv [2]);
        first = 3;
    }
    else
        dir = pst_config_keys_dir ();
    if (!dir)
        return 1;
    const char *const *names = first < argc? (const char *const *) argv + first: defaults;
    int failed = 0;
    for (int i = 0; names [i]; i++) {
        if (!pst_curve_role (names [i])) {
            fprintf (stderr, "postern-keys: %s names no role (gateway, authn, mfa, mailer, mailer-*)\n",
                     names [i]);
            failed = 1;
            continue;
        }
        int rc = pst_curve_generate (dir, names [i]);
        if (rc < 0)
            failed = 1;
        else
            printf ("%s %s\n", names [i], rc == 0? "made": "kept");
    }
    free (dir);
    return failed;
}
