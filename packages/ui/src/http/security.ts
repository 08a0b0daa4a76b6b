import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { UiRequestError } from '../errors.js';
import type { UiContext } from '../ui-context.js';

export const SESSION_COOKIE = 'stepwise_ui_session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison (of fixed-length digests, so the length of the token leaks nothing either). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The cookie's value: derived from the token (not the token itself), so a leaked cookie jar shows no token. */
export function sessionValue(token: string): string {
  return createHash('sha256').update(`stepwise-ui-session:${token}`).digest('base64url');
}

function bearerOf(c: Context): string | undefined {
  const header = c.req.header('Authorization');
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}

function authorized(c: Context, token: string): boolean {
  const bearer = bearerOf(c);
  if (bearer !== undefined) return sameSecret(bearer, token);
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie !== undefined && sameSecret(cookie, sessionValue(token));
}

/** The request's Origin is another origin than the one it was sent to (a cross-site form or fetch). */
function foreignOrigin(c: Context): string | undefined {
  const origin = c.req.header('Origin');
  if (origin === undefined) return undefined;
  try {
    if (origin !== 'null' && new URL(origin).host === new URL(c.req.url).host) return undefined;
  } catch {
    // An unparsable Origin is not ours.
  }
  return origin;
}

/**
 * The security model of docs/ui.md, in order: with a token, every /api call is 401 without it (bearer or session
 * cookie), and `?token=T` on a page sets the cookie and redirects without it; state-changing calls whose Origin is
 * another origin are 403; with read-only, every state-changing call is 403.
 */
export function securityMiddleware(ctx: UiContext): MiddlewareHandler {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname.slice(ctx.basePath.length) || '/';
    const isApi = path.startsWith('/api/') || path === '/api';
    const token = ctx.token;
    if (token !== undefined) {
      const given = c.req.query('token');
      if (!isApi && given !== undefined && c.req.method === 'GET') {
        if (!sameSecret(given, token)) throw new UiRequestError('UNAUTHORIZED', 'the token in the address is wrong');
        setCookie(c, SESSION_COOKIE, sessionValue(token), {
          httpOnly: true,
          sameSite: 'Strict',
          path: ctx.basePath || '/',
          secure: new URL(c.req.url).protocol === 'https:',
        });
        const clean = new URL(c.req.url);
        clean.searchParams.delete('token');
        return c.redirect(`${clean.pathname}${clean.search}`, 302);
      }
      if (isApi && !authorized(c, token)) {
        throw new UiRequestError(
          'UNAUTHORIZED',
          'this API needs the UI token: send Authorization: Bearer <token>, or open /?token=<token> once in the browser',
        );
      }
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const origin = foreignOrigin(c);
      if (origin !== undefined) {
        throw new UiRequestError('FORBIDDEN_ORIGIN', `refused: a state-changing call from another origin (${origin})`);
      }
      // Validation changes nothing: a read-only UI still checks configs.
      if (ctx.readOnly && path !== '/api/validate') {
        throw new UiRequestError('READ_ONLY', 'this UI is read-only (started with --read-only)');
      }
    }
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    await next();
  };
}
