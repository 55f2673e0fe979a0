// Unit tests for the original-destination seam and its addon on real loopback sockets, without
// iptables (e2e/original-dst.test.ts covers REDIRECT inside a network namespace).
//
// A loopback connection nobody redirected has no NAT in its conntrack entry. If this network
// namespace does not track connections (no NAT or stateful rules loaded, the usual case for a
// developer machine or container), the kernel has no entry and the seam returns null. Where
// conntrack does track it (a host with NAT rules, e.g. Docker), the entry's original destination is
// the socket's own local address. Both are correct; the test accepts exactly these two answers.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import {
  connectFromSource,
  loadOriginalDstAddon,
  nativeOriginalDst,
  originalDestination,
  setSocketMark,
  setSocketTransparent,
  socketFd,
  type OriginalDestination,
} from './original-dst';
import { FakeOriginalDst } from './original-dst-fake';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasIpv6Loopback = Object.values(os.networkInterfaces()).some((addrs) => addrs?.some((a) => a.address === '::1'));

interface Pair {
  server: net.Server;
  client: net.Socket;
  accepted: net.Socket;
}

const open: Pair[] = [];

async function loopbackPair(host: string): Promise<Pair> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, host);
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  await once(client, 'connect').catch(() => undefined);
  const pair = { server, client, accepted };
  open.push(pair);
  return pair;
}

afterEach(() => {
  for (const p of open.splice(0)) {
    p.client.destroy();
    p.accepted.destroy();
    p.server.close();
  }
});

