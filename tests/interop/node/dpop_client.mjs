// A relying party written with openid-client 6, for tests/interop/test_openid_client.py.
// Two phases, so that the Python test can play the browser in between:
//   node dpop_client.mjs start  <issuer> <client_id> <redirect_uri> <state_file>
//     discovery, a DPoP key pair, PKCE and state, a pushed request with a DPoP proof;
//     prints {"authorization_url": ...}; keeps what phase two needs in <state_file>.
//   node dpop_client.mjs finish <issuer> <client_id> <callback_url> <state_file> <api_url>
//     the code exchange, a call to the protected API, a refresh, the API again, all with DPoP;
//     prints what happened as JSON.
import { readFileSync, writeFileSync } from "node:fs";
import * as client from "openid-client";

const [phase, issuer, clientId, third, stateFile, apiUrl] = process.argv.slice(2);
const ALG = { name: "ECDSA", namedCurve: "P-256" };

async function configuration() {
  return client.discovery(new URL(issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests], // the example serves plain HTTP on 127.0.0.1
  });
}

async function exportPair(pair) {
  return {
    privateKey: await crypto.subtle.exportKey("jwk", pair.privateKey),
    publicKey: await crypto.subtle.exportKey("jwk", pair.publicKey),
  };
}

async function importPair(saved) {
  return {
    privateKey: await crypto.subtle.importKey("jwk", saved.privateKey, ALG, false, ["sign"]),
    publicKey: await crypto.subtle.importKey("jwk", saved.publicKey, ALG, true, ["verify"]),
  };
}

async function start(config) {
  const pair = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const url = await client.buildAuthorizationUrlWithPAR(
    config,
    {
      redirect_uri: third,
      scope: "openid read",
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
      nonce,
    },
    { DPoP: client.getDPoPHandle(config, pair) },
  );
  writeFileSync(stateFile, JSON.stringify({ verifier, challenge, state, nonce, keys: await exportPair(pair) }));
  return { authorization_url: url.href };
}

async function finish(config) {
  const saved = JSON.parse(readFileSync(stateFile, "utf8"));
  const DPoP = client.getDPoPHandle(config, await importPair(saved.keys));
  const tokens = await client.authorizationCodeGrant(
    config,
    new URL(third),
    { pkceCodeVerifier: saved.verifier, expectedState: saved.state, expectedNonce: saved.nonce },
    undefined,
    { DPoP },
  );
  const api = async (accessToken) => {
    const response = await client.fetchProtectedResource(config, accessToken, new URL(apiUrl), "GET", undefined, undefined, { DPoP });
    return { status: response.status, body: await response.json() };
  };
  const first = await api(tokens.access_token);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  const second = await api(refreshed.access_token);
  const bearer = await fetch(apiUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  return {
    token_type: tokens.token_type,
    id_token_sub: tokens.claims()?.sub ?? null,
    api: first,
    refreshed_token_type: refreshed.token_type,
    api_after_refresh: second,
    api_as_bearer: { status: bearer.status, www_authenticate: bearer.headers.get("www-authenticate") },
  };
}

const config = await configuration();
const result = phase === "start" ? await start(config) : await finish(config);
process.stdout.write(JSON.stringify(result));
