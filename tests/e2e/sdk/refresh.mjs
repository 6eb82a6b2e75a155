// Refresh tokens driven by Auth0's official `@auth0/auth0-auth-js`, unchanged,
// pointed at Postern by its domain: offline_access on an API that allows offline
// access, getTokenByRefreshToken with rotation (each use answers a new refresh
// token), reuse detection (a rotated token used again is refused and its whole
// family revoked), scope narrowing, revokeToken, and another application's
// attempts; `auth0` (Management API) sets the scenario up. Called by
// ../refresh_tokens.sh with POSTERN_DOMAIN, POSTERN_BOOTSTRAP and
// NODE_EXTRA_CA_CERTS. Prints one "ok"/"FAIL" line per check; the exit status is
// the failure count.
import { readFileSync } from 'node:fs';
import { ManagementClient } from 'auth0';
import { AuthClient } from '@auth0/auth0-auth-js';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
const audience = 'https://refresh.example/api';
const INVALID = 'Unknown or invalid refresh token.';
let failures = 0;

function check(what, condition, detail) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

// The call must fail with this OAuth error (and description, when given)
async function expectOAuthError(what, promise, code, description) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    const cause = error?.cause ?? {};
    check(what, cause.error === code && (description === undefined || cause.error_description === description),
      `got ${error?.statusCode} ${cause.error} "${cause.error_description}": ${error?.message}`);
  }
}

async function main() {
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  await management.guardian.factors.set('email', { enabled: false });
  const api = await management.resourceServers.create({
    identifier: audience, name: 'Refresh API', allow_offline_access: true,
    scopes: [{ value: 'read:data', description: 'Read' }],
  });
  check('management: API created with allow_offline_access', api.allow_offline_access === true,
    JSON.stringify(api));
  await management.resourceServers.create({
    identifier: 'https://online.example/api', name: 'Online API',
    scopes: [{ value: 'read:data', description: 'Read' }],
  });
  const app = await management.clients.create({
    name: 'Refresh application', grant_types: ['password', 'refresh_token'],
  });
  const other = await management.clients.create({
    name: 'Another application', grant_types: ['password', 'refresh_token'],
  });
  const password = 'Correct-Horse-Battery-Refresh';
  const user = await management.users.create({
    connection: 'Username-Password-Authentication', email: 'refresh.user@example.com',
    password, email_verified: true,
  });

  const auth = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  const signIn = (scope, api = audience) => auth.getTokenByPassword({
    username: 'refresh.user@example.com', password, audience: api, scope,
  });

  // --- Sign-in with offline_access: a refresh token comes with the tokens
  const first = await signIn('openid read:data offline_access');
  check('password grant: refresh token issued', typeof first.refreshToken === 'string'
    && first.refreshToken.length >= 43, JSON.stringify(first));
  check('password grant: scope holds offline_access', first.scope === 'openid read:data offline_access',
    first.scope);
  check('password grant: access token scope holds offline_access',
    claimsOf(first.accessToken).scope === 'openid read:data offline_access', claimsOf(first.accessToken).scope);
  const online = await signIn('read:data offline_access', 'https://online.example/api');
  check('an API without offline access: no refresh token, offline_access dropped',
    online.refreshToken === undefined && online.scope === 'read:data', JSON.stringify(online));
  const noOffline = await signIn('read:data');
  check('offline_access not asked: no refresh token', noOffline.refreshToken === undefined);

  // --- Rotation: every exchange answers new tokens and a new refresh token
  const second = await auth.getTokenByRefreshToken({ refreshToken: first.refreshToken });
  check('refresh: new access token', typeof second.accessToken === 'string'
    && second.accessToken !== first.accessToken);
  check('refresh: rotated refresh token', typeof second.refreshToken === 'string'
    && second.refreshToken !== first.refreshToken);
  check('refresh: id_token validated by the SDK, same user', second.claims?.sub === user.user_id,
    JSON.stringify(second.claims));
  const access = claimsOf(second.accessToken);
  check('refresh: access token for the user and the API', access.sub === user.user_id
    && Array.isArray(access.aud) && access.aud[0] === audience && access.azp === app.client_id,
  JSON.stringify(access));
  check('refresh: scope kept', second.scope === 'openid read:data offline_access', second.scope);
  const third = await auth.getTokenByRefreshToken({ refreshToken: second.refreshToken });
  check('refresh again with the rotated token', typeof third.refreshToken === 'string'
    && third.refreshToken !== second.refreshToken);

  // --- Reuse detection: a rotated token used again is refused, and the family goes
  await expectOAuthError('reuse of a rotated token: invalid_grant',
    auth.getTokenByRefreshToken({ refreshToken: first.refreshToken }), 'invalid_grant', INVALID);
  await expectOAuthError('after reuse: the live token of the family is revoked too',
    auth.getTokenByRefreshToken({ refreshToken: third.refreshToken }), 'invalid_grant', INVALID);
  await expectOAuthError('after reuse: the one in between too',
    auth.getTokenByRefreshToken({ refreshToken: second.refreshToken }), 'invalid_grant', INVALID);
  try {
    await auth.getTokenByRefreshToken({ refreshToken: third.refreshToken });
  } catch (error) {
    check('refusal: HTTP 403 as Auth0', error?.statusCode === 403, String(error?.statusCode));
  }

  // --- Scope narrowing: a subset is granted, a wider scope is not
  const fresh = await signIn('openid read:data offline_access');
  const narrowed = await auth.getTokenByRefreshToken({ refreshToken: fresh.refreshToken, scope: 'read:data' });
  check('refresh with a narrower scope: only that', narrowed.scope === 'read:data'
    && claimsOf(narrowed.accessToken).scope === 'read:data' && narrowed.idToken === undefined,
  JSON.stringify({ scope: narrowed.scope, idToken: narrowed.idToken }));
  const widened = await auth.getTokenByRefreshToken({
    refreshToken: narrowed.refreshToken, scope: 'read:data write:data email offline_access',
  });
  check('refresh asking for more: never widened', widened.scope === 'read:data offline_access',
    widened.scope);

  // --- Another application can neither use nor revoke it
  const otherAuth = new AuthClient({ domain, clientId: other.client_id, clientSecret: other.client_secret });
  await expectOAuthError('another application cannot use the token',
    otherAuth.getTokenByRefreshToken({ refreshToken: widened.refreshToken }), 'invalid_grant', INVALID);
  await expectOAuthError('another application cannot revoke the token',
    otherAuth.revokeToken({ token: widened.refreshToken }), 'invalid_grant');
  const still = await auth.getTokenByRefreshToken({ refreshToken: widened.refreshToken });
  check('the token still works for its own application', typeof still.refreshToken === 'string');

  // --- revokeToken: the family goes; an unknown token is fine
  await auth.revokeToken({ token: still.refreshToken });
  check('revokeToken: resolved', true);
  await expectOAuthError('after revokeToken: refused',
    auth.getTokenByRefreshToken({ refreshToken: still.refreshToken }), 'invalid_grant', INVALID);
  await auth.revokeToken({ token: 'never-issued-token' });
  check('revokeToken of an unknown token: resolved, as with Auth0', true);
}

main().then(
  () => process.exit(failures),
  (error) => {
    console.log(`FAIL unexpected error: ${error?.stack ?? error}`);
    process.exit(failures + 1);
  },
);
