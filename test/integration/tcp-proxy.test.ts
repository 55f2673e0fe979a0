// The built proxy as a process, a tcp_proxy listener and real loopback sockets: a 100 MiB
// transfer with checksums both ways, half-close, upstream refused, idle timeout, stats, and the
// same over two worker processes.
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { startProxy, tcpProxyBootstrap, type ProxyProcess } from '../support/proxy-process';

function listen(handler: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve) => {
    const srv = net.createServer({ allowHalfOpen: true }, handler);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;
const closed = (s: net.Server) => new Promise((r) => s.close(r));

async function statValue(p: ProxyProcess, name: string): Promise<number> {
  const r = await p.get(`/stats?filter=${encodeURIComponent(`^${name.replace(/[.|]/g, (c) => `\\${c}`)}$`)}`);
  const m = new RegExp(`^${name.replace(/[.|]/g, (c) => `\\${c}`)}: (\\d+)$`, 'm').exec(r.body);
  return m ? Number(m[1]) : NaN;
}

// The kernel splice relay serves plaintext connections when its addon is built; the JS relay
// (used for TLS and as a fallback) is run too, with MESHPROXY_DISABLE_SPLICE=1.
describe.each([
  [1, 'splice relay', {}],
  [2, 'splice relay', {}],
  [1, 'JS relay', { MESHPROXY_DISABLE_SPLICE: '1' }],
] as const)('tcp_proxy through the proxy process (--concurrency %i, %s)', (concurrency, _relay, env) => {
  let echo: net.Server;
  let proxy: ProxyProcess;
  let addr: { host: string; port: number };

  beforeAll(async () => {
    // Echo upstream that also answers a half-close with "bye" before closing its side.
    echo = await listen((s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => (s.bytesRead === 5 ? s.end('bye') : s.end()));
      s.on('error', () => {});
    });
    proxy = await startProxy(tcpProxyBootstrap(portOf(echo)), ['--concurrency', String(concurrency)], env);
    addr = await proxy.listener('tcp');
  }, 30_000);
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    await closed(echo);
  });

  it('relays 100 MiB both ways intact (sha256)', async () => {
    const total = 100 * 1024 * 1024;
    const block = randomBytes(1024 * 1024);
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(addr.port, addr.host);
      c.on('error', reject);
      c.on('data', (d) => {
        got.update(d);
        received += d.length;
        if (received === total) c.end();
      });
      c.on('close', () => resolve());
      let written = 0;
      const pump = () => {
        while (written < total) {
          sent.update(block);
          written += block.length;
          if (!c.write(block)) return void c.once('drain', pump);
        }
      };
      c.on('connect', pump);
    });
    expect(received).toBe(total);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
  }, 60_000);

  it('passes a half-close: the client FIN reaches the upstream, which still answers', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ port: addr.port, host: addr.host, allowHalfOpen: true });
      let data = '';
      c.on('data', (d) => (data += d.toString()));
      c.on('end', () => {
        c.end();
        resolve(data);
      });
      c.on('error', reject);
      c.on('connect', () => c.end('hello'));
    });
    expect(reply).toBe('hellobye');
  });

  it('counts connections and bytes in Envoy stat names', async () => {
    // Stats from workers are pulled on scrape and summed.
    expect(await statValue(proxy, 'tcp.tcp_test.downstream_cx_total')).toBeGreaterThanOrEqual(2);
    expect(await statValue(proxy, 'tcp.tcp_test.downstream_cx_rx_bytes_total')).toBeGreaterThanOrEqual(100 * 1024 * 1024 + 5);
    expect(await statValue(proxy, 'cluster.up.upstream_cx_total')).toBeGreaterThanOrEqual(2);
    expect(await statValue(proxy, 'listener.127.0.0.1_0.downstream_cx_total')).toBeGreaterThanOrEqual(2);
  });

  it('is ready the way pilot-agent checks it', async () => {
    const r = await proxy.get('/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)');
    expect(r.body).toContain('server.state: 0');
    expect(r.body).toContain('listener_manager.workers_started: 1');
    expect((await proxy.get('/ready')).body).toBe('LIVE\n');
  });
});

describe('tcp_proxy failures', () => {
  it('closes the downstream when the upstream refuses, and counts the connect failure', async () => {
    const tmp = await listen(() => {});
    const deadPort = portOf(tmp);
    await closed(tmp);
    const { mkdtempSync, readFileSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const log = join(mkdtempSync(join(tmpdir(), 'mp-al-')), 'access.log');
    const proxy = await startProxy(tcpProxyBootstrap(deadPort, { accessLogPath: log, accessLogFormat: 'flags=%RESPONSE_FLAGS% cluster=%UPSTREAM_CLUSTER%\n' }), ['--file-flush-interval-msec', '100']);
    try {
      const addr = await proxy.listener('tcp');
      const t0 = Date.now();
      const outcome = await new Promise<string>((resolve) => {
        const c = net.connect(addr.port, addr.host);
        let data = '';
        c.on('data', (d) => (data += d.toString()));
        c.on('error', (e) => resolve(`error:${(e as NodeJS.ErrnoException).code}`));
        c.on('close', () => resolve(`closed:${data}`));
      });
      expect(outcome).toMatch(/^(closed:|error:ECONNRESET)/);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await statValue(proxy, 'cluster.up.upstream_cx_connect_fail')).toBe(1);
      let text = '';
      for (let i = 0; i < 60 && !text; i++) {
        await new Promise((r) => setTimeout(r, 100));
        text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      }
      expect(text).toBe('flags=UF cluster=up\n');
    } finally {
      await proxy.stop();
    }
  });

  it('closes idle connections after idle_timeout', async () => {
    const up = await listen((s) => {
      s.on('error', () => {});
      s.on('end', () => s.end());
    });
    const proxy = await startProxy(tcpProxyBootstrap(portOf(up), { idleTimeout: '0.3s' }));
    try {
      const addr = await proxy.listener('tcp');
      const t0 = Date.now();
      await new Promise<void>((resolve) => {
        const c = net.connect(addr.port, addr.host);
        c.on('error', () => {});
        c.on('close', () => resolve());
      });
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
      expect(await statValue(proxy, 'tcp.tcp_test.idle_timeout')).toBe(1);
    } finally {
      await proxy.stop();
      await closed(up);
    }
  });
});

