// Test double for the zero-copy relay seam (tcp-relay.ts): the same contract implemented in JS
// ('data' -> write with backpressure, half-close, one idle timer for both directions, abort),
// for tests of tcp_proxy code on machines without the addon and as the JS baseline in
// bench/tcp-relay.bench.ts. Every startRelay is recorded; `available: false` makes the seam
// report splice as unavailable so callers' fallback paths can be tested.
import type * as net from 'node:net';
import type { TcpRelayCounts, TcpRelayHandle, TcpRelayOptions, TcpRelayResult, TcpRelaySeam } from './tcp-relay';

export interface FakeRelayStart {
  readonly a: net.Socket;
  readonly b: net.Socket;
  readonly opts: TcpRelayOptions;
  readonly handle: TcpRelayHandle;
}

export class FakeTcpRelay implements TcpRelaySeam {
  readonly started: FakeRelayStart[] = [];

  constructor(private readonly available = true) {}

  spliceAvailable(): boolean {
    return this.available;
  }

  startRelay(a: net.Socket, b: net.Socket, opts: TcpRelayOptions, done: (result: TcpRelayResult) => void): TcpRelayHandle {
    if (!this.available) throw new Error('zero-copy TCP relay unavailable: fake configured as unavailable');
    const handle = new JsRelay(a, b, opts, done);
    this.started.push({ a, b, opts, handle });
    return handle;
  }
}

/** One JS relay; handlers are bound once per relay. */
class JsRelay implements TcpRelayHandle {
  private ab = 0;
  private ba = 0;
  private finished = 0; // writable sides that passed a FIN on
  private ended = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly a: net.Socket,
    private readonly b: net.Socket,
    opts: TcpRelayOptions,
    private readonly done: (result: TcpRelayResult) => void,
  ) {
    a.setTimeout(0);
    b.setTimeout(0);
    a.on('data', this.onDataA);
    b.on('data', this.onDataB);
    a.on('drain', this.onDrainA);
    b.on('drain', this.onDrainB);
    a.on('end', this.onEndA);
    b.on('end', this.onEndB);
    a.on('finish', this.onFinish);
    b.on('finish', this.onFinish);
    a.on('error', this.onErrorA);
    b.on('error', this.onErrorB);
    if (opts.idleTimeoutMs > 0) this.timer = setTimeout(this.onIdle, opts.idleTimeoutMs);
    a.resume();
    b.resume();
  }

  counts(): TcpRelayCounts {
    return { bytesAtoB: this.ab, bytesBtoA: this.ba };
  }

  abort(): void {
    this.finish('aborted');
  }

  private readonly onDataA = (chunk: Buffer): void => {
    this.ab += chunk.length;
    this.timer?.refresh();
    if (!this.b.write(chunk)) this.a.pause();
  };

  private readonly onDataB = (chunk: Buffer): void => {
    this.ba += chunk.length;
    this.timer?.refresh();
    if (!this.a.write(chunk)) this.b.pause();
  };

  private readonly onDrainA = (): void => {
    this.b.resume();
  };

  private readonly onDrainB = (): void => {
    this.a.resume();
  };

  private readonly onEndA = (): void => {
    this.b.end();
  };

  private readonly onEndB = (): void => {
    this.a.end();
  };

  private readonly onFinish = (): void => {
    if (++this.finished === 2) this.finish('closed');
  };

  private readonly onIdle = (): void => {
    this.finish('idle_timeout');
  };

  private readonly onErrorA = (err: NodeJS.ErrnoException): void => {
    this.finish('error', err, 'a');
  };

  private readonly onErrorB = (err: NodeJS.ErrnoException): void => {
    this.finish('error', err, 'b');
  };

  private finish(reason: TcpRelayResult['reason'], err?: NodeJS.ErrnoException, side?: 'a' | 'b'): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    const result: TcpRelayResult = err
      ? { bytesAtoB: this.ab, bytesBtoA: this.ba, reason, errno: err.errno, code: err.code, side }
      : { bytesAtoB: this.ab, bytesBtoA: this.ba, reason };
    try {
      this.done(result);
    } finally {
      this.a.destroy();
      this.b.destroy();
    }
  }
}
