#!/usr/bin/env bash
# The SQLite deployment's online backup and its restore (scripts/backup.sh):
# a backup taken while the services serve, then the data directory lost, then
# restored. After the restore the state is the backup's: the user enrolled
# before it signs in with an emailed code, the one created after it does not
# exist, and the bootstrap credentials still give a Management API token.
source "$(dirname "${BASH_SOURCE[0]}")/../fault/fault_lib.sh"
trap 'fault_finish' EXIT

BACKUP=$POSTERN_SOURCE_DIR/scripts/backup.sh

fault_start || { fail "stack did not start"; exit 1; }
fault_tenant || exit 1
fault_enrol before@example.com || exit 1
pass "a user enrolled by email"

# Taken while every service runs and a sign-in is under way
login before@example.com
"$BACKUP" backup "$E2E_WORK/backup" >"$E2E_WORK/backup.log" 2>&1
check "the online backup succeeded" test $? -eq 0
check "the backup holds both databases, an outbox and the secrets" \
  test -s "$E2E_WORK/backup/authn.db" -a -s "$E2E_WORK/backup/mfa.db" \
       -a -s "$E2E_WORK/backup/mailer-outbox.db" -a -s "$E2E_WORK/backup/mfa-code.key" \
       -a -d "$E2E_WORK/backup/keys" -a -s "$E2E_WORK/backup/MANIFEST"
expect "the backup is readable by its owner only" 700 "$(stat -c %a "$E2E_WORK/backup")"
expect "the database copies are readable by their owner only" 600 \
  "$(stat -c %a "$E2E_WORK/backup/mfa.db")"
"$BACKUP" backup "$E2E_WORK/backup" >/dev/null 2>&1
check "a second backup into the same folder is refused" test $? -ne 0

fault_user after@example.com || exit 1

# A restore under running services is refused
"$BACKUP" restore "$E2E_WORK/backup" >"$E2E_WORK/restore-refused.log" 2>&1
check "a restore while the services run is refused" test $? -ne 0

for name in gateway mailer authn mfa; do fault_stop "$name" TERM; done
# The data is lost
rm -rf "$POSTERN_DATA_DIR"/*.db "$POSTERN_DATA_DIR"/*.db-* "$POSTERN_DATA_DIR"/keys \
  "$POSTERN_DATA_DIR"/mfa-code.key
# A damaged backup is refused
cp -a "$E2E_WORK/backup" "$E2E_WORK/damaged"
printf 'x' >>"$E2E_WORK/damaged/mfa.db"
"$BACKUP" restore "$E2E_WORK/damaged" >"$E2E_WORK/restore-damaged.log" 2>&1
check "a backup that does not match its manifest is refused" test $? -ne 0

"$BACKUP" restore "$E2E_WORK/backup" >"$E2E_WORK/restore.log" 2>&1
check "the restore succeeded" test $? -eq 0
for name in mfa authn mailer gateway; do fault_restart "$name"; done
e2e_wait_port "$HTTPS_PORT" || { fail "gateway did not start after the restore"; exit 1; }
sleep 0.5

fault_tenant
check "the restored bootstrap credentials give a management token" test -n "$MGMT_TOKEN"
login before@example.com
check "the user enrolled before the backup gets mfa_required" test -n "$MFA_TOKEN"
before=$(mail_count_to before@example.com)
challenge "$MFA_TOKEN"
expect "a challenge after the restore" 200 "$STATUS"
mail=$(wait_mail_to before@example.com $((before + 1)) 15) || fail "no mail after the restore"
mfa_oob "$MFA_TOKEN" "$OOB_CODE" "$(mail_field "$mail" code)"
expect "the emailed code completes the sign-in after the restore" 200 "$STATUS"
login after@example.com
expect "the user created after the backup does not exist" 403 "$STATUS"
expect "... wrong email or password" invalid_grant "$(json .error)"
