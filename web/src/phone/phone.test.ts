// The browser phone's state logic, with JsSIP's UA and RTCSession replaced
// by doubles at their boundary (events in, method calls out).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UAConfiguration } from 'jssip/lib/UA';
import {
  PC_CONFIG,
  RETRY_MAX_MS,
  RETRY_MIN_MS,
  audioConstraints,
  createBrowserPhone,
  resolveWsUrl,
  type CallSession,
  type UserAgent,
} from './index';

type Listener = (data?: unknown) => void;

class Emitter {
  private listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  emit(event: string, data?: unknown): void {
    for (const l of this.listeners.get(event) ?? []) l(data);
  }
}

class FakeUA extends Emitter implements UserAgent {
  registered = false;
  started = 0;
  stopped = 0;
  registers = 0;
  constructor(readonly config: UAConfiguration) {
    super();
  }
  start(): void {
    this.started += 1;
  }
  stop(): void {
    this.stopped += 1;
    this.emit('disconnected', {});
  }
  register(): void {
    this.registers += 1;
  }
  isRegistered(): boolean {
    return this.registered;
  }
}

class FakeSession extends Emitter implements CallSession {
  readonly direction = 'incoming' as const;
  connection: RTCPeerConnection | null = null;
  answered: Record<string, unknown> | null = null;
  terminated: Record<string, unknown> | undefined | null = null;
  mutes: string[] = [];
  dtmf: Array<[string, Record<string, unknown> | undefined]> = [];
  ended = false;
  answer(options: Record<string, unknown>): void {
    this.answered = options;
  }
  terminate(options?: Record<string, unknown>): void {
    this.terminated = options;
    this.ended = true;
  }
  mute(): void {
    this.mutes.push('mute');
  }
  unmute(): void {
    this.mutes.push('unmute');
  }
  sendDTMF(tones: string, options?: Record<string, unknown>): void {
    this.dtmf.push([tones, options]);
  }
  isEnded(): boolean {
    return this.ended;
  }
}

const SIP = {
  ws_url: '/v1/phone/ws',
  uri: 'sip:2001@127.0.0.1',
  username: '2001',
  password: 'secret-of-this-session',
  display_name: 'Alice Able',
  realm: 'asterisk',
};

function fakeStream(): MediaStream {
  const track = { stop: vi.fn(), kind: 'audio' };
  return { getTracks: () => [track] } as unknown as MediaStream;
}

function setup(testMode = false) {
  const uas: FakeUA[] = [];
  const played: Array<MediaStream | null> = [];
  const mic = fakeStream();
  const getUserMedia = vi.fn(async (_c: MediaStreamConstraints) => mic);
  const phone = createBrowserPhone({
    createUA: (config) => {
      const ua = new FakeUA(config);
      uas.push(ua);
      return ua;
    },
    getUserMedia,
    playRemote: (s) => played.push(s),
    location: () => ({ href: 'http://10.99.0.1:8099/?phonetest' }),
    testMode,
  });
  const ua = (): FakeUA => {
    const last = uas.at(-1);
    if (!last) throw new Error('no UA');
    return last;
  };
  return { phone, uas, ua, played, mic, getUserMedia };
}

async function ring(ua: FakeUA): Promise<FakeSession> {
  const session = new FakeSession();
  ua.emit('newRTCSession', { originator: 'remote', session });
  return session;
}

describe('resolveWsUrl', () => {
  it('resolves a path against the page, ws for http and wss for https', () => {
    expect(resolveWsUrl('/v1/phone/ws', 'http://10.99.0.1:8099/x?y')).toBe(
      'ws://10.99.0.1:8099/v1/phone/ws',
    );
    expect(resolveWsUrl('/v1/phone/ws', 'https://desk.example/')).toBe(
      'wss://desk.example/v1/phone/ws',
    );
    expect(resolveWsUrl('wss://sip.example/ws', 'http://a/')).toBe('wss://sip.example/ws');
  });
});

describe('audioConstraints', () => {
  it('turns off echo cancellation, noise suppression and gain control only in test mode', () => {
    expect(audioConstraints(false)).toEqual({ audio: true, video: false });
    expect(audioConstraints(true).audio).toEqual({
      echoCancellation: false,
      noiseSuppression: false,
      autoGainControl: false,
    });
  });
});

