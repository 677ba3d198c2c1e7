// The browser phone (PH-1, PH-2): a JsSIP user agent that registers the
// agent's WebRTC endpoint through the service's /v1/phone/ws (same origin,
// session cookie), rings on an incoming call, answers with the microphone,
// plays the remote audio, mutes, sends DTMF as RFC 4733 and hangs up.
//
// Registration is shown as it is: 'registering' until Asterisk accepts it,
// 'failed' while it is lost (transport down, refused); the phone then tries
// again with a growing pause (1 s doubling to 30 s) until it is back.
import { signal } from '@preact/signals';
import { UA, WebSocketInterface } from 'jssip';
import type { UAConfiguration } from 'jssip/lib/UA';
import type { BrowserPhone, Registration, SipCredentials } from './types';

export type { BrowserPhone, Registration, SipCredentials };

/** What the phone needs of an RTCSession (JsSIP's, or a test double). */
export interface CallSession {
  readonly direction: 'incoming' | 'outgoing';
  readonly connection: RTCPeerConnection | null | undefined;
  on(event: string, listener: (data?: unknown) => void): unknown;
  answer(options: Record<string, unknown>): void;
  terminate(options?: Record<string, unknown>): void;
  mute(options?: { audio?: boolean }): void;
  unmute(options?: { audio?: boolean }): void;
  sendDTMF(tones: string, options?: Record<string, unknown>): void;
  isEnded(): boolean;
}

/** What the phone needs of a JsSIP UA. */
export interface UserAgent {
  on(event: string, listener: (data: unknown) => void): unknown;
  start(): void;
  stop(): void;
  register(): void;
  isRegistered(): boolean;
}

export interface PhoneDeps {
  createUA(config: UAConfiguration): UserAgent;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  /** Plays the remote party (null: stop playing). */
  playRemote(stream: MediaStream | null): void;
  /** The page's location, to resolve a relative ws_url. */
  location(): { href: string };
  testMode: boolean;
}

/** Test hooks, only in test mode: the call's streams and connection. */
export interface PhoneTestHooks {
  remoteStream: MediaStream | null;
  localStream: MediaStream | null;
  connection: RTCPeerConnection | null;
  /** Ends the SIP connection as a lost network would (the UA reconnects). */
  dropTransport(): void;
}

/** The header on the INVITE of a supervisor's leg to their browser phone
 * (SUP-5): it names the interaction the supervision is for. */
export const SUPERVISION_HEADER = 'X-CP-Supervision';

/** What the phone reads of an incoming INVITE. */
export interface IncomingRequest {
  getHeader(name: string): string | undefined;
}

export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 30000;
/** PCConfig of every call: no STUN/TURN (ICE with host candidates only). */
export const PC_CONFIG: RTCConfiguration = {
  iceServers: [],
  rtcpMuxPolicy: 'require',
  bundlePolicy: 'max-bundle',
};

/** ws_url as the page must use it: a path is resolved against the page
 * (http -> ws, https -> wss). */
export function resolveWsUrl(wsUrl: string, pageHref: string): string {
  const url = new URL(wsUrl, pageHref);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.toString();
}

/** The microphone constraints: in test mode without echo cancellation,
 * noise suppression and gain control (a test tone must arrive as sent). */
export function audioConstraints(testMode: boolean): MediaStreamConstraints {
  if (!testMode) return { audio: true, video: false };
  return {
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    video: false,
  };
}

function browserDeps(): PhoneDeps {
  let audio: HTMLAudioElement | null = null;
  return {
    createUA: (config) => new UA(config) as unknown as UserAgent,
    getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c),
    playRemote(stream) {
      if (stream === null) {
        if (audio) {
          audio.pause();
          audio.srcObject = null;
        }
        return;
      }
      if (!audio) {
        audio = document.createElement('audio');
        audio.autoplay = true;
        audio.dataset['role'] = 'browser-phone-audio';
        audio.hidden = true;
        document.body.appendChild(audio);
      }
      audio.srcObject = stream;
      void audio.play().catch(() => undefined);
    },
    location: () => window.location,
    testMode: new URLSearchParams(window.location.search).has('phonetest'),
  };
}

