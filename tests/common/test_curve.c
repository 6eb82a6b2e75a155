/*  pst_curve: key pairs made once, private, refused when they are not; roles
    from names; the auth handler skips files it cannot trust. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pst_auth.h"
#include "pst_catalogue.h"
#include "pst_curve.h"

static char s_dir [64];

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/pst-curve-test-XXXXXX");
    return mkdtemp (s_dir)? 0: -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_dir);
    return system (command) == 0? 0: -1;
}

static char *
s_path (const char *file)
{
    char *path = NULL;
    assert_true (asprintf (&path, "%s/keys/%s", s_dir, file) > 0);
    return path;
}

static mode_t
s_mode (const char *file)
{
    char *path = s_path (file);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    free (path);
    return info.st_mode & 0777;
}

static void
test_roles (void **state)
{
    (void) state;
    assert_int_equal (pst_curve_role ("gateway"), PST_CALLER_GATEWAY);
    assert_int_equal (pst_curve_role ("authn"), PST_CALLER_AUTHN);
    assert_int_equal (pst_curve_role ("mfa"), PST_CALLER_MFA);
    assert_int_equal (pst_curve_role ("mailer"), PST_CALLER_MAILER);
    assert_int_equal (pst_curve_role ("mailer-eu-2"), PST_CALLER_MAILER);
    assert_int_equal (pst_curve_role ("mailer-"), 0);
    assert_int_equal (pst_curve_role ("gateway2"), 0);
    assert_int_equal (pst_curve_role ("Gateway"), 0);
    assert_int_equal (pst_curve_role ("../gateway"), 0);
    assert_int_equal (pst_curve_role (""), 0);
    assert_int_equal (pst_curve_role (NULL), 0);
    assert_string_equal (pst_curve_role_name (PST_CALLER_MAILER), "mailer");
    assert_string_equal (pst_curve_role_name (0), "unknown");
}

static void
test_made_once_and_private (void **state)
{
    (void) state;
    char dir [128];
    snprintf (dir, sizeof dir, "%s/keys", s_dir);
    assert_int_equal (pst_curve_generate (dir, "gateway"), 0);
    assert_int_equal (pst_curve_generate (dir, "gateway"), 1);
    assert_int_equal (pst_curve_generate (dir, "../evil"), -1);
    struct stat info;
    assert_int_equal (stat (dir, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0700);
    assert_int_equal (s_mode ("gateway.key_secret"), 0600);
    assert_int_equal (s_mode ("gateway.key"), 0644);
    pst_curve_t *curve = pst_curve_new (dir, "gateway", false);
    assert_non_null (curve);
    assert_int_equal (strlen (pst_curve_public (curve)), 40);
    char *first = strdup (pst_curve_public (curve));
    pst_curve_destroy (&curve);
    assert_null (curve);
    //  Made again: the same key
    curve = pst_curve_new (dir, "gateway", true);
    assert_non_null (curve);
    assert_string_equal (pst_curve_public (curve), first);
    pst_curve_destroy (&curve);
    free (first);
    //  Not there and not to be made
    assert_null (pst_curve_new (dir, "authn", false));
}

static void
test_unsafe_keys_refused (void **state)
{
    (void) state;
    char dir [128];
    snprintf (dir, sizeof dir, "%s/keys", s_dir);
    assert_int_equal (pst_curve_generate (dir, "authn"), 0);
    assert_int_equal (pst_curve_generate (dir, "mfa"), 0);
    //  A secret others may read
    char *secret = s_path ("authn.key_secret");
    assert_int_equal (chmod (secret, 0640), 0);
    assert_null (pst_curve_new (dir, "authn", false));
    assert_int_equal (chmod (secret, 0600), 0);
    assert_non_null (secret);
    pst_curve_t *curve = pst_curve_new (dir, "authn", false);
    assert_non_null (curve);
    pst_curve_destroy (&curve);
    //  A public key that is not the secret's: mfa's public file over authn's
    char *public_authn = s_path ("authn.key");
    char *public_mfa = s_path ("mfa.key");
    char command [512];
    snprintf (command, sizeof command, "cp '%s' '%s'", public_mfa, public_authn);
    assert_int_equal (system (command), 0);
    assert_null (pst_curve_new (dir, "authn", false));
    //  A folder others may enter
    assert_int_equal (chmod (dir, 0755), 0);
    assert_int_equal (pst_curve_dir_private (dir), -1);
    assert_null (pst_curve_new (dir, "mfa", false));
    assert_int_equal (chmod (dir, 0700), 0);
    free (secret);
    free (public_authn);
    free (public_mfa);
}

//  The handler admits the role files it can trust: one whose key another file
//  already holds, one that does not parse and one that names no role are
//  skipped, not fatal
static void
test_auth_skips_untrusted_files (void **state)
{
    (void) state;
    char dir [128];
    snprintf (dir, sizeof dir, "%s/keys", s_dir);
    assert_int_equal (pst_curve_generate (dir, "gateway"), 0);
    assert_int_equal (pst_curve_generate (dir, "authn"), 0);
    assert_int_equal (pst_curve_generate (dir, "nobody"), 0);
    char command [512];
    snprintf (command, sizeof command, "cp '%s/gateway.key' '%s/mailer.key'"
              " && echo 'not a certificate' > '%s/mfa.key'", dir, dir, dir);
    assert_int_equal (system (command), 0);
    assert_int_equal (pst_auth_keys (), 0);
    assert_int_equal (pst_auth_acquire (dir), 0);
    //  gateway and authn; mailer repeats gateway's key, mfa's is junk, nobody no role
    assert_int_equal (pst_auth_keys (), 2);
    //  Another directory while it runs: refused
    assert_int_equal (pst_auth_acquire ("/tmp"), -1);
    assert_int_equal (pst_auth_acquire (dir), 0);
    pst_auth_release ();
    assert_int_equal (pst_auth_keys (), 2);
    pst_auth_release ();
    assert_int_equal (pst_auth_keys (), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_roles),
        cmocka_unit_test_setup_teardown (test_made_once_and_private, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unsafe_keys_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_auth_skips_untrusted_files, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
