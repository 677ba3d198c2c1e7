import { describe, expect, it, vi } from 'vitest';
import { Api, ApiError } from './api';

function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  return vi.fn(async (_url: string, _init?: RequestInit) =>
    new Response(body === undefined ? '' : JSON.stringify(body), { status, headers }),
  );
}

const SESSION = {
  tenant: 'acme',
  agent: 'alice',
  role: 'agent',
  name: 'Alice Able',
  csrf_token: 'tok-123',
  phone: { kind: 'extension', extension: '1001', sip: null },
};

describe('the API client', () => {
  it('sends the CSRF token on state changes only, with the cookie', async () => {
    const f = fakeFetch(200, SESSION);
    const api = new Api('', f);
    await api.signIn({ agent: 'alice', password: 'pw', phone: 'extension', extension: '1001' });
    const [, signInInit] = f.mock.calls[0]!;
    expect(JSON.parse(String(signInInit?.body))).toEqual({
      agent: 'alice',
      password: 'pw',
      phone: 'extension',
      extension: '1001',
    });
    await api.me();
    await api.hold('ix1');
    await api.setState('alice', 'idle', 'break');
    const headers = f.mock.calls.map(([, init]) => (init?.headers ?? {}) as Record<string, string>);
    expect(headers[1]!['X-CSRF-Token']).toBeUndefined(); // GET
    expect(headers[2]!['X-CSRF-Token']).toBe('tok-123'); // POST
    expect(headers[3]!['X-CSRF-Token']).toBe('tok-123'); // PUT
    for (const [, init] of f.mock.calls) expect(init?.credentials).toBe('same-origin');
    expect(f.mock.calls[3]![0]).toBe('/v1/agents/alice/state');
    expect(JSON.parse(String(f.mock.calls[3]![1]?.body))).toEqual({ state: 'idle', reason: 'break' });
  });

  it('sends no extension with the browser phone', async () => {
    const f = fakeFetch(200, SESSION);
    await new Api('', f).signIn({ agent: 'alice', password: 'pw', phone: 'browser', extension: '1001' });
    expect(JSON.parse(String(f.mock.calls[0]![1]?.body))).toEqual({ agent: 'alice', password: 'pw', phone: 'browser' });
  });

  it('maps an error body to an ApiError naming the rule', async () => {
    const api = new Api(
      '',
      fakeFetch(409, {
        status: 409,
        error_id: 'invalid-state-transition',
        message: 'a held call cannot be ended: resume it first',
        details: { rule: 'END-1', held: true },
      }),
    );
    const error = await api.end('ix1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const e = error as ApiError;
    expect(e.status).toBe(409);
    expect(e.rule).toBe('END-1');
    expect(e.errorId).toBe('invalid-state-transition');
    expect(e.details['held']).toBe(true);
    expect(e.message).toContain('held');
  });

  it('reads Retry-After of a throttled sign-in', async () => {
    const api = new Api('', fakeFetch(429, { status: 429, error_id: 'throttled', message: 'slow down', details: {} }, { 'Retry-After': '17' }));
    const e = (await api.signIn({ agent: 'a', password: 'b', phone: 'browser' }).catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(429);
    expect(e.retryAfter).toBe(17);
  });

  it('reports a lost session, but not a failed sign-in', async () => {
    const f = fakeFetch(401, { status: 401, error_id: 'unauthorized', message: 'no', details: {} });
    const api = new Api('', f);
    const lost = vi.fn();
    api.onUnauthorized = lost;
    await api.signIn({ agent: 'a', password: 'b', phone: 'browser' }).catch(() => undefined);
    expect(lost).not.toHaveBeenCalled();
    await api.me().catch(() => undefined);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('turns a network failure into status 0', async () => {
    const api = new Api('', vi.fn(async () => Promise.reject(new TypeError('failed to fetch'))));
    const e = (await api.me().catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(0);
    expect(e.errorId).toBe('network');
  });
});