describe('registration', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('starts a UA with the session credentials and shows each registration state', () => {
    const { phone, ua } = setup();
    expect(phone.reg.value).toBe('off');
    phone.start(SIP);
    const config = ua().config;
    expect(config.uri).toBe(SIP.uri);
    expect(config.authorization_user).toBe('2001');
    expect(config.password).toBe(SIP.password);
    expect(config.realm).toBe('asterisk');
    expect(config.register).toBe(true);
    expect(config.session_timers).toBe(false);
    expect(ua().started).toBe(1);
    expect(phone.reg.value).toBe('registering');
    ua().emit('registered', {});
    expect(phone.reg.value).toBe('registered');
  });

  it('shows a lost transport as failed and back as registered', () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    ua().emit('registered', {});
    ua().emit('disconnected', {});
    expect(phone.reg.value).toBe('failed');
    ua().emit('registered', {});
    expect(phone.reg.value).toBe('registered');
  });

  it('registers again after a refusal, with a pause doubling up to the maximum', () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    const agent = ua();
    const waits: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      agent.emit('registrationFailed', { cause: 'Connection Error' });
      expect(phone.reg.value).toBe('failed');
      const before = agent.registers;
      let waited = 0;
      while (agent.registers === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      waits.push(waited);
    }
    expect(waits.slice(0, 3)).toEqual([RETRY_MIN_MS, RETRY_MIN_MS * 2, RETRY_MIN_MS * 4]);
    expect(Math.max(...waits)).toBe(RETRY_MAX_MS);
    agent.emit('registered', {});
    agent.emit('registrationFailed', {});
    const before = agent.registers;
    vi.advanceTimersByTime(RETRY_MIN_MS);
    expect(agent.registers).toBe(before + 1); // the pause starts over
  });

  it('stop un-registers, ends a call and shows off; a second start makes a new UA', async () => {
    const { phone, ua, uas } = setup();
    phone.start(SIP);
    ua().emit('registered', {});
    const session = await ring(ua());
    await phone.stop();
    expect(uas[0]?.stopped).toBe(1);
    expect(session.terminated).not.toBeNull();
    expect(phone.reg.value).toBe('off');
    expect(phone.incoming.value).toBe(false);
    phone.start(SIP);
    expect(uas).toHaveLength(2);
  });

  it('ignores events of a stopped UA', async () => {
    const { phone, uas, ua } = setup();
    phone.start(SIP);
    await phone.stop();
    uas[0]?.emit('registered', {});
    expect(phone.reg.value).toBe('off');
    phone.start(SIP);
    uas[0]?.emit('registrationFailed', {});
    expect(phone.reg.value).toBe('registering');
    ua().emit('registered', {});
    expect(phone.reg.value).toBe('registered');
  });
});