export function createBrowserPhone(overrides: Partial<PhoneDeps> = {}): BrowserPhone & {
  test: PhoneTestHooks | null;
} {
  const deps: PhoneDeps = { ...browserDeps(), ...overrides };
  const reg = signal<Registration>('off');
  const incoming = signal(false);
  const inCall = signal(false);
  const muted = signal(false);
  const incomingSupervision = signal<string | null>(null);
  const test: PhoneTestHooks | null = deps.testMode
    ? { remoteStream: null, localStream: null, connection: null, dropTransport: () => undefined }
    : null;

  let ua: UserAgent | null = null;
  let socket: WebSocketInterface | null = null;
  let session: CallSession | null = null;
  let local: MediaStream | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let retryMs = RETRY_MIN_MS;
  let stopping: Promise<void> | null = null;

  function clearRetry(): void {
    if (retry !== null) clearTimeout(retry);
    retry = null;
  }

  function registerLater(): void {
    // (a lost transport is reconnected by JsSIP itself, which then registers)
    if (retry !== null || ua === null) return;
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    retry = setTimeout(() => {
      retry = null;
      if (ua !== null && !ua.isRegistered()) ua.register();
    }, wait);
  }

  function endCall(): void {
    session = null;
    incoming.value = false;
    inCall.value = false;
    incomingSupervision.value = null;
    muted.value = false;
    for (const track of local?.getTracks() ?? []) track.stop();
    local = null;
    deps.playRemote(null);
    if (test) {
      test.remoteStream = null;
      test.localStream = null;
      test.connection = null;
    }
  }

  function watchConnection(pc: RTCPeerConnection): void {
    if (test) test.connection = pc;
    const play = (stream: MediaStream): void => {
      if (test) test.remoteStream = stream;
      deps.playRemote(stream);
    };
    pc.addEventListener('track', (ev: RTCTrackEvent) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      play(stream);
    });
  }

  function onNewSession(data: { originator: string; session: CallSession; request?: IncomingRequest }): void {
    const s = data.session;
    if (data.originator !== 'remote') return;
    if (session !== null) {
      s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    session = s;
    incomingSupervision.value = data.request?.getHeader(SUPERVISION_HEADER) || null;
    incoming.value = true;
    s.on('peerconnection', (ev) => {
      const pc = (ev as { peerconnection?: RTCPeerConnection } | undefined)?.peerconnection;
      if (pc) watchConnection(pc);
    });
    s.on('accepted', () => {
      incoming.value = false;
      inCall.value = true;
    });
    s.on('confirmed', () => {
      incoming.value = false;
      inCall.value = true;
    });
    const over = (): void => {
      if (session === s) endCall();
    };
    s.on('ended', over);
    s.on('failed', over);
  }

  function start(sip: SipCredentials): void {
    if (ua !== null) return;
    clearRetry();
    retryMs = RETRY_MIN_MS;
    reg.value = 'registering';
    socket = new WebSocketInterface(resolveWsUrl(sip.ws_url, deps.location().href));
    const agent = deps.createUA({
      sockets: [socket],
      uri: sip.uri,
      authorization_user: sip.username,
      password: sip.password,
      display_name: sip.display_name,
      realm: sip.realm,
      register: true,
      register_expires: 300,
      session_timers: false,
      connection_recovery_min_interval: 1,
      connection_recovery_max_interval: 30,
      user_agent: 'controlplane-desktop',
    });
    ua = agent;
    agent.on('registered', () => {
      if (ua !== agent) return;
      clearRetry();
      retryMs = RETRY_MIN_MS;
      reg.value = 'registered';
    });
    agent.on('unregistered', () => {
      if (ua !== agent) return;
      reg.value = 'registering';
      registerLater();
    });
    agent.on('registrationFailed', () => {
      if (ua !== agent) return;
      reg.value = 'failed';
      registerLater();
    });
    agent.on('disconnected', () => {
      if (ua !== agent) return;
      reg.value = 'failed'; // JsSIP reconnects, then registers again
    });
    agent.on('newRTCSession', (data) =>
      onNewSession(data as { originator: string; session: CallSession; request?: IncomingRequest }),
    );
    if (test) {
      test.dropTransport = () => {
        const s = socket as unknown as { _ws?: WebSocket } | null;
        s?._ws?.close();
      };
    }
    agent.start();
  }

  async function stop(): Promise<void> {
    if (stopping) return stopping;
    clearRetry();
    const agent = ua;
    if (agent === null) {
      reg.value = 'off';
      return;
    }
    if (session !== null && !session.isEnded()) session.terminate();
    endCall();
    stopping = new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        resolve();
      };
      // JsSIP un-registers, then closes the transport
      agent.on('disconnected', finish);
      setTimeout(finish, 2000);
      agent.stop();
    });
    try {
      await stopping;
    } finally {
      ua = null;
      socket = null;
      stopping = null;
      reg.value = 'off';
    }
  }

  function answer(): void {
    const s = session;
    if (s === null || !incoming.value) return;
    void deps.getUserMedia(audioConstraints(deps.testMode)).then(
      (stream) => {
        if (session !== s || s.isEnded()) {
          for (const track of stream.getTracks()) track.stop();
          return;
        }
        local = stream;
        if (test) test.localStream = stream;
        s.answer({ mediaStream: stream, pcConfig: PC_CONFIG });
      },
      () => {
        // no microphone: the call cannot be taken on this phone
        s.terminate({ status_code: 480, reason_phrase: 'Temporarily Unavailable' });
      },
    );
  }

  function hangup(): void {
    const s = session;
    if (s === null) return;
    if (!s.isEnded()) s.terminate();
    endCall();
  }

  function setMuted(m: boolean): void {
    const s = session;
    if (s === null || !inCall.value) return;
    if (m) s.mute({ audio: true });
    else s.unmute({ audio: true });
    muted.value = m;
  }

  function sendDtmf(tones: string): void {
    const s = session;
    const valid = tones.replace(/[^0-9A-D#*,]/gi, '');
    if (s === null || !inCall.value || valid === '') return;
    s.sendDTMF(valid, { transportType: 'RFC2833', duration: 160, interToneGap: 80 });
  }

  return {
    reg,
    incoming,
    inCall,
    muted,
    incomingSupervision,
    start,
    stop,
    answer,
    hangup,
    setMuted,
    sendDtmf,
    test,
  };
}

/** The page's one browser phone. */
export const phone = createBrowserPhone();
if (phone.test) {
  (window as unknown as { cpPhone?: unknown }).cpPhone = phone;
}
