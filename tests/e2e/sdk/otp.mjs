// The otp (authenticator app) flow driven by Auth0's official Node.js SDKs,
// unchanged, pointed at Postern by its domain: `auth0` turns the factor on and
// sets the scenario up, `@auth0/auth0-auth-js` enrols an otp authenticator and
// verifies with codes computed from the secret it returned, as an
// authenticator app computes them (RFC 6238, ./totp-code.mjs). Called by
// ../sdk_flow.sh after flow.mjs, with the same environment. Prints one
// "ok"/"FAIL" line per check; the exit status is the failure count.
import { readFileSync, readdirSync } from 'node:fs';
import { ManagementClient } from 'auth0';
import { AuthClient, isMfaRequiredError } from '@auth0/auth0-auth-js';
import { base32Decode, currentStep, totp } from './totp-code.mjs';

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

async function expectError(what, promise, wanted) {
  try {
    await promise;
    check(what, false, 'it succeeded');
  } catch (error) {
    const code = error?.cause?.error ?? error?.error ?? error?.code;
    check(what, code === wanted, `got ${code}: ${error?.message}`);
  }
}

function mailCount() {
  return readdirSync(mailDir).filter((name) => name.endsWith('.eml')).length;
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function main() {
  const management = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  const factor = await management.guardian.factors.set('otp', { enabled: true });
  check('management: otp factor enabled', factor.enabled === true, JSON.stringify(factor));
  const factors = await management.guardian.factors.list();
  check('management: factor list shows otp on',
    factors.some((f) => f.name === 'otp' && f.enabled === true), JSON.stringify(factors));
  const api = await management.resourceServers.create({
    identifier: 'https://otp.example/api', name: 'OTP API',
    scopes: [{ value: 'read:sample', description: 'Read samples' }],
  });
  check('management: resource server created', api.identifier === 'https://otp.example/api');
  const app = await management.clients.create({
    name: 'SDK otp application',
    grant_types: ['password', 'http://auth0.com/oauth/grant-type/mfa-otp',
      'http://auth0.com/oauth/grant-type/mfa-recovery-code'],
  });
  check('management: application created with the mfa-otp grant',
    typeof app.client_id === 'string' && app.grant_types?.includes('http://auth0.com/oauth/grant-type/mfa-otp'),
    JSON.stringify(app.grant_types));
  const password = 'Correct-Horse-Battery-9';
  const user = await management.users.create({
    connection: 'Username-Password-Authentication', email: 'sdk.otp+app@example.com',
    password, email_verified: true,
  });
  check('management: user created', /^auth0\|/.test(user.user_id ?? ''), JSON.stringify(user));

  const auth = new AuthClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  let requirements;
  const signIn = async (what) => {
    try {
      await auth.getTokenByPassword({
        username: 'sdk.otp+app@example.com', password, audience: 'https://otp.example/api',
        scope: 'read:sample',
      });
      check(`${what}: MFA required`, false, 'tokens were issued');
    } catch (error) {
      check(`${what}: MFA required`, isMfaRequiredError(error), error?.message);
      requirements = error?.cause?.mfa_requirements;
      return error?.cause?.mfa_token;
    }
    return undefined;
  };

  // --- Enrolment: the secret and the barcode URI, no mail
  let mfaToken = await signIn('first sign-in');
  const mails = mailCount();
  const enrolment = await auth.mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken });
  const { secret } = enrolment;
  check('enrol otp: authenticator type otp', enrolment.authenticatorType === 'otp',
    JSON.stringify({ ...enrolment, secret: undefined, barcodeUri: undefined }));
  check('enrol otp: a 160-bit base32 secret',
    /^[A-Z2-7]{32}$/.test(secret ?? '') && base32Decode(secret).length === 20, secret?.length);
  const uri = new URL(enrolment.barcodeUri ?? 'x:');
  check('enrol otp: otpauth://totp/ barcode URI naming the user, with the secret',
    uri.protocol === 'otpauth:' && enrolment.barcodeUri.startsWith('otpauth://totp/')
    && decodeURIComponent(enrolment.barcodeUri.split('?')[0]).endsWith(':sdk.otp+app@example.com')
    && uri.searchParams.get('secret') === secret && (uri.searchParams.get('issuer') ?? '') !== ''
    && uri.searchParams.get('digits') === '6' && uri.searchParams.get('period') === '30'
    && uri.searchParams.get('algorithm') === 'SHA1', enrolment.barcodeUri?.replace(secret, '<secret>'));
  check('enrol otp: the address is percent-encoded in the label',
    enrolment.barcodeUri?.includes('sdk.otp%2Bapp%40example.com'), enrolment.barcodeUri?.split('?')[0]);
  check('enrol otp: one recovery code', enrolment.recoveryCodes?.length === 1,
    JSON.stringify(enrolment.recoveryCodes));
  check('enrol otp: id as Auth0 forms it', /^totp\|dev_/.test(enrolment.id ?? ''), enrolment.id);
  check('enrol otp: nothing mailed', mailCount() === mails, `${mails} -> ${mailCount()}`);
  const recoveryCode = enrolment.recoveryCodes?.[0];

  let listed = await auth.mfa.listAuthenticators({ mfaToken });
  let otp = listed.find((a) => a.authenticatorType === 'otp');
  check('list authenticators: the otp authenticator, not yet active',
    otp?.id === enrolment.id && otp?.active === false, JSON.stringify(listed));

  // --- The first code confirms it
  let step = currentStep();
  const wrong = totp(secret, step + 5);
  await expectError('verify otp with a wrong code: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'otp', otp: wrong }), 'invalid_grant');
  let code = totp(secret, step);
  const tokens = await auth.mfa.verify({ mfaToken, factorType: 'otp', otp: code });
  check('verify otp after enrolment: access token', typeof tokens.accessToken === 'string',
    JSON.stringify(Object.keys(tokens)));
  const claims = claimsOf(tokens.accessToken);
  check('verify otp: token for the API and scope asked for, gty mfa-otp',
    claims.aud === 'https://otp.example/api' && claims.scope === 'read:sample'
    && claims.gty === 'mfa-otp' && claims.sub === user.user_id, JSON.stringify(claims));
  await expectError('verify otp with the used mfa_token: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'otp', otp: totp(secret, step + 1) }), 'invalid_grant');

  // --- The next sign-in: a used step is refused, the next one works
  check('first sign-in: no mfa_requirements before enrolment', requirements === undefined,
    JSON.stringify(requirements));
  mfaToken = await signIn('second sign-in');
  check('second sign-in: mfa_requirements as Auth0 sends them, challenge otp',
    JSON.stringify(requirements) === '{"challenge":[{"type":"otp"}]}', JSON.stringify(requirements));
  listed = await auth.mfa.listAuthenticators({ mfaToken });
  otp = listed.find((a) => a.authenticatorType === 'otp');
  check('list authenticators: the otp authenticator, active',
    otp?.id === enrolment.id && otp?.active === true, JSON.stringify(listed));
  check('list authenticators: the recovery code, active',
    listed.some((a) => a.authenticatorType === 'recovery-code' && a.active === true),
    JSON.stringify(listed));
  await expectError('verify otp replaying a used code: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'otp', otp: code }), 'invalid_grant');
  // The challenge Auth0 answers for an otp authenticator: the app has the code
  const mailsBefore = mailCount();
  const challenge = await auth.mfa.challengeAuthenticator({
    mfaToken, challengeType: 'otp', authenticatorId: enrolment.id,
  });
  check('challenge otp: challenge_type otp, no oob_code',
    challenge.challengeType === 'otp' && challenge.oobCode === undefined, JSON.stringify(challenge));
  check('challenge otp: nothing mailed', mailCount() === mailsBefore,
    `${mailsBefore} -> ${mailCount()}`);
  await expectError('challenge oob for an otp-only user: unsupported_challenge_type',
    auth.mfa.challengeAuthenticator({ mfaToken, challengeType: 'oob' }),
    'unsupported_challenge_type');
  step += 1;
  code = totp(secret, step);
  const again = await auth.mfa.verify({ mfaToken, factorType: 'otp', otp: code });
  check('verify otp with the next step: access token', typeof again.accessToken === 'string'
    && claimsOf(again.accessToken).gty === 'mfa-otp');
  mfaToken = await signIn('third sign-in');
  await expectError('the same step a second time: invalid_grant',
    auth.mfa.verify({ mfaToken, factorType: 'otp', otp: code }), 'invalid_grant');

  // --- Enrolled: no second association; the recovery code still works
  await expectError('associate again while enrolled: access_denied',
    auth.mfa.enrollAuthenticator({ authenticatorTypes: ['otp'], mfaToken }), 'access_denied');
  const recovered = await auth.mfa.verify({ mfaToken, factorType: 'recovery-code', recoveryCode });
  check('recovery code for an otp user: access token', typeof recovered.accessToken === 'string');

  // --- The Management API sees it as Auth0 names it
  // Without include_totals the answer is a plain array, as Auth0 gives it; the
  // SDK's page reads only the paginated form, so the rows are its raw response
  const methods = await management.users.authenticationMethods.list(user.user_id);
  const rows = Array.isArray(methods?.response) ? methods.response : methods?.data ?? [];
  check('management: authentication methods list the totp authenticator, confirmed',
    rows.some((m) => m.type === 'totp' && m.id === enrolment.id && m.confirmed === true),
    JSON.stringify(rows));
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
