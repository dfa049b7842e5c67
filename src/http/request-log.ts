// Request ids and one structured log line per request (a few lines of pino instead of pino-http).
// The id comes from a well-formed X-Request-Id header or is generated; it is echoed back in the
// response header and carried by res.locals.log, the request's child logger.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.ts';
import type { Caller } from '../auth/jwt.ts';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const header = req.get('x-request-id');
    const id = header && requestIdPattern.test(header) ? header : randomUUID();
    const log = logger.child({ reqId: id });
    res.locals.requestId = id;
    res.locals.log = log;
    res.setHeader('X-Request-Id', id);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const status = res.statusCode;
      const caller = res.locals.caller as Caller | undefined;
      const entry = {
        method: req.method,
        path: req.originalUrl.split('?')[0]!.slice(0, 256),
        status,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        ...(caller ? { sub: caller.account } : {}),
      };
      if (status >= 500) log.error(entry, 'request failed');
      else log.info(entry, 'request');
    });
    res.once('close', () => {
      if (!res.writableFinished) log.warn({ method: req.method, path: req.originalUrl.split('?')[0]!.slice(0, 256) }, 'client closed the connection before the response was sent');
    });
    next();
  };
}
