// A large scrape must not stall the admin: with thousands of clusters (tens of thousands of
// stats), /stats/prometheus and /stats render on a worker thread while /ready keeps answering
// promptly. The same scrape with the thread disabled is measured for comparison (reported, not
// asserted: it depends on the machine).
import { startProxy } from '../support/proxy-process';

const CLUSTERS = 3000;

function bootstrap(): object {
  const clusters = [];
  for (let i = 0; i < CLUSTERS; i++) {
    clusters.push({ name: `c${i}`, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: `c${i}`, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] } });
  }
  return { node: { id: 'n', cluster: 'c' }, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } }, static_resources: { clusters } };
}

async function scrapeWhilePolling(p: Awaited<ReturnType<typeof startProxy>>, path: string): Promise<{ body: string; worstReadyMs: number; polls: number }> {
  let done = false;
  let worst = 0;
  let polls = 0;
  const poll = (async () => {
    while (!done) {
      const t0 = Date.now();
      const r = await p.get('/ready');
      expect(r.body).toBe('LIVE\n');
      worst = Math.max(worst, Date.now() - t0);
      polls++;
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  const r = await p.get(path);
  done = true;
  await poll;
  return { body: r.body, worstReadyMs: worst, polls };
}

it('renders big scrapes off the event loop; /ready keeps answering', async () => {
  const threaded = await startProxy(bootstrap());
  const inline = await startProxy(bootstrap(), [], { MESHPROXY_STATS_THREAD_MIN: String(Number.MAX_SAFE_INTEGER) });
  try {
    for (const p of [threaded, inline]) for (let i = 0; i < 100 && (await p.get('/ready')).body !== 'LIVE\n'; i++) await new Promise((r) => setTimeout(r, 50));
    const t = await scrapeWhilePolling(threaded, '/stats/prometheus');
    const i = await scrapeWhilePolling(inline, '/stats/prometheus');
    console.log(`scrape of ${CLUSTERS} clusters: /ready worst latency ${t.worstReadyMs} ms (${t.polls} polls) with the render thread, ${i.worstReadyMs} ms (${i.polls} polls) inline`);
    expect(t.body).toContain('envoy_cluster_membership_total{envoy_cluster_name="c2999"} 1');
    // Same content either way (values that change between scrapes aside).
    const names = (b: string) => new Set(b.split('\n').filter((l) => l.startsWith('envoy_cluster_membership_total')));
    expect(names(t.body)).toEqual(names(i.body));
    expect(t.worstReadyMs).toBeLessThan(500);
    const text = await threaded.get('/stats?filter=^cluster\\.c1\\.membership_total$');
    expect(text.body).toBe('cluster.c1.membership_total: 1\n');
  } finally {
    await threaded.stop();
    await inline.stop();
  }
}, 60_000);
