// A typed client of the control plane's REST API. The session cookie
// (HttpOnly) authenticates every call; state changes carry the CSRF token.

import type {
  AgentRecord,
  Interaction,
  Me,
  PhoneKind,
  Session,
  VariablesView,
} from './types';

export interface ErrorBody {
  status?: number;
  error_id?: string;
  message?: string;
  details?: Record<string, unknown>;
}

/** A refused or failed request: the status, the error ID, the rule that refused it. */
export class ApiError extends Error {
  readonly status: number;
  readonly errorId: string;
  readonly rule: string | null;
  readonly details: Record<string, unknown>;
  /** Seconds to wait (429 Retry-After), when the service says. */
  readonly retryAfter: number | null;

  constructor(status: number, body: ErrorBody | null, retryAfter: number | null = null) {
    super(body?.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.errorId = body?.error_id ?? (status === 0 ? 'network' : 'http-error');
    this.details = body?.details ?? {};
    const rule = this.details['rule'];
    this.rule = typeof rule === 'string' ? rule : null;
    this.retryAfter = retryAfter;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface SignIn {
  agent: string;
  password: string;
  phone: PhoneKind;
  extension?: string;
}

export class Api {
  private csrf: string | null = null;
  /** Called when a request other than sign-in is answered 401 (the session is gone). */
  onUnauthorized: (() => void) | null = null;

  constructor(
    private readonly base = '',
    private readonly fetcher: Fetch = (input, init) => fetch(input, init),
  ) {}

  setCsrfToken(token: string | null): void {
    this.csrf = token;
  }

  async request<T>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (!SAFE.has(method) && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    let resp: Response;
    try {
      resp = await this.fetcher(this.base + path, {
        method,
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { message: 'network error' });
    }
    const text = await resp.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!resp.ok) {
      const retry = resp.headers.get('Retry-After');
      const seconds = retry !== null && /^\d+$/.test(retry.trim()) ? Number(retry.trim()) : null;
      const error = new ApiError(resp.status, (data as ErrorBody | null) ?? null, seconds);
      if (resp.status === 401 && !opts.quiet401) this.onUnauthorized?.();
      throw error;
    }
    return data as T;
  }

  // Session (DSK-1) ---------------------------------------------------------------

  async signIn(req: SignIn): Promise<Session> {
    const body: Record<string, string> = { agent: req.agent, password: req.password, phone: req.phone };
    if (req.phone === 'extension' && req.extension) body['extension'] = req.extension;
    const session = await this.request<Session>('POST', '/v1/session', body, { quiet401: true });
    this.csrf = session.csrf_token;
    return session;
  }

  async currentSession(): Promise<Session> {
    const session = await this.request<Session>('GET', '/v1/session', undefined, { quiet401: true });
    this.csrf = session.csrf_token;
    return session;
  }

  async signOut(): Promise<void> {
    await this.request<unknown>('DELETE', '/v1/session');
    this.csrf = null;
  }

  me(): Promise<Me> {
    return this.request<Me>('GET', '/v1/me');
  }

  // Agent state (ST-1) -------------------------------------------------------------

  setState(agent: string, state: 'available' | 'idle', reason?: string): Promise<AgentRecord> {
    return this.request<AgentRecord>('PUT', `/v1/agents/${enc(agent)}/state`, reason ? { state, reason } : { state });
  }

  // Interaction control (DSK-4) -----------------------------------------------------

  interaction(id: string): Promise<Interaction> {
    return this.request<Interaction>('GET', `/v1/interactions/${enc(id)}`);
  }

  end(id: string): Promise<Interaction> {
    return this.request<Interaction>('POST', `/v1/interactions/${enc(id)}/end`);
  }

  hold(id: string): Promise<Interaction> {
    return this.request<Interaction>('POST', `/v1/interactions/${enc(id)}/hold`);
  }

  resume(id: string): Promise<Interaction> {
    return this.request<Interaction>('POST', `/v1/interactions/${enc(id)}/resume`);
  }

  pauseRecording(id: string): Promise<Interaction> {
    return this.request<Interaction>('POST', `/v1/interactions/${enc(id)}/recording/pause`);
  }

  resumeRecording(id: string): Promise<Interaction> {
    return this.request<Interaction>('POST', `/v1/interactions/${enc(id)}/recording/resume`);
  }

  wrapUp(id: string, reason: string): Promise<AgentRecord> {
    return this.request<AgentRecord>('POST', `/v1/interactions/${enc(id)}/wrap-up`, { reason });
  }

  // Call variables (DSK-5) ----------------------------------------------------------

  variables(id: string): Promise<VariablesView> {
    return this.request<VariablesView>('GET', `/v1/interactions/${enc(id)}/variables`);
  }

  saveVariables(
    id: string,
    edits: Record<string, { value: string | boolean | null; version: number }>,
  ): Promise<VariablesView> {
    return this.request<VariablesView>('PATCH', `/v1/interactions/${enc(id)}/variables`, { variables: edits });
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** The one client of the page. */
export const api = new Api();
