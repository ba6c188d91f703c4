import { describe, expect, it } from 'vitest';
import { decideAccess, generateToken, isLoopback, type AccessRequest } from './auth.ts';

const request = (over: Partial<AccessRequest>): AccessRequest => ({ host: '127.0.0.1:18088', authorization: undefined, cookie: undefined, queryToken: null, ...over });

describe('dashboard access', () => {
  it('without a token, answers loopback host names only (no DNS rebinding)', () => {
    const open = { token: null, cookieName: 'c' };
    expect(decideAccess(open, request({}))).toBe('allow');
    expect(decideAccess(open, request({ host: 'localhost:1' }))).toBe('allow');
    expect(decideAccess(open, request({ host: '[::1]:1' }))).toBe('allow');
    expect(decideAccess(open, request({ host: 'evil.example:18088' }))).toBe('forbidden-host');
    expect(decideAccess(open, request({ host: undefined }))).toBe('forbidden-host');
  });

  it('with a token, takes it from the header, the cookie or the query (which sets the cookie)', () => {
    const token = generateToken();
    const guarded = { token, cookieName: 'sm_dashboard_1' };
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(decideAccess(guarded, request({}))).toBe('unauthorized');
    expect(decideAccess(guarded, request({ authorization: `Bearer ${token}` }))).toBe('allow');
    expect(decideAccess(guarded, request({ authorization: 'Bearer nope' }))).toBe('unauthorized');
    expect(decideAccess(guarded, request({ cookie: `a=b; sm_dashboard_1=${token}` }))).toBe('allow');
    expect(decideAccess(guarded, request({ cookie: `sm_dashboard_2=${token}` }))).toBe('unauthorized');
    expect(decideAccess(guarded, request({ queryToken: token }))).toBe('allow-and-set-cookie');
    expect(decideAccess(guarded, request({ queryToken: `${token}x` }))).toBe('unauthorized');
    // Exposed, any Host header is fine once the token is right.
    expect(decideAccess(guarded, request({ host: 'dash.internal:80', authorization: `Bearer ${token}` }))).toBe('allow');
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', 'example.com'].some(isLoopback)).toBe(false);
  });
});