function thrown(fn: () => unknown): NodeJS.ErrnoException | undefined {
  try {
    fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  return undefined;
}

function expectNullOrLocal(dst: OriginalDestination | null, socket: net.Socket, family: 4 | 6): void {
  if (dst === null) return expect(dst).toBeNull();
  expect(dst).toEqual({ address: socket.localAddress, port: socket.localPort, family });
}

describe('original-dst addon loading', () => {
  test('the addon loads and exposes every call', () => {
    const addon = loadOriginalDstAddon();
    for (const fn of ['getOriginalDst', 'setTransparent', 'getTransparent', 'setMark', 'getMark', 'transparentSocket'] as const) {
      expect(typeof addon[fn]).toBe('function');
    }
    expect(loadOriginalDstAddon()).toBe(addon); // loaded once
  });

  test('a missing build fails loudly with the reason and the fix', () => {
    // The package's real loader, copied to a directory that has no build/ output.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orig-dst-nobuild-'));
    try {
      const pkg = path.dirname(require.resolve('meshproxy-original-dst/package.json'));
      fs.copyFileSync(path.join(pkg, 'index.js'), path.join(dir, 'index.js'));
      const error = thrown(() => require(path.join(dir, 'index.js')));
      expect(error?.code).toBe('ERR_ORIGINAL_DST_ADDON');
      expect(error?.message).toContain('original_dst.node: not built');
      expect(error?.message).toContain('npm rebuild meshproxy-original-dst');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('originalDestination on loopback without REDIRECT', () => {
  test('IPv4: null, or the local address when conntrack tracks loopback', async () => {
    const { accepted } = await loopbackPair('127.0.0.1');
    expectNullOrLocal(originalDestination(accepted), accepted, 4);
    expectNullOrLocal(nativeOriginalDst.originalDestination(accepted), accepted, 4);
  });

  (hasIpv6Loopback ? test : test.skip)('IPv6: null, or the local address when conntrack tracks loopback', async () => {
    const { accepted } = await loopbackPair('::1');
    expectNullOrLocal(originalDestination(accepted), accepted, 6);
  });

  test('sockets without an fd and fds that are not sockets throw with the reason', async () => {
    const { accepted } = await loopbackPair('127.0.0.1');
    accepted.destroy();
    expect(() => originalDestination(accepted)).toThrow(/no file descriptor/);

    const fd = fs.openSync(__filename, 'r');
    try {
      const error = thrown(() => loadOriginalDstAddon().getOriginalDst(fd));
      expect(error?.code).toBe('ENOTSOCK');
      expect(error?.syscall).toBe('getsockname');
      expect(error?.message).toMatch(/^getsockname\(fd\) failed: Socket operation on non-socket/);
    } finally {
      fs.closeSync(fd);
    }
    expect(() => loadOriginalDstAddon().getOriginalDst(-1)).toThrow(/fd must be a non-negative integer/);
  });
});

describe('socket options', () => {
  test(isRoot ? 'as root, SO_MARK and IP_TRANSPARENT are set and read back' : 'without root, setting them fails with EPERM', async () => {
    const { server, accepted } = await loopbackPair('127.0.0.1');
    const addon = loadOriginalDstAddon();
    if (isRoot) {
      setSocketMark(accepted, 1337);
      expect(addon.getMark(socketFd(accepted))).toBe(1337);
      setSocketTransparent(accepted, true);
      expect(addon.getTransparent(socketFd(accepted), 4)).toBe(true);
      setSocketTransparent(server, true);
      expect(addon.getTransparent(socketFd(server), 0)).toBe(true);
      setSocketTransparent(server, false);
      expect(addon.getTransparent(socketFd(server), 0)).toBe(false);
    } else {
      expect(thrown(() => setSocketMark(accepted, 1337))?.code).toBe('EPERM');
      expect(() => setSocketTransparent(server, true)).toThrow(/IP_TRANSPARENT\) failed/);
    }
    expect(() => setSocketMark(accepted, -1)).toThrow(/mark must be an integer/);
    expect(() => addon.setTransparent(socketFd(accepted), 5 as 4, true)).toThrow(/family must be 4, 6 or 0/);
  });
});

describe('connectFromSource (original_src upstream sockets)', () => {
  async function acceptOne(host: string): Promise<{ server: net.Server; port: number; accepted: Promise<net.Socket> }> {
    const server = net.createServer({ allowHalfOpen: true });
    server.listen(0, host);
    await once(server, 'listening');
    const accepted = once(server, 'connection').then(([s]) => s as net.Socket);
    return { server, port: (server.address() as net.AddressInfo).port, accepted };
  }

  (isRoot ? test : test.skip)('connects from the given source with SO_MARK and IP_TRANSPARENT, as net.connect would', async () => {
    const { server, port, accepted } = await acceptOne('127.0.0.1');
    const client = connectFromSource({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true }, { address: '127.0.0.2', mark: 1337 });
    try {
      expect(client.connecting).toBe(true);
      await once(client, 'connect');
      const peer = await accepted;
      expect(peer.remoteAddress).toBe('127.0.0.2');
      expect(peer.remotePort).toBe(client.localPort);
      const fd = socketFd(client);
      expect(loadOriginalDstAddon().getMark(fd)).toBe(1337);
      expect(loadOriginalDstAddon().getTransparent(fd, 0)).toBe(true);
      // Data both ways and a half-close the server side still answers after (allowHalfOpen kept).
      peer.on('data', (d: Buffer) => peer.end(`echo ${d.toString()}`));
      client.end('ping');
      const chunks: Buffer[] = [];
      client.on('data', (d: Buffer) => chunks.push(d));
      await once(client, 'end');
      expect(Buffer.concat(chunks).toString()).toBe('echo ping');
    } finally {
      client.destroy();
      server.close();
    }
  });

  (isRoot ? test : test.skip)('mark 0 sets no mark; a refused connect emits error like net.connect', async () => {
    const { server, port } = await acceptOne('127.0.0.1');
    server.close();
    await once(server, 'close');
    const client = connectFromSource({ host: '127.0.0.1', port }, { address: '127.0.0.3', mark: 0 });
    expect(loadOriginalDstAddon().getMark(socketFd(client))).toBe(0);
    const [err] = (await once(client, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });

  (isRoot && hasIpv6Loopback ? test : test.skip)('IPv6 uses IPV6_TRANSPARENT and binds the v6 source', async () => {
    const { server, port, accepted } = await acceptOne('::1');
    const client = connectFromSource({ host: '::1', port }, { address: '::1', mark: 7 });
    try {
      await once(client, 'connect');
      expect((await accepted).remoteAddress).toBe('::1');
      expect(loadOriginalDstAddon().getTransparent(socketFd(client), 6)).toBe(true);
      expect(loadOriginalDstAddon().getMark(socketFd(client))).toBe(7);
    } finally {
      client.destroy();
      server.close();
    }
  });

  test('bad arguments throw before any socket exists; without CAP_NET_ADMIN it is EPERM', () => {
    expect(() => connectFromSource({ host: '127.0.0.1', port: 1 }, { address: 'not-an-ip', mark: 0 })).toThrow(/IPv4 or IPv6 address/);
    expect(() => connectFromSource({ host: '127.0.0.1', port: 1 }, { address: '127.0.0.2', mark: -1 })).toThrow(/mark must be an integer/);
    if (!isRoot) expect(thrown(() => connectFromSource({ host: '127.0.0.1', port: 1 }, { address: '127.0.0.2', mark: 1 }))?.code).toBe('EPERM');
  });
});

describe('FakeOriginalDst', () => {
  test('answers by client source port and records socket options', async () => {
    const { server, client, accepted } = await loopbackPair('127.0.0.1');
    const dst: OriginalDestination = { address: '10.1.2.3', port: 8080, family: 4 };
    const fake = new FakeOriginalDst().redirect(client.localPort!, dst);
    expect(fake.originalDestination(accepted)).toEqual(dst);
    expect(new FakeOriginalDst().originalDestination(accepted)).toBeNull();
    expect(new FakeOriginalDst(() => dst).originalDestination(accepted)).toBe(dst);
    fake.setSocketMark(accepted, 1337);
    fake.setSocketTransparent(server, true);
    expect(fake.calls).toEqual([
      { target: accepted, option: 'mark', value: 1337 },
      { target: server, option: 'transparent', value: true },
    ]);
  });
});
