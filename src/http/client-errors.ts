// Requests that Node's HTTP parser refuses before Express sees them still get a JSON error body
// of the catalog: headers over the server's maxHeaderSize (16 KB by default, e.g. a huge JWT)
// are 431 HEADERS_TOO_LARGE, other unparseable requests 400 INVALID_ARGUMENT. Node's own
// handling stays for timeouts (408) and resets.
import { maxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { errorCatalog, type ErrorCode } from '../errors.ts';

const reasons: Record<number, string> = { 400: 'Bad Request', 431: 'Request Header Fields Too Large' };

function answer(socket: Socket, { code, message }: { code: ErrorCode; message: string }): void {
  const { status } = errorCatalog[code];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(`HTTP/1.1 ${status} ${reasons[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') { socket.destroy(); return; }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      return answer(socket, { code: 'HEADERS_TOO_LARGE', message: `the request headers exceed the limit of this server (${maxHeaderSize} bytes); is the bearer token that large?` });
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') { socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'); return; }
    answer(socket, { code: 'INVALID_ARGUMENT', message: 'the request could not be parsed as HTTP/1.1' });
  });
}
