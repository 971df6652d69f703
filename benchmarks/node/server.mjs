// node-oidc-provider 9 for benchmarks/flows.py --node DIR: the same flow as the example
// identity provider (PAR, consent on every authorization, code + PKCE, RS256 ID token).
// Run by flows.py from DIR, where benchmarks/node/setup.sh installed oidc-provider and copied
// this file. One process; in-memory storage (the provider's default adapter).
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const issuer = `http://127.0.0.1:${port}`;
const redirectUri = `${issuer}/cb`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'bench' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-confidential',
      client_secret: 'bench-confidential-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [redirectUri],
    },
    { client_id: 'bench-public', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri] },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['bench-cookie-key-not-secret'] },
  features: { devInteractions: { enabled: false }, pushedAuthorizationRequests: { enabled: true } },
  pkce: { required: () => true },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  // Consent on every authorization, as DOT's consent page: only the grant of the interaction
  // that just finished counts, never one remembered in the session.
  loadExistingGrant: (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId;
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

function page(res, body) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><title>bench</title>${body}`);
}

async function interaction(req, res) {
  const [, , uid, action] = new URL(req.url, issuer).pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    const name = details.prompt.name === 'login' ? 'login' : 'consent';
    return page(res, `<form method="post" action="/interaction/${uid}/${name === 'login' ? 'login' : 'confirm'}">`
      + `<p>${name} for ${details.params.client_id}</p><button>go</button></form>`);
  }
  if (action === 'login') {
    return provider.interactionFinished(req, res, { login: { accountId: 'demo' } }, { mergeWithLastSubmission: false });
  }
  // The consent POST: a grant of what the prompt asks for.
  const { prompt: { details: missing }, params, session } = details;
  const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const handler = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
    return;
  }
  handler(req, res);
}).listen(port, '127.0.0.1');
