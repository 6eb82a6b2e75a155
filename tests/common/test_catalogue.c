/*  Unit tests of pst_catalogue: the rows are well formed, the scopes they need
    are scopes the system APIs define, docs/protocol.md lists exactly the same
    operations (service, caller, scope), docs/auth0.md's API reference lists
    exactly its HTTP routes (method, path, credentials, scope), and the central check refuses
    what a row requires in the words of the row's API.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_docs.h"
#include "pst_catalogue.h"
#include "pst_error.h"

static int
s_in_list (const char *const *list, const char *word)
{
    for (; *list; list++)
        if (strcmp (*list, word) == 0)
            return 1;
    return 0;
}

static void
test_rows_well_formed (void **state)
{
    (void) state;
    size_t count = 0;
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++, count++) {
        assert_true (op->service < PST_SERVICE_COUNT);
        assert_true (strlen (op->name) > 0 && strlen (op->name) <= 64);
        assert_true (op->callers != 0);
        if (pst_catalogue_params_valid (op->params) != 0)
            print_error ("%s: malformed params '%s'\n", op->name, op->params);
        assert_int_equal (pst_catalogue_params_valid (op->params), 0);
        //  A route has both a method and a path, a success status and an auth kind
        //  that fits its API; an op off the gateway has none of them
        assert_int_equal (op->method == NULL, op->path == NULL);
        if (op->path) {
            assert_true (op->callers & PST_CALLER_GATEWAY);
            assert_true (op->status >= 200 && op->status < 300);
            assert_true (op->path [0] == '/');
            assert_int_equal (op->api == PST_API_MGMT, op->auth == PST_AUTH_MGMT);
            assert_int_equal (op->api == PST_API_MGMT, strncmp (op->path, "/api/v2/", 8) == 0);
        }
        else {
            assert_int_equal (op->status, 0);
            assert_int_equal (op->auth, PST_AUTH_NONE);
            assert_false (op->flags & PST_OP_CACHEABLE);
        }
        //  Only the mail-jobs socket hears notes
        if (op->flags & PST_OP_NOTE)
            assert_int_equal (op->service, PST_SERVICE_MFA_JOBS);
        //  Only mfa knows mfa_tokens and keeps replies
        if (op->flags & (PST_OP_TOKEN_GRANT | PST_OP_TOKEN_BEARER | PST_OP_ONCE))
            assert_int_equal (op->service, PST_SERVICE_MFA);
        assert_false ((op->flags & PST_OP_TOKEN_GRANT) && (op->flags & PST_OP_TOKEN_BEARER));
        //  mfa reads the template early only in a run-once op's first reads
        if (op->flags & PST_OP_MAILS)
            assert_true ((op->flags & PST_OP_ONCE) && op->service == PST_SERVICE_MFA);
        //  A grant's mfa_token is bound to the body's client: mfa reads both
        if (op->flags & PST_OP_TOKEN_GRANT)
            assert_int_equal (strncmp (op->params, "mfa_token client_id:", 20), 0);
        if (op->flags & PST_OP_SCOPE_IF_CALLER)
            assert_non_null (op->scope);
        //  One row per service and name, one per method and path
        for (const pst_op_def_t *other = op + 1; other->name; other++) {
            assert_false (other->service == op->service && strcmp (other->name, op->name) == 0);
            if (op->path && other->path)
                assert_false (strcmp (op->method, other->method) == 0
                           && strcmp (op->path, other->path) == 0);
        }
        assert_ptr_equal (pst_catalogue_find (NULL, op->service, op->name), op);
    }
    assert_true (count > 30);
    assert_null (pst_catalogue_find (NULL, PST_SERVICE_AUTHN, "no.such.op"));
    assert_null (pst_catalogue_find (NULL, PST_SERVICE_AUTHN, NULL));
    assert_null (pst_catalogue_find (NULL, PST_SERVICE_AUTHN, "mfa.begin"));
    assert_non_null (pst_catalogue_find (NULL, PST_SERVICE_MFA, "mfa.begin"));
}

//  1 when every word of words is in list
static int
s_words_in_list (const char *const *list, const char *words)
{
    char copy [256];
    snprintf (copy, sizeof copy, "%s", words);
    int count = 0;
    char *saveptr = NULL;
    for (char *word = strtok_r (copy, " ", &saveptr); word; word = strtok_r (NULL, " ", &saveptr)) {
        if (!s_in_list (list, word))
            return 0;
        count++;
    }
    return count > 0;
}

//  A Management operation needs Management API scopes; an Authentication API
//  operation with a scope the MFA API's or OpenID Connect's (/userinfo). So the
//  bootstrap application, which gets every Management scope, can call every
//  Management op.
static void
test_scopes_defined (void **state)
{
    (void) state;
    const char *const *mgmt = pst_catalogue_scopes (PST_SYSTEM_API_MGMT);
    const char *const *mfa = pst_catalogue_scopes (PST_SYSTEM_API_MFA);
    const char *const *userinfo = pst_catalogue_scopes (PST_SYSTEM_API_USERINFO);
    assert_true (s_in_list (mgmt, "read:clients"));
    assert_true (s_in_list (mfa, "enroll"));
    assert_true (s_in_list (userinfo, "openid"));
    assert_true (s_in_list (userinfo, "profile"));
    assert_true (s_in_list (userinfo, "email"));
    assert_false (s_in_list (mgmt, "enroll"));
    assert_false (s_in_list (mfa, "read:clients"));
    assert_false (s_in_list (mfa, "openid"));
    assert_false (s_in_list (userinfo, "enroll"));
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++) {
        if (op->api == PST_API_MGMT) {
            assert_non_null (op->scope);
            if (!s_words_in_list (mgmt, op->scope))
                print_error ("%s: scope %s is not a Management API scope\n", op->name, op->scope);
            assert_true (s_words_in_list (mgmt, op->scope));
        }
        else
        if (op->scope)
            assert_true (s_words_in_list (mfa, op->scope) || s_words_in_list (userinfo, op->scope));
    }
    for (const char *const *scope = mgmt; *scope; scope++)
        assert_non_null (strchr (*scope, ':'));
}

//  ---------------------------------------------------------------------------
//  docs/protocol.md

//  The next table cell of *line (after a '|'), trimmed, into cell; 0 or -1.
static int
s_cell (const char **line, char *cell, size_t size)
{
    const char *at = *line;
    if (*at != '|')
        return -1;
    at++;
    const char *end = strchr (at, '|');
    if (!end)
        return -1;
    while (at < end && *at == ' ')
        at++;
    const char *last = end;
    while (last > at && last [-1] == ' ')
        last--;
    size_t length = (size_t) (last - at);
    if (length >= size)
        return -1;
    memcpy (cell, at, length);
    cell [length] = 0;
    *line = end;
    return 0;
}

//  The first `word` of text into out, "" when text has none.
static void
s_first_code (const char *text, char *out, size_t size)
{
    out [0] = 0;
    const char *open = strchr (text, '`');
    const char *close = open? strchr (open + 1, '`'): NULL;
    if (close && (size_t) (close - open - 1) < size) {
        memcpy (out, open + 1, (size_t) (close - open - 1));
        out [close - open - 1] = 0;
    }
}

static unsigned
s_callers (const char *text)
{
    static const struct { const char *name; unsigned bit; } names [] = {
        { "gateway", PST_CALLER_GATEWAY }, { "authn", PST_CALLER_AUTHN },
        { "mfa", PST_CALLER_MFA }, { "mailer", PST_CALLER_MAILER }
    };
    unsigned callers = 0;
    char copy [256];
    snprintf (copy, sizeof copy, "%s", text);
    char *saveptr = NULL;
    for (char *word = strtok_r (copy, ", ", &saveptr); word; word = strtok_r (NULL, ", ", &saveptr)) {
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
            if (strcmp (word, names [i].name) == 0)
                bit = names [i].bit;
        if (!bit)
            print_error ("protocol.md: unknown caller '%s'\n", word);
        assert_true (bit);
        callers |= bit;
    }
    return callers;
}

//  Every row "| `op` | caller | scope | ..." of the sections "## authn
//  operations", "## mfa operations" and "## Mail jobs" is a row of the catalogue
//  with the same callers and scope, and every row of the catalogue is listed once.
static void
test_matches_protocol_doc (void **state)
{
    (void) state;
    FILE *file = test_docs_open ("docs/protocol.md");
    assert_non_null (file);
    size_t total = 0;
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++)
        total++;
    int *seen = (int *) calloc (total, sizeof *seen);
    assert_non_null (seen);
    char line [8192];
    int section = -1;
    while (fgets (line, sizeof line, file)) {
        if (strncmp (line, "## ", 3) == 0) {
            section = strncmp (line, "## authn operations", 19) == 0? PST_SERVICE_AUTHN
                    : strncmp (line, "## mfa operations", 17) == 0? PST_SERVICE_MFA
                    : strncmp (line, "## Mail jobs", 12) == 0? PST_SERVICE_MFA_JOBS: -1;
            continue;
        }
        if (section < 0 || strncmp (line, "| `", 3) != 0)
            continue;
        const char *at = line;
        char name_cell [256], callers_cell [256], scope_cell [256], name [128], scope [128];
        assert_int_equal (s_cell (&at, name_cell, sizeof name_cell), 0);
        assert_int_equal (s_cell (&at, callers_cell, sizeof callers_cell), 0);
        assert_int_equal (s_cell (&at, scope_cell, sizeof scope_cell), 0);
        s_first_code (name_cell, name, sizeof name);
        s_first_code (scope_cell, scope, sizeof scope);
        //  The mail-jobs table holds both directions: mfa's rows are the mailer's
        pst_service_id_t service = (pst_service_id_t) section;
        if (service == PST_SERVICE_MFA_JOBS && s_callers (callers_cell) == PST_CALLER_MFA)
            service = PST_SERVICE_MAILER;
        const pst_op_def_t *op = pst_catalogue_find (NULL, service, name);
        if (!op)
            print_error ("protocol.md lists %s on %s; the catalogue does not\n", name,
                         pst_catalogue_service_name (service));
        assert_non_null (op);
        if (op->callers != s_callers (callers_cell))
            print_error ("protocol.md: callers of %s differ from the catalogue's\n", name);
        assert_int_equal (op->callers, s_callers (callers_cell));
        if (strcmp (op->scope? op->scope: "", scope) != 0)
            print_error ("protocol.md: scope of %s is '%s', the catalogue says '%s'\n",
                         name, scope, op->scope? op->scope: "");
        assert_string_equal (op->scope? op->scope: "", scope);
        seen [op - pst_catalogue ()]++;
    }
    fclose (file);
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++) {
        if (seen [op - pst_catalogue ()] != 1)
            print_error ("protocol.md lists %s of %s %d times\n", op->name,
                         pst_catalogue_service_name (op->service), seen [op - pst_catalogue ()]);
        assert_int_equal (seen [op - pst_catalogue ()], 1);
    }
    free (seen);
}

//  ---------------------------------------------------------------------------
//  docs/auth0.md

//  The words of auth0.md's credentials column for each auth kind
static const char *
s_credentials (pst_http_auth_t auth)
{
    switch (auth) {
        case PST_AUTH_NONE:         return "none";
        case PST_AUTH_CLIENT:       return "client";
        case PST_AUTH_MGMT:         return "management";
        case PST_AUTH_MFA:          return "mfa_token or mfa access";
        case PST_AUTH_MFA_ACCESS:   return "mfa access";
        case PST_AUTH_MFA_TOKEN:    return "mfa_token";
        case PST_AUTH_USERINFO:     return "user";
    }
    return "?";
}

//  Every row "| `METHOD` | `/path` | credentials | scope | ..." of the section
//  "## API reference" is a route of the catalogue with the same auth kind (in
//  the table's words) and scope, and every route of the catalogue has exactly
//  one row: the table Auth0 users read is the gateway's route table.
static void
test_matches_auth0_doc (void **state)
{
    (void) state;
    FILE *file = test_docs_open ("docs/auth0.md");
    assert_non_null (file);
    size_t total = 0;
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++)
        total++;
    int *seen = (int *) calloc (total, sizeof *seen);
    assert_non_null (seen);
    char line [8192];
    int in_reference = 0;
    size_t rows = 0;
    while (fgets (line, sizeof line, file)) {
        if (strncmp (line, "## ", 3) == 0) {
            in_reference = strncmp (line, "## API reference", 16) == 0;
            continue;
        }
        if (!in_reference || strncmp (line, "| `", 3) != 0)
            continue;
        const char *at = line;
        char method_cell [64], path_cell [256], credentials_cell [256], scope_cell [256];
        char method [32], path [200], scope [128];
        assert_int_equal (s_cell (&at, method_cell, sizeof method_cell), 0);
        assert_int_equal (s_cell (&at, path_cell, sizeof path_cell), 0);
        assert_int_equal (s_cell (&at, credentials_cell, sizeof credentials_cell), 0);
        assert_int_equal (s_cell (&at, scope_cell, sizeof scope_cell), 0);
        s_first_code (method_cell, method, sizeof method);
        s_first_code (path_cell, path, sizeof path);
        s_first_code (scope_cell, scope, sizeof scope);
        const pst_op_def_t *route = NULL;
        for (const pst_op_def_t *op = pst_catalogue (); op->name && !route; op++)
            if (op->path && strcmp (op->method, method) == 0 && strcmp (op->path, path) == 0)
                route = op;
        if (!route)
            print_error ("auth0.md lists %s %s; the catalogue has no such route\n", method, path);
        assert_non_null (route);
        if (strcmp (route->scope? route->scope: "", scope) != 0)
            print_error ("auth0.md: scope of %s %s is '%s', the catalogue says '%s'\n",
                         method, path, scope, route->scope? route->scope: "");
        assert_string_equal (route->scope? route->scope: "", scope);
        if (strcmp (s_credentials (route->auth), credentials_cell) != 0)
            print_error ("auth0.md: credentials of %s %s are '%s', the catalogue says '%s'\n",
                         method, path, credentials_cell, s_credentials (route->auth));
        assert_string_equal (s_credentials (route->auth), credentials_cell);
        seen [route - pst_catalogue ()]++;
        rows++;
    }
    fclose (file);
    for (const pst_op_def_t *op = pst_catalogue (); op->name; op++) {
        if (op->path && seen [op - pst_catalogue ()] != 1)
            print_error ("auth0.md lists %s %s %d times\n", op->method, op->path,
                         seen [op - pst_catalogue ()]);
        assert_int_equal (seen [op - pst_catalogue ()], op->path? 1: 0);
    }
    assert_true (rows > 0);
    free (seen);
}

//  ---------------------------------------------------------------------------
//  The central check

static pst_msg_t *
s_request (const char *body, const char *caller, const char *scopes)
{
    pst_msg_t *request = pst_msg_new_request ("test.op", 1000);
    json_t *json = json_loads (body, 0, NULL);
    assert_non_null (json);
    pst_msg_set_body (request, &json);
    if (caller)
        pst_msg_set_caller (request, caller, scopes);
    return request;
}

static void
s_expect (const pst_op_def_t *op, const char *body, const char *caller, const char *scopes,
          const char *error, const char *text)
{
    pst_msg_t *request = s_request (body, caller, scopes);
    pst_msg_t *reply = pst_msg_new_reply (request);
    int rc = pst_catalogue_check (op, request, reply);
    if (!error) {
        if (rc != 0)
            print_error ("%s: refused with %s\n", body, pst_msg_error_text (reply));
        assert_int_equal (rc, 0);
        assert_false (pst_msg_is_error (reply));
    }
    else {
        assert_int_equal (rc, -1);
        assert_string_equal (pst_msg_error (reply), error);
        assert_string_equal (pst_msg_error_text (reply), text);
    }
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
}

static void
test_check_management (void **state)
{
    (void) state;
    const pst_op_def_t op = {
        PST_SERVICE_AUTHN, "test.op", PST_CALLER_GATEWAY, PST_API_MGMT, NULL, NULL,
        PST_AUTH_NONE, "update:things", "id data data.name data.on:b data.list:a", 0, 0
    };
    const char *scope = "update:things";
    s_expect (&op, "{}", "admin", "read:things", PST_ERR_INSUFFICIENT_SCOPE,
              "Insufficient scope, expected: update:things");
    s_expect (&op, "{}", NULL, NULL, PST_ERR_INSUFFICIENT_SCOPE,
              "Insufficient scope, expected: update:things");
    s_expect (&op, "{}", "admin", scope, PST_ERR_BAD_REQUEST, "Path validation error: 'id' is required");
    s_expect (&op, "{\"id\": \"x\"}", "admin", scope, PST_ERR_BAD_REQUEST,
              "Payload validation error: body must be an object");
    s_expect (&op, "{\"id\": \"x\", \"data\": [1]}", "admin", scope, PST_ERR_BAD_REQUEST,
              "Payload validation error: body must be an object");
    s_expect (&op, "{\"id\": \"x\", \"data\": {}}", "admin", scope, PST_ERR_BAD_REQUEST,
              "Payload validation error: Missing required property: name");
    s_expect (&op, "{\"id\": \"x\", \"data\": {\"name\": 5}}", "admin", scope, PST_ERR_BAD_REQUEST,
              "Payload validation error: 'name' must be a string.");
    s_expect (&op, "{\"id\": \"x\", \"data\": {\"name\": \"n\", \"on\": \"yes\"}}", "admin", scope,
              PST_ERR_BAD_REQUEST, "Payload validation error: 'on' must be a boolean.");
    s_expect (&op, "{\"id\": \"x\", \"data\": {\"name\": \"n\", \"on\": true, \"list\": {}}}", "admin",
              scope, PST_ERR_BAD_REQUEST, "Payload validation error: 'list' must be an array.");
    s_expect (&op, "{\"id\": \"x\", \"data\": {\"name\": \"n\", \"on\": false, \"list\": []}}", "admin",
              scope, NULL, NULL);

    //  A row that names several scopes wants any one of them
    const pst_op_def_t several = {
        PST_SERVICE_AUTHN, "test.op", PST_CALLER_GATEWAY, PST_API_MGMT, NULL, NULL,
        PST_AUTH_NONE, "create:things update:things", "", 0, 0
    };
    s_expect (&several, "{}", "admin", "update:things", NULL, NULL);
    s_expect (&several, "{}", "admin", "read:things create:things", NULL, NULL);
    s_expect (&several, "{}", "admin", "read:things", PST_ERR_INSUFFICIENT_SCOPE,
              "Insufficient scope, expected: create:things update:things");
}

//  A member of the query string reads as Auth0's query errors
static void
test_check_query (void **state)
{
    (void) state;
    const pst_op_def_t op = {
        PST_SERVICE_AUTHN, "test.op", PST_CALLER_GATEWAY, PST_API_MGMT, NULL, NULL,
        PST_AUTH_NONE, NULL, "query.email:s8", 0, 0
    };
    s_expect (&op, "{}", NULL, NULL, PST_ERR_BAD_REQUEST,
              "Query validation error: Missing required property: email");
    s_expect (&op, "{\"query\": {\"email\": [1]}}", NULL, NULL, PST_ERR_BAD_REQUEST,
              "Query validation error: 'email' must be a string.");
    s_expect (&op, "{\"query\": {\"email\": \"123456789\"}}", NULL, NULL, PST_ERR_BAD_REQUEST,
              "Query validation error: 'email' is longer than 8 bytes.");
    s_expect (&op, "{\"query\": {\"email\": \"a@b.c\"}}", NULL, NULL, NULL, NULL);
}

static void
test_check_lengths (void **state)
{
    (void) state;
    const pst_op_def_t auth = {
        PST_SERVICE_MFA, "test.op", PST_CALLER_AUTHN, PST_API_BUS, NULL, NULL,
        PST_AUTH_NONE, NULL, "code:s4", 0, 0
    };
    s_expect (&auth, "{\"code\": \"1234\"}", NULL, NULL, NULL, NULL);
    s_expect (&auth, "{\"code\": \"12345\"}", NULL, NULL, PST_ERR_INVALID_REQUEST,
              "Invalid parameter: code is longer than 4 bytes");
    //  bytes, not characters: two two-byte letters are four
    s_expect (&auth, "{\"code\": \"\u00e9\u00e9\"}", NULL, NULL, NULL, NULL);
    s_expect (&auth, "{\"code\": \"\u00e9\u00e9x\"}", NULL, NULL, PST_ERR_INVALID_REQUEST,
              "Invalid parameter: code is longer than 4 bytes");
    const pst_op_def_t mgmt = {
        PST_SERVICE_MFA, "test.op", PST_CALLER_AUTHN, PST_API_MGMT, NULL, NULL,
        PST_AUTH_NONE, NULL, "id:s3 data data.name:s2", 0, 0
    };
    s_expect (&mgmt, "{\"id\": \"abcd\"}", NULL, NULL, PST_ERR_BAD_REQUEST,
              "Path validation error: 'id' is longer than 3 bytes");
    s_expect (&mgmt, "{\"id\": \"abc\", \"data\": {\"name\": \"xyz\"}}", NULL, NULL,
              PST_ERR_BAD_REQUEST, "Payload validation error: 'name' is longer than 2 bytes.");
    s_expect (&mgmt, "{\"id\": \"abc\", \"data\": {\"name\": \"xy\"}}", NULL, NULL, NULL, NULL);
}

static void
test_check_scope_if_caller (void **state)
{
    (void) state;
    const pst_op_def_t op = {
        PST_SERVICE_MFA, "test.op", PST_CALLER_GATEWAY, PST_API_AUTH, NULL, NULL,
        PST_AUTH_NONE, "read:things", "", 0, PST_OP_SCOPE_IF_CALLER
    };
    //  An mfa_token request has no caller and no scope: the handler checks the token
    s_expect (&op, "{\"mfa_token\": \"t\"}", NULL, NULL, NULL, NULL);
    s_expect (&op, "{}", "auth0|u", "openid", PST_ERR_INSUFFICIENT_SCOPE,
              "Insufficient scope, expected: read:things");
    s_expect (&op, "{}", "auth0|u", "openid read:things", NULL, NULL);
}

static void
test_params_grammar (void **state)
{
    (void) state;
    assert_int_equal (pst_catalogue_params_valid (""), 0);
    assert_int_equal (pst_catalogue_params_valid ("a b:a c:o d:b e:i data data.x data.y:a"), 0);
    assert_int_equal (pst_catalogue_params_valid ("a:s1 b:s256 c:s99999"), 0);
    assert_int_equal (pst_catalogue_params_valid ("a:s0"), -1);
    assert_int_equal (pst_catalogue_params_valid ("a:s123456"), -1);
    assert_int_equal (pst_catalogue_params_valid ("a:s12x"), -1);
    assert_int_equal (pst_catalogue_params_valid ("a:a12"), -1);
    assert_int_equal (pst_catalogue_params_valid ("  a  "), 0);
    assert_int_equal (pst_catalogue_params_valid ("a:"), -1);
    assert_int_equal (pst_catalogue_params_valid ("a:z"), -1);
    assert_int_equal (pst_catalogue_params_valid ("a:ab"), -1);
    assert_int_equal (pst_catalogue_params_valid (":a"), -1);
    assert_int_equal (pst_catalogue_params_valid ("data."), -1);
    assert_int_equal (pst_catalogue_params_valid ("data.x.y"), -1);
    assert_int_equal (pst_catalogue_params_valid (".x"), -1);
    assert_int_equal (pst_catalogue_params_valid ("query.email:s254"), 0);
    assert_int_equal (pst_catalogue_params_valid (NULL), -1);
    //  A malformed row refuses every request rather than letting one through
    const pst_op_def_t op = {
        PST_SERVICE_AUTHN, "test.op", PST_CALLER_GATEWAY, PST_API_AUTH, NULL, NULL,
        PST_AUTH_NONE, NULL, "a b:q", 0, 0
    };
    s_expect (&op, "{\"a\": \"x\", \"b\": \"y\"}", NULL, NULL, PST_ERR_INTERNAL,
              "Operation test.op has malformed params");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_rows_well_formed),
        cmocka_unit_test (test_scopes_defined),
        cmocka_unit_test (test_matches_protocol_doc),
        cmocka_unit_test (test_matches_auth0_doc),
        cmocka_unit_test (test_check_management),
        cmocka_unit_test (test_check_lengths),
        cmocka_unit_test (test_check_query),
        cmocka_unit_test (test_check_scope_if_caller),
        cmocka_unit_test (test_params_grammar),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
