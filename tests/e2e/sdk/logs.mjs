// Log events read with Auth0's official `auth0` 7.1.0, unchanged, pointed at
// Postern by its domain: its ManagementClient (management.logs.list,
// management.users.logs.list, which ask for include_totals and send q as
// `search`) and the node-auth0 v4 interface it ships as `auth0/legacy`
// (management.logs.getAll: a search by q, pages with include_totals, a
// checkpoint with from/take, a refused q; management.users.getLogs).
// ../logs.sh made the events with curl and passes what it expects:
// POSTERN_LOG_USER (the user's id), POSTERN_LOG_TYPES (the user's event
// codes, oldest first); with POSTERN_DOMAIN, POSTERN_BOOTSTRAP and
// NODE_EXTRA_CA_CERTS. Prints one "ok"/"FAIL" line per check; the exit status
// is the failure count.
import { readFileSync } from 'node:fs';
import { ManagementClient } from 'auth0';
import { ManagementClient as LegacyManagementClient } from 'auth0/legacy';

const domain = process.env.POSTERN_DOMAIN;
const bootstrap = JSON.parse(readFileSync(process.env.POSTERN_BOOTSTRAP, 'utf8'));
const userId = process.env.POSTERN_LOG_USER;
const types = process.env.POSTERN_LOG_TYPES.split(' ');
let failures = 0;

function check(what, condition, detail) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail === undefined ? '' : `: ${detail}`}`);
  }
}

const ids = (events) => events.map((event) => event.log_id);
const sorted = (list) => list.every((value, index) => index === 0 || list[index - 1] < value);

async function main() {
  const management = new LegacyManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });
  const current = new ManagementClient({
    domain, clientId: bootstrap.client_id, clientSecret: bootstrap.client_secret,
  });

  // A search: the user's events, oldest first
  const { data: mine, status } = await management.logs.getAll({
    q: `user_id:"${userId}"`, sort: 'date:1', per_page: 100,
  });
  check('logs.getAll by user: 200', status === 200, String(status));
  check('logs.getAll by user: Auth0\'s codes in order', JSON.stringify(mine.map((e) => e.type))
    === JSON.stringify(types), JSON.stringify(mine.map((e) => e.type)));
  check('logs.getAll by user: log_ids ascending', sorted(ids(mine)));
  check('logs.getAll by user: every event the user\'s', mine.every((e) => e.user_id === userId));
  check('logs.getAll by user: dates ISO 8601', mine.every((e) => !Number.isNaN(Date.parse(e.date))
    && /Z$/.test(e.date)), JSON.stringify(mine.map((e) => e.date)));
  check('logs.getAll by user: descriptions', mine.every((e) => typeof e.description === 'string'));
  const fp = mine.find((e) => e.type === 'fp');
  check('logs.getAll: fp as Auth0 has it', fp?.description === 'Wrong email or password.'
    && typeof fp?.client_name === 'string' && typeof fp?.ip === 'string', JSON.stringify(fp));

  // Pages with include_totals, over both services' events
  const { data: all } = await management.logs.getAll({ sort: 'date:1', per_page: 100, include_totals: true });
  check('logs.getAll with totals: Auth0\'s shape', Array.isArray(all.logs) && all.start === 0
    && all.limit === 100 && all.length === all.logs.length && all.total === all.logs.length,
    JSON.stringify({ ...all, logs: all.logs?.length }));
  const { data: page } = await management.logs.getAll({ sort: 'date:1', per_page: 4, page: 1, include_totals: true });
  check('logs.getAll page 1: the next four', JSON.stringify(ids(page.logs))
    === JSON.stringify(ids(all.logs).slice(4, 8)), JSON.stringify(page));
  check('logs.getAll page 1: start and limit', page.start === 4 && page.limit === 4 && page.total === all.total);

  // A checkpoint: from/take read everything after it, once. A checkpoint read
  // leaves the last two seconds for later (pst_logs.h): this client's own
  // token exchange, just now, must settle first
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const walked = [];
  let from = all.logs[0].log_id;
  for (let round = 0; round < 100; round++) {
    const { data } = await management.logs.getAll({ from, take: 5 });
    if (data.length === 0) break;
    walked.push(...ids(data));
    from = data[data.length - 1].log_id;
  }
  check('logs.getAll from/take: every later event once, in order',
    JSON.stringify(walked) === JSON.stringify(ids(all.logs).slice(1)),
    `${walked.length} of ${all.logs.length - 1}`);

  // users.getLogs: newest first by default, and with totals
  const { data: theirs } = await management.users.getLogs({ id: userId });
  check('users.getLogs: the user\'s events, newest first', JSON.stringify(ids(theirs))
    === JSON.stringify(ids(mine).reverse()), JSON.stringify(ids(theirs)));
  const { data: two } = await management.users.getLogs({ id: userId, per_page: 2, page: 0, include_totals: true, sort: 'date:1' });
  check('users.getLogs with totals', two.total === types.length && two.length === 2
    && JSON.stringify(ids(two.logs)) === JSON.stringify(ids(mine).slice(0, 2)), JSON.stringify(two));

  // The current interface: pages of include_totals answers, q as search
  const listed = await current.logs.list({ search: `user_id:"${userId}"`, sort: 'date:1', per_page: 100 });
  check('logs.list (v7) by user: the same events', JSON.stringify(ids(listed.data))
    === JSON.stringify(ids(mine)), JSON.stringify(ids(listed.data)));
  const firstPage = await current.logs.list({ sort: 'date:1', per_page: 4 });
  check('logs.list (v7): a page of four', JSON.stringify(ids(firstPage.data))
    === JSON.stringify(ids(all.logs).slice(0, 4)), JSON.stringify(ids(firstPage.data)));
  check('logs.list (v7): a next page', firstPage.hasNextPage());
  const secondPage = await firstPage.getNextPage();
  check('logs.list (v7): its next page', JSON.stringify(ids(secondPage.data))
    === JSON.stringify(ids(all.logs).slice(4, 8)), JSON.stringify(ids(secondPage.data)));
  const userPage = await current.users.logs.list(userId, { per_page: 100 });
  check('users.logs.list (v7): the user\'s events, newest first', JSON.stringify(ids(userPage.data))
    === JSON.stringify(ids(mine).reverse()), JSON.stringify(ids(userPage.data)));

  // A q Postern does not search with is refused in words, as Auth0 refuses one
  try {
    await management.logs.getAll({ q: 'type:fp OR type:fu' });
    check('logs.getAll with OR: refused', false, 'it succeeded');
  } catch (error) {
    // node-auth0 v4's ManagementApiError: errorCode and message from the body
    check('logs.getAll with OR: 400 invalid_query_string', error?.statusCode === 400
      && error?.errorCode === 'invalid_query_string'
      && /^Query validation error: .*AND only/.test(error?.message ?? ''),
      `got ${error?.statusCode} ${error?.errorCode}: ${error?.message}`);
  }
}

try {
  await main();
} catch (error) {
  failures++;
  console.log(`FAIL unexpected: ${error?.stack ?? error}`);
}
process.exit(failures);
