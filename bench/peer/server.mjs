// The peer of bench/run.sh: node oidc-provider (pinned in package.json) issuing
// RS256 JWT access tokens by client_credentials (resource indicators, JWT access
// token format), over plain HTTP on 127.0.0.1, with PEER_WORKERS node cluster
// workers (default 2) sharing one RSA-2048 key made at start.
//
//   PEER_PORT=N [PEER_WORKERS=2] [PEER_PORT_FILE=F] node server.mjs
//
// The client: client_id "bench", client_secret "bench-secret", authenticating with
// client_secret_post as Postern's client_credentials bench does; the resource
// https://bench.example/api with scope read:bench. PEER_PORT_FILE gets the port
// once every worker listens. SIGTERM stops it.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PEER_PORT);
const workers = Number(process.env.PEER_WORKERS || 2);
const resource = 'https://bench.example/api';

if (!Number.isInteger(port) || port <= 0) {
  console.error('server.mjs: set PEER_PORT');
  process.exit(2);
}

if (cluster.isPrimary) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };
  let listening = 0;
  let stopping = false;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork({ PEER_JWK: JSON.stringify(jwk) });
    worker.on('listening', () => {
      listening += 1;
      if (listening === workers && process.env.PEER_PORT_FILE) {
        writeFileSync(`${process.env.PEER_PORT_FILE}.tmp`, `${port}\n`);
        renameSync(`${process.env.PEER_PORT_FILE}.tmp`, process.env.PEER_PORT_FILE);
      }
    });
  }
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      console.error(`server.mjs: worker ${worker.process.pid} ended (${code})`);
      process.exit(1);
    }
  });
  process.on('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200);
  });
} else {
  const jwk = JSON.parse(process.env.PEER_JWK);
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
      client_id: 'bench',
      client_secret: 'bench-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'read:bench',
    }],
    jwks: { keys: [jwk] },
    scopes: ['read:bench'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator !== resource) throw new Error('unknown resource');
          return {
            scope: 'read:bench',
            audience: resource,
            accessTokenTTL: 86400,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  provider.listen(port, '127.0.0.1');
}
