// The email-MFA flow driven by Auth0's official Node.js SDKs, unchanged, pointed
// at Postern by its domain: `auth0` (Management API) sets the scenario up and
// `@auth0/auth0-auth-js` (Authentication API) signs in, enrols, challenges and
// verifies; then `auth0`'s users API, v7 and v4 (`auth0/legacy`), as a
// migration uses it. Called by ../sdk_flow.sh, which starts the real suite and passes:
//   POSTERN_DOMAIN, POSTERN_BOOTSTRAP (the management app's credentials file),
//   MAIL_DIR (where the SMTP sink drops messages), NODE_EXTRA_CA_CERTS (the CA).
// Prints one "ok"/"FAIL" line per check; the exit status is the failure count.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManagementClient } from 'auth0';
import { ManagementClient as LegacyManagementClient } from 'auth0/legacy';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
const mailDir = process.env.MAIL_DIR;
let failures = 0;

function check(what, condition, detail) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
}

// The 6-digit code of the newest of `count` messages, from its text/plain part
async function waitCode(count) {
  for (let tries = 0; tries < 150; tries++) {
    const files = readdirSync(mailDir).filter((name) => name.endsWith('.eml'));
    if (files.length >= count) {
      const newest = files
        .map((name) => ({ name, time: statSync(join(mailDir, name)).mtimeMs }))
        .sort((a, b) => a.time - b.time)
        .pop();
      const message = readFileSync(join(mailDir, newest.name), 'utf8');
      const text = message.split(/Content-Type: text\/plain[^\n]*\n/)[1] || '';
      const match = text.split('\n--')[0].match(/\b(\d{6})\b/);
      if (match) return match[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no message number ${count} in ${mailDir}`);
}

function mailCount() {
  return readdirSync(mailDir).filter((name) => name.endsWith('.eml')).length;
}

async function expectError(what, promise, wanted) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    const code = error?.cause?.error ?? error?.error ?? error?.code;
    check(what, code === wanted, `got ${code}: ${error?.message}`);
  }
}

// Compares JSON values whatever the order of their members
function sameJson(a, b) {
  const canon = (value) => (Array.isArray(value) ? value.map(canon)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canon(value[key])]))
      : value);
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

async function expectStatus(what, promise, status, errorCode) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    const code = error?.body?.errorCode;
    check(what, error?.statusCode === status && (errorCode === undefined || code === errorCode),
      `got ${error?.statusCode} ${code}: ${error?.message}`);
  }
}

// Auth0's x-ratelimit-* headers, for a bucket of `limit`
function rateLimited(what, headers, limit) {
  const now = Math.floor(Date.now() / 1000);
  const remaining = Number(headers.get('x-ratelimit-remaining'));
  const reset = Number(headers.get('x-ratelimit-reset'));
  check(what, headers.get('x-ratelimit-limit') === String(limit)
    && Number.isInteger(remaining) && remaining >= 0 && remaining < limit
    && Number.isInteger(reset) && reset >= now - 1,
  JSON.stringify(Object.fromEntries(headers.entries())));
}

// The Users API as a migration from Auth0 uses it (issue 12, item 7), through
// the SDK as it is today (v7) and its v4 API (auth0/legacy, in the same package)
async function migration(management, password) {
  const id = 'auth0|sdk-migrated-1';
  const created = await management.users.create({
    connection: 'Username-Password-Authentication', email: 'Migrated.SDK@example.com', password,
    email_verified: true, user_id: 'sdk-migrated-1',
    app_metadata: { plan: 'gold', roles: ['admin'] }, user_metadata: { theme: 'dark' },
  });
  check('users.create with user_id: the sub kept (auth0| + user_id)', created.user_id === id,
    JSON.stringify(created));
  check('users.create: the identity holds the id given',
    created.identities?.[0]?.user_id === 'sdk-migrated-1', JSON.stringify(created.identities));
  check('users.create: app_metadata and user_metadata returned',
    sameJson(created.app_metadata, { plan: 'gold', roles: ['admin'] })
    && sameJson(created.user_metadata, { theme: 'dark' }), JSON.stringify(created));
  await expectStatus('users.create with a taken user_id: 409', management.users.create({
    connection: 'Username-Password-Authentication', email: 'other.sdk@example.com', password,
    user_id: 'sdk-migrated-1',
  }), 409);

  let updated = await management.users.update(id, { user_metadata: { addresses: { home: '1 Main Street' } } });
  check('users.update: user_metadata merged at the top level',
    sameJson(updated.user_metadata, { theme: 'dark', addresses: { home: '1 Main Street' } }),
    JSON.stringify(updated.user_metadata));
  check('users.update: app_metadata untouched',
    sameJson(updated.app_metadata, { plan: 'gold', roles: ['admin'] }), JSON.stringify(updated.app_metadata));
  updated = await management.users.update(id, { user_metadata: { theme: null } });
  check('users.update: a member set to null is removed',
    sameJson(updated.user_metadata, { addresses: { home: '1 Main Street' } }),
    JSON.stringify(updated.user_metadata));
  const fetched = await management.users.get(id).withRawResponse();
  check('users.get: the merged metadata', sameJson(fetched.data.user_metadata, updated.user_metadata)
    && sameJson(fetched.data.app_metadata, { plan: 'gold', roles: ['admin'] }), JSON.stringify(fetched.data));
  rateLimited('users.get: x-ratelimit-limit, -remaining, -reset', fetched.rawResponse.headers, 100);

  const found = await management.users.list({
    q: 'email:"MIGRATED.SDK@example.com"', search_engine: 'v3', include_totals: true,
  });
  check('users.list with q=email (without case) and include_totals: that user',
    found.data.length === 1 && found.data[0].user_id === id, JSON.stringify(found.response));
  check('users.list include_totals: start, limit, length, total as Auth0',
    found.response.start === 0 && found.response.limit === 50 && found.response.length === 1
    && found.response.total === 1, JSON.stringify({ ...found.response, users: undefined }));
  const byId = await management.users.list({ q: `user_id:"${id}"` });
  check('users.list with q=user_id', byId.data.length === 1 && byId.data[0].email === 'Migrated.SDK@example.com',
    JSON.stringify(byId.response));
  const none = await management.users.list({ q: 'email:"nobody@x.y"', include_totals: true });
  check('users.list with q for nobody: no user', none.data.length === 0 && none.response.total === 0,
    JSON.stringify(none.response));
  const everyone = await management.users.list({ include_totals: true });
  const second = await management.users.list({ page: 1, per_page: 1, include_totals: true });
  check('users.list page 1 of per_page 1: the second user',
    second.data.length === 1 && second.response.start === 1 && second.response.limit === 1
    && second.response.total === everyone.response.total && everyone.response.total >= 2
    && second.data[0].user_id === everyone.data[1].user_id, JSON.stringify(second.response));
  await expectStatus('users.list with q on another field: 400 invalid_query_string',
    management.users.list({ q: 'name:"Jane"' }), 400, 'invalid_query_string');
  await expectStatus('users.list with per_page 101: 400 invalid_query_string',
    management.users.list({ per_page: 101 }), 400, 'invalid_query_string');
  const byEmail = await management.users.listUsersByEmail({ email: 'MIGRATED.SDK@EXAMPLE.COM' });
  check('users.listUsersByEmail without case: that user',
    byEmail.length === 1 && byEmail[0].user_id === id, JSON.stringify(byEmail));

  // The SDK's v4 API, which most code migrating today was written against
  const legacy = new LegacyManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  const all = await legacy.users.getAll({ q: `user_id:"${id}"`, search_engine: 'v3', include_totals: true });
  check('v4 users.getAll with q and include_totals',
    all.status === 200 && all.data.users?.length === 1 && all.data.total === 1
    && all.data.users[0].user_id === id, JSON.stringify(all.data));
  rateLimited('v4 users.getAll: x-ratelimit-limit, -remaining, -reset', all.headers, 100);
  const legacyByEmail = await legacy.usersByEmail.getByEmail({ email: 'migrated.sdk@example.com' });
  check('v4 usersByEmail.getByEmail: that user',
    legacyByEmail.data.length === 1 && legacyByEmail.data[0].user_id === id, JSON.stringify(legacyByEmail.data));
  const legacyUpdate = await legacy.users.update({ id }, { app_metadata: { plan: null, tier: 2 } });
  check('v4 users.update: app_metadata merged, null removes',
    sameJson(legacyUpdate.data.app_metadata, { roles: ['admin'], tier: 2 })
    && sameJson(legacyUpdate.data.user_metadata, { addresses: { home: '1 Main Street' } }),
    JSON.stringify(legacyUpdate.data));
}

async function main() {
  // --- Management API through the SDK: the management app from bootstrap.json
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  const api = await management.resourceServers.create({
    identifier: 'https://sdk.example/api', name: 'SDK API',
    scopes: [{ value: 'read:sample', description: 'Read samples' }],
  });
  check('management: resource server created', api.identifier === 'https://sdk.example/api');
  const app = await management.clients.create({
    name: 'SDK application',
    grant_types: ['password', 'http://auth0.com/oauth/grant-type/mfa-oob',
      'http://auth0.com/oauth/grant-type/mfa-recovery-code'],
  });
  check('management: application created with a secret',
    typeof app.client_id === 'string' && typeof app.client_secret === 'string');
  const password = 'Correct-Horse-Battery-9';
  const user = await management.users.create({
    connection: 'Username-Password-Authentication', email: 'sdk.user@example.com',
    password, email_verified: true,
  });
  check('management: user created', /^auth0\|/.test(user.user_id ?? ''), JSON.stringify(user));
  const factor = await management.guardian.factors.set('email', { enabled: true });
  check('management: email factor enabled', factor.enabled === true, JSON.stringify(factor));
  const factors = await management.guardian.factors.list();
  check('management: factor list shows email on',
    factors.some((f) => f.name === 'email' && f.enabled === true), JSON.stringify(factors));

  // --- Authentication API through the SDK
  const auth = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  const signIn = () => auth.getTokenByPassword({
    username: 'sdk.user@example.com', password, audience: 'https://sdk.example/api', scope: 'read:sample',
  });
  let mfaToken;
  try {
    await signIn();
    check('password grant: MFA required', false, 'tokens were issued');
  } catch (error) {
    check('password grant: MFA required', isMfaRequiredError(error), error?.message);
    mfaToken = error?.cause?.mfa_token;
  }
  check('password grant: mfa_token given', typeof mfaToken === 'string' && mfaToken.length >= 22);

  const before = mailCount();
  const enrolment = await auth.mfa.enrollAuthenticator({
    authenticatorTypes: ['oob'], oobChannels: ['email'], mfaToken,
  });
  check('enrol: oob over email', enrolment.authenticatorType === 'oob' && enrolment.oobChannel === 'email',
    JSON.stringify(enrolment));
  check('enrol: one recovery code', enrolment.recoveryCodes?.length === 1);
  const recoveryCode = enrolment.recoveryCodes?.[0];
  let code = await waitCode(before + 1);
  const tokens = await auth.mfa.verify({
    mfaToken, factorType: 'oob', oobCode: enrolment.oobCode, bindingCode: code,
  });
  check('verify after enrolment: access token', typeof tokens.accessToken === 'string',
    JSON.stringify(Object.keys(tokens)));
  const claims = JSON.parse(Buffer.from(tokens.accessToken.split('.')[1], 'base64url').toString());
  check('verify after enrolment: token for the API and scope asked for',
    claims.aud === 'https://sdk.example/api' && claims.scope === 'read:sample', JSON.stringify(claims));

  // Sign in again: challenge the enrolled authenticator
  try {
    await signIn();
    check('second sign-in: MFA required', false, 'tokens were issued');
  } catch (error) {
    check('second sign-in: MFA required', isMfaRequiredError(error), error?.message);
    mfaToken = error?.cause?.mfa_token;
  }
  const authenticators = await auth.mfa.listAuthenticators({ mfaToken }).catch((error) => error);
  const email = Array.isArray(authenticators)
    ? authenticators.find((a) => a.authenticatorType === 'oob')
    : undefined;
  check('list authenticators: the email authenticator, active, address masked',
    email?.active === true && /^sd\*+@example\.com$/.test(email?.name ?? ''),
    authenticators?.message ?? JSON.stringify(authenticators));
  check('list authenticators: the recovery code too',
    Array.isArray(authenticators) && authenticators.some((a) => a.authenticatorType === 'recovery-code'),
    JSON.stringify(authenticators));
  const mailsBefore = mailCount();
  const challenge = await auth.mfa.challengeAuthenticator({
    challengeType: 'oob', mfaToken, ...(email ? { authenticatorId: email.id } : {}),
  });
  check('challenge: oob code', challenge.challengeType === 'oob' && typeof challenge.oobCode === 'string',
    JSON.stringify(challenge));
  code = await waitCode(mailsBefore + 1);
  const wrong = code === '000000' ? '111111' : '000000';
  await expectError('verify with a wrong code: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: wrong }),
    'invalid_grant');
  const second = await auth.mfa.verify({
    mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: code,
  });
  check('verify after challenge: access token', typeof second.accessToken === 'string');
  await expectError('reused oob code: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'oob', oobCode: challenge.oobCode, bindingCode: code }),
    'invalid_grant');

  // Recovery code
  try {
    await signIn();
  } catch (error) {
    mfaToken = error?.cause?.mfa_token;
  }
  const recovered = await auth.mfa.verify({ mfaToken, factorType: 'recovery-code', recoveryCode });
  check('recovery code: access token', typeof recovered.accessToken === 'string');

  // --- A user's credentials never reach the Management API
  await expectError('password grant for the Management API: access_denied',
    auth.getTokenByPassword({
      username: 'sdk.user@example.com', password, audience: `https://${domain}/api/v2/`,
      scope: 'read:users',
    }), 'access_denied');

  await migration(management, password);
}

try {
  await main();
} catch (error) {
  failures++;
  console.log(`FAIL unexpected error: ${error?.stack ?? error}`);
  if (error?.cause) console.log(`     cause: ${JSON.stringify(error.cause)}`);
  if (error?.body) console.log(`     body: ${JSON.stringify(error.body)}`);
}
process.exit(Math.min(failures, 100));
