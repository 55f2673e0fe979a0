// Platform seam for the zero-copy TCP relay: once tcp_proxy has a connected downstream and
// upstream plaintext socket and nothing is left to inspect, it can hand both to the kernel, which
// moves the bytes with splice(2) through a pipe per direction on one shared epoll thread (the
// meshproxy-tcp-relay addon, native/tcp-relay). The JS relay copies every byte through a Buffer;
// this does not, and is how tcp_proxy keeps up with nginx's stream module on one stream.
//
// Hand-off, in startRelay: the sockets' fds still belong to libuv, so first libuv must stop
// reading them. socket.pause() alone does not do that (libuv keeps reading into the stream
// buffer up to the high-water mark), so the seam calls the handle's readStop() itself. Bytes Node
// already read (readableLength, unshifted bytes) are written to the other socket by JS, and every
// pending JS write is flushed, before the addon gets the fds: after that only the relay touches
// them. libuv's epoll may keep the fd registered until the next readiness event, which it then
// drops because nobody watches the fd (test/integration/tcp-relay.test.ts checks this). When the
// relay ends, the seam calls done and then destroys both sockets (done may destroy them first,
// e.g. with resetAndDestroy() to pass a reset on, as Envoy does after an error).
//
// spliceAvailable() is false when the addon is not built or not Linux; spliceUnavailableReason()
// says why. Callers that require the relay call loadTcpRelayAddon(), which throws the reason.
// tcp-relay-fake.ts is a JS implementation of the same seam for tests and comparison.
import * as net from 'node:net';
import * as tls from 'node:tls';

/** Options per relay. */
export interface TcpRelayOptions {
  /** End the relay after this long with no byte moved either way; 0 = off (Envoy's idle_timeout). */
  readonly idleTimeoutMs: number;
  /** Bytes buffered per direction (the pipe size, best effort); default 256 KiB. */
  readonly bufferBytes?: number;
}

/** Bytes delivered each way: A->B is written to B after being read from A. */
export interface TcpRelayCounts {
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
}

export type TcpRelayEndReason = 'closed' | 'idle_timeout' | 'error' | 'aborted';

/** What done() gets, once, on the JS thread. */
export interface TcpRelayResult extends TcpRelayCounts {
  /** closed: both directions saw EOF and were passed on; error: a socket error (errno/code/side). */
  readonly reason: TcpRelayEndReason;
  /** Negative errno (Node's convention) and its name, for 'error'. */
  readonly errno?: number;
  readonly code?: string;
  /** Which socket failed: 'a' or 'b'. */
  readonly side?: 'a' | 'b';
}

/** A running relay, for stats scrapes and drain. */
export interface TcpRelayHandle {
  /** Bytes delivered so far, including the bytes JS flushed at hand-off. Final once done ran. */
  counts(): TcpRelayCounts;
  /** Ends the relay now; done gets reason 'aborted' (unless it already ended). */
  abort(): void;
}

/** What tcp_proxy needs from the platform; one per process, passed in by context. */
export interface TcpRelaySeam {
  spliceAvailable(): boolean;
  /**
   * Relays a <-> b until both directions closed, an error, the idle timeout or abort(). Throws
   * synchronously, with both sockets untouched, if they cannot be handed over (TLS socket, no
   * fd, 'data' listeners attached, already ended). Afterwards the relay owns both sockets: do not
   * read, write, pause/resume or destroy them until done has run.
   */
  startRelay(a: net.Socket, b: net.Socket, opts: TcpRelayOptions, done: (result: TcpRelayResult) => void): TcpRelayHandle;
}

/** The addon's exports (native/tcp-relay/index.d.ts), restated so src/ does not type-depend on the package. */
export interface TcpRelayAddon {
  relay(
    fdA: number,
    fdB: number,
    options: { idleTimeoutMs?: number; pipeSize?: number },
    callback: (result: TcpRelayResult) => void,
  ): number;
  stats(id: number): TcpRelayCounts | null;
  abort(id: number): boolean;
  info(): { readonly active: number; readonly epollFd: number };
}

