// A ring tone made with WebAudio (no audio file): two tones, 2 s on, 4 s off.

let ctx: AudioContext | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let nodes: { osc: OscillatorNode[]; gain: GainNode } | null = null;

function burst(context: AudioContext): void {
  const gain = context.createGain();
  gain.gain.value = 0;
  gain.connect(context.destination);
  const osc = [440, 480].map((hz) => {
    const o = context.createOscillator();
    o.frequency.value = hz;
    o.connect(gain);
    return o;
  });
  const t0 = context.currentTime;
  gain.gain.setValueAtTime(0, t0);
  gain.gain.linearRampToValueAtTime(0.08, t0 + 0.02);
  gain.gain.setValueAtTime(0.08, t0 + 1.95);
  gain.gain.linearRampToValueAtTime(0, t0 + 2);
  for (const o of osc) {
    o.start(t0);
    o.stop(t0 + 2.05);
  }
  nodes = { osc, gain };
}

export function startRinging(): void {
  if (timer !== null) return;
  const Ctor = globalThis.AudioContext;
  if (!Ctor) return;
  try {
    ctx ??= new Ctor();
    void ctx.resume();
    burst(ctx);
    timer = setInterval(() => ctx && burst(ctx), 6000);
  } catch {
    // no audio output: the popover still shows the offer
  }
}

export function stopRinging(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
  if (nodes) {
    for (const o of nodes.osc) {
      try {
        o.stop();
      } catch {
        // already stopped
      }
    }
    nodes.gain.disconnect();
    nodes = null;
  }
}

export function isRinging(): boolean {
  return timer !== null;
}