describe('calls', () => {
  it('rings on an incoming call; answer takes the microphone and answers with the pcConfig', async () => {
    const { phone, ua, getUserMedia, mic } = setup(true);
    phone.start(SIP);
    const session = await ring(ua());
    expect(phone.incoming.value).toBe(true);
    expect(phone.inCall.value).toBe(false);
    phone.answer();
    await vi.waitFor(() => expect(session.answered).not.toBeNull());
    expect(getUserMedia).toHaveBeenCalledWith(audioConstraints(true));
    expect(session.answered).toEqual({ mediaStream: mic, pcConfig: PC_CONFIG });
    expect(PC_CONFIG).toEqual({
      iceServers: [],
      rtcpMuxPolicy: 'require',
      bundlePolicy: 'max-bundle',
    });
    session.emit('confirmed');
    expect(phone.incoming.value).toBe(false);
    expect(phone.inCall.value).toBe(true);
    expect(phone.test?.localStream).toBe(mic);
  });

  it('plays the remote stream from the peer connection', async () => {
    const { phone, ua, played } = setup(true);
    phone.start(SIP);
    const session = await ring(ua());
    const pc = new EventTarget() as unknown as RTCPeerConnection;
    session.emit('peerconnection', { peerconnection: pc });
    const remote = fakeStream();
    const ev = Object.assign(new Event('track'), { streams: [remote], track: {} });
    pc.dispatchEvent(ev);
    expect(played).toEqual([remote]);
    expect(phone.test?.remoteStream).toBe(remote);
    expect(phone.test?.connection).toBe(pc);
    session.emit('ended', { originator: 'remote' });
    expect(played.at(-1)).toBeNull();
    expect(phone.test?.remoteStream).toBeNull();
  });

  it('refuses a second call while one rings, with 486', async () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    await ring(ua());
    const second = await ring(ua());
    expect(second.terminated).toEqual({ status_code: 486, reason_phrase: 'Busy Here' });
    expect(phone.incoming.value).toBe(true);
  });

  it('a call the other side ends, or that fails, leaves the phone idle and unmuted', async () => {
    const { phone, ua, mic } = setup();
    phone.start(SIP);
    const session = await ring(ua());
    phone.answer();
    await vi.waitFor(() => expect(session.answered).not.toBeNull());
    session.emit('confirmed');
    phone.setMuted(true);
    session.emit('ended', { originator: 'remote' });
    expect(phone.inCall.value).toBe(false);
    expect(phone.muted.value).toBe(false);
    expect(mic.getTracks()[0]?.stop).toHaveBeenCalled();
    const next = await ring(ua());
    expect(phone.incoming.value).toBe(true);
    next.emit('failed', { originator: 'remote' });
    expect(phone.incoming.value).toBe(false);
  });

  it('mutes and unmutes the microphone of the call', async () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    const session = await ring(ua());
    phone.setMuted(true);
    expect(session.mutes).toEqual([]); // nothing to mute before the call
    phone.answer();
    await vi.waitFor(() => expect(session.answered).not.toBeNull());
    session.emit('confirmed');
    phone.setMuted(true);
    expect(phone.muted.value).toBe(true);
    phone.setMuted(false);
    expect(session.mutes).toEqual(['mute', 'unmute']);
    expect(phone.muted.value).toBe(false);
  });

  it('sends DTMF as RFC 4733 (RFC2833 in JsSIP), only valid tones and only in a call', async () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    const session = await ring(ua());
    phone.sendDtmf('5');
    expect(session.dtmf).toEqual([]);
    phone.answer();
    await vi.waitFor(() => expect(session.answered).not.toBeNull());
    session.emit('confirmed');
    phone.sendDtmf('1x#');
    expect(session.dtmf).toHaveLength(1);
    expect(session.dtmf[0]?.[0]).toBe('1#');
    expect(session.dtmf[0]?.[1]).toMatchObject({ transportType: 'RFC2833' });
  });

  it('hangup rejects a ringing call and ends an answered one', async () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    const ringing = await ring(ua());
    phone.hangup();
    expect(ringing.terminated).not.toBeNull();
    expect(phone.incoming.value).toBe(false);
    const call = await ring(ua());
    phone.answer();
    await vi.waitFor(() => expect(call.answered).not.toBeNull());
    call.emit('confirmed');
    phone.hangup();
    expect(call.ended).toBe(true);
    expect(phone.inCall.value).toBe(false);
  });

  it('a microphone that cannot be had refuses the call (480)', async () => {
    const { phone, ua, getUserMedia } = setup();
    getUserMedia.mockRejectedValueOnce(new Error('NotAllowedError'));
    phone.start(SIP);
    const session = await ring(ua());
    phone.answer();
    await vi.waitFor(() => expect(session.terminated).not.toBeNull());
    expect(session.terminated).toMatchObject({ status_code: 480 });
  });

  it('names the supervision an incoming INVITE is for (SUP-5), and forgets it when the call ends', async () => {
    const { phone, ua } = setup();
    phone.start(SIP);
    const session = new FakeSession();
    const headers: Record<string, string> = { 'X-CP-Supervision': 'ab12' };
    ua().emit('newRTCSession', {
      originator: 'remote',
      session,
      request: { getHeader: (name: string) => headers[name] },
    });
    expect(phone.incomingSupervision.value).toBe('ab12');
    session.emit('ended');
    expect(phone.incomingSupervision.value).toBeNull();
    await ring(ua()); // an ordinary call names none
    expect(phone.incomingSupervision.value).toBeNull();
  });
});