const ADDON_PACKAGE = 'meshproxy-tcp-relay';

let addon: TcpRelayAddon | undefined;
let loadError: Error | undefined;

/** Loads the addon on first call and caches the outcome, failure included; throws the reason. */
export function loadTcpRelayAddon(): TcpRelayAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    if (process.platform !== 'linux') throw new Error(`splice(2) needs Linux, this is ${process.platform}`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(ADDON_PACKAGE) as TcpRelayAddon;
    return addon;
  } catch (err) {
    const cause = err as NodeJS.ErrnoException;
    const why =
      cause.code === 'MODULE_NOT_FOUND' && String(cause.message).includes(`'${ADDON_PACKAGE}'`)
        ? `package ${ADDON_PACKAGE} is not installed; run \`npm install\` in the repository root (it is the file: dependency native/tcp-relay)`
        : cause.message;
    loadError = new Error(`zero-copy TCP relay unavailable: ${why}`, { cause });
    throw loadError;
  }
}

export function spliceAvailable(): boolean {
  try {
    loadTcpRelayAddon();
    return true;
  } catch {
    return false;
  }
}

/** Why spliceAvailable() is false, or undefined when it is true. */
export function spliceUnavailableReason(): string | undefined {
  try {
    loadTcpRelayAddon();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The libuv TCP handle's fields the hand-off uses (Node's internal TCPWrap). */
interface LibuvStreamHandle {
  fd?: number;
  reading?: boolean;
  readStop(): number;
}

function handleOf(s: net.Socket, name: string): LibuvStreamHandle {
  if (s instanceof tls.TLSSocket) throw new Error(`tcp relay: socket ${name} is a TLS socket; only plaintext sockets can be spliced`);
  const h = (s as unknown as { _handle?: LibuvStreamHandle | null })._handle;
  if (!h || typeof h.fd !== 'number' || h.fd < 0 || typeof h.readStop !== 'function') {
    throw new Error(`tcp relay: socket ${name} has no file descriptor (closed, connecting, or not a TCP socket)`);
  }
  if (s.destroyed || s.connecting) throw new Error(`tcp relay: socket ${name} is ${s.destroyed ? 'destroyed' : 'connecting'}`);
  if (s.writableEnded) throw new Error(`tcp relay: socket ${name} has already ended its writable side`);
  if (s.listenerCount('data') > 0 || s.listenerCount('readable') > 0) {
    throw new Error(`tcp relay: socket ${name} has 'data' or 'readable' listeners; remove them before the hand-off`);
  }
  return h;
}

const EMPTY = Buffer.alloc(0);

/**
 * Stops libuv reading `s` and returns what Node had already read. handle.reading is left true
 * on purpose: net.Socket's _read() only restarts libuv reads when it is false, so a stray
 * resume() or read() during the relay cannot steal bytes from the fd.
 */
function takeOver(s: net.Socket, h: LibuvStreamHandle): Buffer[] {
  s.pause();
  s.setTimeout(0);
  h.readStop();
  h.reading = true;
  const chunks: Buffer[] = [];
  for (let c: Buffer | null = s.read() as Buffer | null; c !== null; c = s.read() as Buffer | null) chunks.push(c);
  return chunks;
}

function total(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** One relay: the JS hand-off, then the addon. */
class NativeRelay implements TcpRelayHandle {
  private id = 0;
  private ended = false;
  private aborted = false;
  private final: TcpRelayCounts | undefined;

  constructor(
    private readonly addon: TcpRelayAddon,
    private readonly a: net.Socket,
    private readonly b: net.Socket,
    private readonly fdA: number,
    private readonly fdB: number,
    private readonly opts: TcpRelayOptions,
    private readonly done: (result: TcpRelayResult) => void,
    private readonly preludeAtoB: number,
    private readonly preludeBtoA: number,
  ) {}

  counts(): TcpRelayCounts {
    if (this.final) return this.final;
    const live = this.id ? this.addon.stats(this.id) : null;
    return {
      bytesAtoB: this.preludeAtoB + (live ? live.bytesAtoB : 0),
      bytesBtoA: this.preludeBtoA + (live ? live.bytesBtoA : 0),
    };
  }

  abort(): void {
    if (this.ended) return;
    if (this.id) this.addon.abort(this.id);
    else this.aborted = true; // still flushing the hand-off bytes: start() ends it instead
  }

  /** Called once JS has nothing left buffered for either socket. */
  start(flushError: NodeJS.ErrnoException | undefined, side: 'a' | 'b'): void {
    if (flushError) {
      this.finish({ bytesAtoB: 0, bytesBtoA: 0, reason: 'error', errno: flushError.errno, code: flushError.code, side });
      return;
    }
    if (this.aborted) {
      this.finish({ bytesAtoB: 0, bytesBtoA: 0, reason: 'aborted' });
      return;
    }
    try {
      this.id = this.addon.relay(
        this.fdA,
        this.fdB,
        { idleTimeoutMs: this.opts.idleTimeoutMs, pipeSize: this.opts.bufferBytes },
        this.onNativeDone,
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.finish({ bytesAtoB: 0, bytesBtoA: 0, reason: 'error', errno: e.errno, code: e.code });
    }
  }

  private readonly onNativeDone = (r: TcpRelayResult): void => {
    this.finish(r);
  };

  private finish(r: TcpRelayResult): void {
    if (this.ended) return;
    this.ended = true;
    const result: TcpRelayResult = { ...r, bytesAtoB: r.bytesAtoB + this.preludeAtoB, bytesBtoA: r.bytesBtoA + this.preludeBtoA };
    this.final = { bytesAtoB: result.bytesAtoB, bytesBtoA: result.bytesBtoA };
    try {
      this.done(result);
    } finally {
      this.a.destroy();
      this.b.destroy();
    }
  }
}

/** Waits until every write queued on `s` reached the kernel (the callback of an empty write runs after them). */
function flush(s: net.Socket, cb: (err: NodeJS.ErrnoException | undefined) => void): void {
  s.write(EMPTY, (err) => cb(err ?? undefined));
}

export function startRelay(a: net.Socket, b: net.Socket, opts: TcpRelayOptions, done: (result: TcpRelayResult) => void): TcpRelayHandle {
  const native = loadTcpRelayAddon();
  if (a === b) throw new Error('tcp relay: a and b are the same socket');
  const ha = handleOf(a, 'a');
  const hb = handleOf(b, 'b');
  const fdA = ha.fd!;
  const fdB = hb.fd!;
  const fromA = takeOver(a, ha);
  const fromB = takeOver(b, hb);
  const relay = new NativeRelay(native, a, b, fdA, fdB, opts, done, total(fromA), total(fromB));
  for (const c of fromA) b.write(c);
  for (const c of fromB) a.write(c);
  const flushA = a.writableLength > 0;
  const flushB = b.writableLength > 0;
  if (!flushA && !flushB) {
    relay.start(undefined, 'a');
    return relay;
  }
  // Some bytes are still queued in libuv: the relay may not write to that fd before they are out.
  let waiting = (flushA ? 1 : 0) + (flushB ? 1 : 0);
  let firstError: NodeJS.ErrnoException | undefined;
  let errorSide: 'a' | 'b' = 'a';
  const onFlushed = (err: NodeJS.ErrnoException | undefined, side: 'a' | 'b'): void => {
    if (err && !firstError) {
      firstError = err;
      errorSide = side;
    }
    if (--waiting === 0) relay.start(firstError, errorSide);
  };
  if (flushA) flush(a, (err) => onFlushed(err, 'a'));
  if (flushB) flush(b, (err) => onFlushed(err, 'b'));
  return relay;
}

/** The real seam, backed by the addon. */
export const nativeTcpRelay: TcpRelaySeam = { spliceAvailable, startRelay };