describe('tcp_proxy access log', () => {
  it.each([
    ['splice relay', {}, 1],
    ['JS relay', { MESHPROXY_DISABLE_SPLICE: '1' }, 1],
    // Worker processes get --file-flush-interval-msec in their WorkerInit.
    ['splice relay, 2 workers', {}, 2],
  ] as const)('writes one line per connection with bytes, upstream host and flags (%s)', async (_relay, env, workers) => {
    const { mkdtempSync, readFileSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'mp-al-'));
    const log = join(dir, 'access.log');
    const up = await listen((s) => {
      s.on('data', (d) => s.write(Buffer.concat([d, d])));
      s.on('end', () => s.end());
      s.on('error', () => {});
    });
    const fmt = '%UPSTREAM_HOST% %UPSTREAM_CLUSTER% rx=%BYTES_RECEIVED% tx=%BYTES_SENT% flags=%RESPONSE_FLAGS%\n';
    const proxy = await startProxy(tcpProxyBootstrap(portOf(up), { accessLogPath: log, accessLogFormat: fmt }), ['--file-flush-interval-msec', '100', '--concurrency', String(workers)], env);
    try {
      const addr = await proxy.listener('tcp');
      await new Promise<void>((resolve) => {
        const c = net.connect({ port: addr.port, host: addr.host, allowHalfOpen: true });
        let got = 0;
        c.on('data', (d) => (got += d.length));
        c.on('end', () => c.end());
        c.on('close', () => resolve());
        c.on('connect', () => c.end('0123456789'));
      });
      let text = '';
      for (let i = 0; i < 60 && !text.includes('\n'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      }
      expect(text).toBe(`127.0.0.1:${portOf(up)} up rx=10 tx=20 flags=-\n`);
    } finally {
      await proxy.stop();
      await closed(up);
    }
  });
});

describe('tcp_proxy backpressure', () => {
  it('stops reading from the upstream while the downstream does not read (buffer limit)', async () => {
    const total = 256 * 1024 * 1024;
    let accepted = 0;
    let upstreamSock: net.Socket | undefined;
    // The upstream writes as fast as the proxy takes bytes; `accepted` is what left its buffer.
    const up = await listen((s) => {
      upstreamSock = s;
      s.on('error', () => {});
      const chunk = Buffer.alloc(256 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    const b = tcpProxyBootstrap(portOf(up)) as { static_resources: { listeners: { per_connection_buffer_limit_bytes?: number }[] } };
    b.static_resources.listeners[0]!.per_connection_buffer_limit_bytes = 64 * 1024;
    const proxy = await startProxy(b);
    try {
      const addr = await proxy.listener('tcp');
      const c = net.connect(addr.port, addr.host);
      c.on('error', () => {});
      c.pause(); // the client does not read
      await new Promise((r) => setTimeout(r, 1500));
      accepted = upstreamSock ? upstreamSock.bytesWritten - upstreamSock.writableLength : 0;
      // Without backpressure the proxy would have pulled all 256 MiB into memory. With it, only
      // kernel socket buffers (a few MiB each on loopback) plus the 64 KiB limit are in flight.
      console.log(`backpressure: upstream got ${(accepted / 1048576).toFixed(1)} MiB out while the client did not read`);
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(48 * 1024 * 1024);
      // Reading again drains everything through.
      let got = 0;
      await new Promise<void>((resolve) => {
        c.on('data', (d) => {
          got += d.length;
          if (got >= total) resolve();
        });
        c.resume();
      });
      expect(got).toBe(total);
      c.destroy();
    } finally {
      await proxy.stop();
      upstreamSock?.destroy();
      await closed(up);
    }
  }, 60_000);
});

describe('command line', () => {
  it('rejects unknown flags and bad values with one line and exit code 1', async () => {
    const { spawnSync } = await import('node:child_process');
    const { BIN } = await import('../support/proxy-process');
    for (const [args, msg] of [
      [['--bogus'], 'unknown flag: --bogus'],
      [['-c', 'x.yaml', '--drain-time-s', 'abc'], "invalid value for --drain-time-s: 'abc' is not an integer"],
      [['-c', 'x.yaml', '-l', 'loud'], "invalid value for --log-level: 'loud'"],
      [['-c', 'x.yaml', '--drain-strategy', 'slow'], "invalid value for --drain-strategy: 'slow'"],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(msg);
    }
  });
  it('accepts the exact argv pilot-agent 1.27 uses (--mode validate)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { BIN, REPO } = await import('../support/proxy-process');
    const golden = `${REPO}/../shared/corpus/istio/bootstrap/golden/default_golden.json`;
    const argv = ['-c', golden, '--drain-time-s', '45', '--drain-strategy', 'immediate', '--local-address-ip-version', 'v4', '--file-flush-interval-msec', '1000', '--disable-hot-restart', '--allow-unknown-static-fields', '-l', 'warning', '--component-log-level', 'misc:error', '--skip-deprecated-logs', '--concurrency', '2', '--mode', 'validate'];
    const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('OK');
  });
});
