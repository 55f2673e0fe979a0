// Integration tests for the zero-copy TCP relay seam (src/platform/tcp-relay.ts and the
// meshproxy-tcp-relay addon) on real loopback sockets, laid out as tcp_proxy would use it:
//
//   client ──> [a   relay   b] ──> server
//        (loopback pair 1)  (loopback pair 2)
//
// a is the accepted downstream socket, b the connected upstream socket. The same contract suite
// runs against the JS fake (tcp-relay-fake.ts) so both implementations agree.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { loadTcpRelayAddon, nativeTcpRelay, spliceAvailable, type TcpRelayResult, type TcpRelaySeam } from '../../src/platform/tcp-relay';
import { FakeTcpRelay } from '../../src/platform/tcp-relay-fake';

const MiB = 1024 * 1024;

interface Chain {
  client: net.Socket;
  a: net.Socket;
  b: net.Socket;
  server: net.Socket;
}

const opened: net.Socket[] = [];

async function loopbackPair(): Promise<[net.Socket, net.Socket]> {
  const srv = net.createServer({ allowHalfOpen: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const connecting = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const [[accepted]] = await Promise.all([once(srv, 'connection') as Promise<[net.Socket]>, once(connecting, 'connect')]);
  srv.close();
  for (const s of [connecting, accepted]) {
    s.on('error', () => undefined); // asserted through the relay result, not thrown
    opened.push(s);
  }
  return [connecting, accepted];
}

async function chain(): Promise<Chain> {
  const [client, a] = await loopbackPair();
  const [b, server] = await loopbackPair();
  a.pause(); // as tcp_proxy does at accept, before the upstream connects
  return { client, a, b, server };
}

afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

function relayed(seam: TcpRelaySeam, c: Chain, idleTimeoutMs = 0): { done: Promise<TcpRelayResult>; handle: ReturnType<TcpRelaySeam['startRelay']> } {
  let resolve!: (r: TcpRelayResult) => void;
  const done = new Promise<TcpRelayResult>((r) => (resolve = r));
  const handle = seam.startRelay(c.a, c.b, { idleTimeoutMs }, resolve);
  return { done, handle };
}

/** Sends `total` bytes of a repeating random block, then FIN; resolves with the sha256. */
function send(s: net.Socket, total: number, block: Buffer): Promise<string> {
  const h = createHash('sha256');
  return new Promise((resolve, reject) => {
    let sent = 0;
    const more = (): void => {
      while (sent < total) {
        const chunk = block.subarray(0, Math.min(block.length, total - sent));
        sent += chunk.length;
        h.update(chunk);
        if (!s.write(chunk)) return void s.once('drain', more);
      }
      s.end(() => resolve(h.digest('hex')));
    };
    s.once('error', reject);
    more();
  });
}

/** Reads until EOF; resolves with the byte count and sha256. */
function receive(s: net.Socket): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve) => {
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    let sha: string | undefined;
    const finish = (): void => resolve({ bytes, sha: (sha ??= h.digest('hex')) });
    s.once('end', finish);
    s.once('close', finish);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

/** Every (epoll fd, watched fd, inode) in this process, from /proc/self/fdinfo. */
function epollWatches(): { epfd: number; tfd: number; ino: string }[] {
  const out: { epfd: number; tfd: number; ino: string }[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    if (!target.includes('eventpoll')) continue;
    let info = '';
    try {
      info = fs.readFileSync(`/proc/self/fdinfo/${name}`, 'utf8');
    } catch {
      continue;
    }
    for (const m of info.matchAll(/^tfd:\s+(\d+)\s+events:\s+\S+\s+data:\s+\S+\s+pos:\S+\s+ino:(\S+)/gm)) {
      out.push({ epfd: Number(name), tfd: Number(m[1]), ino: m[2]! });
    }
  }
  return out;
}

it('the addon is built and loads (the native suite below needs it)', () => {
  expect(spliceAvailable()).toBe(true);
  expect(typeof loadTcpRelayAddon().relay).toBe('function');
});

describe.each([
  ['native splice relay', nativeTcpRelay, 100 * MiB],
  ['JS fake', new FakeTcpRelay(), 8 * MiB],
] as const)('%s', (_name, seam, bigBytes) => {
  it(`moves ${bigBytes / MiB} MiB each way at once, intact, with exact counts`, async () => {
    const c = await chain();
    const { done } = relayed(seam, c);
    const block = randomBytes(MiB);
    const toServer = receive(c.server);
    const toClient = receive(c.client);
    const [upSha, downSha] = await Promise.all([send(c.client, bigBytes, block), send(c.server, bigBytes, Buffer.from(block).reverse())]);
    const [atServer, atClient, result] = await withTimeout(Promise.all([toServer, toClient, done]), 30000, 'transfer');
    expect(atServer).toEqual({ bytes: bigBytes, sha: upSha });
    expect(atClient).toEqual({ bytes: bigBytes, sha: downSha });
    expect(result).toEqual({ bytesAtoB: bigBytes, bytesBtoA: bigBytes, reason: 'closed' });
  });

  it('half-close from the client: the server still answers after the FIN', async () => {
    const c = await chain();
    const { done } = relayed(seam, c);
    const atServer = receive(c.server);
    c.client.end('request');
    expect((await atServer).bytes).toBe(7); // the FIN reached the server
    const atClient = receive(c.client);
    c.server.end('response after FIN');
    expect((await atClient).bytes).toBe(18);
    expect(await done).toEqual({ bytesAtoB: 7, bytesBtoA: 18, reason: 'closed' });
  });

  it('half-close from the server: the client still sends after the FIN', async () => {
    const c = await chain();
    const { done } = relayed(seam, c);
    const atClient = receive(c.client);
    c.server.end('bye');
    expect((await atClient).bytes).toBe(3);
    const atServer = receive(c.server);
    c.client.end('late upload');
    expect((await atServer).bytes).toBe(11);
    expect(await done).toEqual({ bytesAtoB: 11, bytesBtoA: 3, reason: 'closed' });
  });

  it('ends on the idle timeout, and traffic either way resets it', async () => {
    const c = await chain();
    const started = Date.now();
    const { done } = relayed(seam, c, 500);
    c.server.resume();
    const clientEnded = once(c.client.resume(), 'end');
    // Keep it busy for ~600 ms (more than the timeout), alternating directions.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 100));
      (i % 2 ? c.server : c.client).write('x');
    }
    const result = await withTimeout(done, 5000, 'idle timeout');
    const elapsed = Date.now() - started;
    expect(result.reason).toBe('idle_timeout');
    expect(result.bytesAtoB + result.bytesBtoA).toBe(6);
    expect(elapsed).toBeGreaterThanOrEqual(1050); // 600 ms of traffic + 500 ms idle, minus coarse-clock slack
    expect(elapsed).toBeLessThan(4000);
    await withTimeout(clientEnded, 2000, 'downstream closed after idle timeout');
  });

  it('a peer reset ends the relay with an error on that side', async () => {
    const c = await chain();
    const { done } = relayed(seam, c);
    c.client.write('hello');
    await once(c.server, 'data');
    c.server.resetAndDestroy();
    const result = await withTimeout(done, 5000, 'reset');
    expect(result.reason).toBe('error');
    expect(result.side).toBe('b');
    expect(['ECONNRESET', 'EPIPE']).toContain(result.code);
    expect(result.bytesAtoB).toBe(5);
  });

  it('abort() ends a live relay at once and closes both sockets', async () => {
    const c = await chain();
    const { done, handle } = relayed(seam, c);
    c.client.write('0123456789');
    await once(c.server, 'data');
    expect(handle.counts()).toEqual({ bytesAtoB: 10, bytesBtoA: 0 });
    const closed = Promise.all([once(c.client.resume(), 'end'), once(c.server.resume(), 'end')]);
    handle.abort();
    expect(await withTimeout(done, 5000, 'abort')).toEqual({ bytesAtoB: 10, bytesBtoA: 0, reason: 'aborted' });
    await withTimeout(closed, 5000, 'peers see the close');
    expect(handle.counts()).toEqual({ bytesAtoB: 10, bytesBtoA: 0 });
  });
});

describe('native splice relay', () => {
  it('runs 200 relays at once, 1 MiB each way apiece, on the one shared thread', async () => {
    const N = 200;
    const block = randomBytes(MiB);
    const chains: Chain[] = [];
    for (let i = 0; i < N; i++) chains.push(await chain());
    const results = await withTimeout(
      Promise.all(
        chains.map(async (c) => {
          const { done } = relayed(nativeTcpRelay, c);
          const up = receive(c.server);
          const down = receive(c.client);
          const [upSha, downSha] = await Promise.all([send(c.client, MiB, block), send(c.server, MiB, block)]);
          const [u, d, r] = await Promise.all([up, down, done]);
          return u.sha === upSha && d.sha === downSha ? r : { ...r, reason: 'corrupt' };
        }),
      ),
      30000,
      '200 relays',
    );
    expect(results.every((r) => r.reason === 'closed' && r.bytesAtoB === MiB && r.bytesBtoA === MiB)).toBe(true);
    expect(loadTcpRelayAddon().info().active).toBe(0);
  });

  it('delivers bytes Node had already read, and unshifted bytes, first and in order', async () => {
    const c = await chain();
    c.client.write('already-read|');
    await new Promise((r) => setTimeout(r, 50));
    c.a.resume();
    const [first] = (await once(c.a, 'data')) as [Buffer]; // JS read it, as a sniffing listener filter would
    c.a.pause();
    c.a.removeAllListeners('data');
    c.a.unshift(first);
    c.server.write('early-from-upstream|'); // a connected socket reads at once: this lands in b's buffer
    await new Promise((r) => setTimeout(r, 50));
    expect(c.b.readableLength).toBe(20);
    const { done } = relayed(nativeTcpRelay, c);
    const atServer = receive(c.server);
    const atClient = receive(c.client);
    c.client.end('after-hand-off');
    c.server.end('after-hand-off');
    const chunksServer: Buffer[] = [];
    c.server.on('data', (d: Buffer) => chunksServer.push(d));
    const chunksClient: Buffer[] = [];
    c.client.on('data', (d: Buffer) => chunksClient.push(d));
    await Promise.all([atServer, atClient]);
    expect(Buffer.concat(chunksServer).toString()).toBe('already-read|after-hand-off');
    expect(Buffer.concat(chunksClient).toString()).toBe('early-from-upstream|after-hand-off');
    expect(await done).toEqual({ bytesAtoB: 27, bytesBtoA: 34, reason: 'closed' });
  });

  it('libuv stops polling the fds for reading while the relay owns them', async () => {
    const c = await chain();
    const fdA = (c.a as unknown as { _handle: { fd: number } })._handle.fd;
    const fdB = (c.b as unknown as { _handle: { fd: number } })._handle.fd;
    const inoA = String(fs.fstatSync(fdA).ino.toString(16));
    const inoB = String(fs.fstatSync(fdB).ino.toString(16));
    const { done, handle } = relayed(nativeTcpRelay, c);
    let jsSaw = 0;
    for (const s of [c.a, c.b]) s.on('data', () => jsSaw++);
    const ours = loadTcpRelayAddon().info().epollFd;
    // Some traffic both ways: libuv's epoll drops the fds on their first event after readStop.
    for (let i = 0; i < 3; i++) {
      c.client.write('ping');
      await once(c.server, 'data');
      c.server.write('pong');
      await once(c.client, 'data');
    }
    // The relay watches its own dups of the fds; no other epoll (libuv's) may watch the sockets.
    const watches = epollWatches();
    const watchers = (ino: string) => watches.filter((w) => w.ino === ino).map((w) => w.epfd);
    expect(watchers(inoA)).toEqual([ours]);
    expect(watchers(inoB)).toEqual([ours]);
    expect(watches.some((w) => w.tfd === fdA || w.tfd === fdB)).toBe(false);
    expect(jsSaw).toBe(0);
    expect(c.a.readableLength + c.b.readableLength).toBe(0);
    handle.abort();
    expect((await done).reason).toBe('aborted');
    // Ended relays leave nothing behind in the relay's epoll either.
    expect(epollWatches().filter((w) => (w.ino === inoA || w.ino === inoB) && w.epfd === ours)).toEqual([]);
  });

  it('refuses sockets it cannot take over, leaving them untouched', async () => {
    const c = await chain();
    c.a.on('data', () => undefined);
    expect(() => nativeTcpRelay.startRelay(c.a, c.b, { idleTimeoutMs: 0 }, () => undefined)).toThrow(/'data' or 'readable' listeners/);
    c.a.removeAllListeners('data');
    expect(() => nativeTcpRelay.startRelay(c.a, c.a, { idleTimeoutMs: 0 }, () => undefined)).toThrow(/same socket/);
    c.b.destroy();
    expect(() => nativeTcpRelay.startRelay(c.a, c.b, { idleTimeoutMs: 0 }, () => undefined)).toThrow(/no file descriptor|destroyed/);
    // a is still a normal socket: JS can read from it.
    c.client.write('still mine');
    c.a.resume();
    const [d] = (await once(c.a, 'data')) as [Buffer];
    expect(d.toString()).toBe('still mine');
  });
});
