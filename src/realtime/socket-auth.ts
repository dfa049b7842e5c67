// Socket.IO namespace authentication with the one JWT verifier (src/auth/jwt.ts): the token
// comes in `auth.accessToken` (or `auth.token`) of the handshake; a bad or missing one ends in
// connect_error `unauthorized`, signing keys that cannot be fetched in `unavailable` (as REST
// answers 503). The token is checked only at the handshake, so a socket is disconnected when
// its token expires.
import type { Namespace, Socket } from 'socket.io';
import { SigningKeysUnavailableError, type JwtVerifier, type VerifiedToken } from '../auth/jwt.ts';

// setTimeout's largest delay; tokens that expire later are checked again when it fires.
const timerDelayMaxMs = 2 ** 31 - 1;

export type AuthedSocket = Socket & { data: { auth: VerifiedToken } };

/** The connect_error every namespace answers a handshake without a valid token with. */
export const unauthorized = () => Object.assign(new Error('unauthorized'), { data: { code: 'UNAUTHENTICATED' } });

function handshakeError(error: unknown): Error {
  if (!(error instanceof SigningKeysUnavailableError)) return unauthorized();
  return Object.assign(new Error('unavailable'), { data: { code: 'UNAVAILABLE', message: error.message } });
}

function disconnectOnExpiry(socket: AuthedSocket): void {
  const expiresAtMs = socket.data.auth.expiresAtMs;
  if (expiresAtMs === undefined) return;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const leftMs = expiresAtMs - Date.now();
    if (leftMs <= 0) { socket.disconnect(true); return; }
    timer = setTimeout(arm, Math.min(leftMs, timerDelayMaxMs));
  };
  arm();
  socket.on('disconnect', () => clearTimeout(timer));
}

/** Namespace middleware: `unauthorized` without a valid token; disconnects when it expires. */
export function requireToken(nsp: Namespace, verifier: JwtVerifier): void {
  nsp.use((socket, next) => {
    const { accessToken, token } = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    verifier.verify(accessToken ?? token).then((verified) => {
      socket.data.auth = verified;
      next();
    }, (error: unknown) => next(handshakeError(error)));
  });
  nsp.on('connection', (socket) => disconnectOnExpiry(socket as AuthedSocket));
}
