/**
 * Who may read the dashboard. On loopback without a token: anyone on this machine, but only
 * through a loopback host name, so a web page elsewhere cannot read it by DNS rebinding. Exposed
 * (`--host`), or whenever a token is set: the token, from an `Authorization: Bearer` header, the
 * cookie the page gets when first opened with `?token=`, or the `token` query parameter.
 */
import crypto from 'node:crypto';

export interface AccessPolicy {
  /** null: loopback only, no token. */
  readonly token: string | null;
  /** The cookie that carries the token, named after the port so two dashboards do not clash. */
  readonly cookieName: string;
}

export type AccessDecision = 'allow' | 'allow-and-set-cookie' | 'unauthorized' | 'forbidden-host';

export interface AccessRequest {
  readonly host: string | undefined;
  readonly authorization: string | undefined;
  readonly cookie: string | undefined;
  readonly queryToken: string | null;
}

/** A random token of 24 bytes, URL-safe. */
export function generateToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for a loopback address or name (127.0.0.0/8 included). */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Decides one request. Pure, so the rules are tested without a server. */
export function decideAccess(policy: AccessPolicy, request: AccessRequest): AccessDecision {
  if (policy.token === null) {
    const hostname = hostOf(request.host);
    return hostname !== undefined && isLoopback(hostname) ? 'allow' : 'forbidden-host';
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? '')?.[1];
  if (bearer !== undefined && sameToken(bearer, policy.token)) return 'allow';
  const cookie = cookieValue(request.cookie, policy.cookieName);
  if (cookie !== undefined && sameToken(cookie, policy.token)) return 'allow';
  if (request.queryToken !== null && sameToken(request.queryToken, policy.token)) return 'allow-and-set-cookie';
  return 'unauthorized';
}

/** Compares in constant time (over hashes, so lengths do not leak either). */
export function sameToken(given: string, expected: string): boolean {
  const hash = (text: string) => crypto.createHash('sha256').update(text).digest();
  return crypto.timingSafeEqual(hash(given), hash(expected));
}

function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim().toLowerCase());
  return match?.[1];
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
