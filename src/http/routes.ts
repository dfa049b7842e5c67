// A router described as a table of routes: the table registers the handlers, answers 405 (with
// Allow) for the other methods of each path, and lets the OpenAPI test check coverage.
import { Router, type RequestHandler } from 'express';
import { HttpError } from './errors.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export interface RouteSpec { method: Method; path: string; handlers: RequestHandler[] }

export function routerFromSpecs(routes: RouteSpec[]): Router {
  const router = Router();
  const methodsByPath = new Map<string, string[]>();
  for (const route of routes) {
    router[route.method](route.path, ...route.handlers);
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method.toUpperCase()]);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
    router.all(path, (_req, res, next) => {
      res.setHeader('Allow', allow.join(', '));
      next(new HttpError('METHOD_NOT_ALLOWED', `allowed methods: ${allow.join(', ')}`));
    });
  }
  return router;
}
