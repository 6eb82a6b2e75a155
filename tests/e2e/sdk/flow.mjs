// The email-MFA flow driven by Auth0's official Node.js SDKs, unchanged, pointed
// at Postern by its domain: `auth0` (Management API) sets the scenario up and
// `@auth0/auth0-auth-js` (Authentication API) signs in, enrols, challenges and
// verifies. Called by ../sdk_flow.sh, which starts the real suite and passes:
//   POSTERN_DOMAIN, POSTERN_BOOTSTRAP (the management app's credentials file),
//   MAIL_DIR (where the SMTP sink drops messages), NODE_EXTRA_CA_CERTS (the CA).
// Prints one "ok"/"FAIL" line per check; the exit status is the failure count.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManagementClient } from 'auth0';
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
