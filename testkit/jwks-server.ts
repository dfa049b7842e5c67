// A JWKS endpoint serving one RSA public key under one kid, counting its requests (to see the
// verifier's cache at work).
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from './http-server.ts';

export interface JwksServer {
  /** The JWKS document's URL. */
  url: string;
  requests(): number;
  close(): Promise<void>;
}

export async function startJwksServer(publicKey: KeyObject, kid: string): Promise<JwksServer> {
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  const base = await listenOnLoopback(server);
  return { url: `${base}/.well-known/jwks.json`, requests: () => requests, close: () => closeServer(server) };
}
