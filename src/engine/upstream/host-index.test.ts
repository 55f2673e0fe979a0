// HostIndex: a cluster's hosts by key, an array while small and an array plus a Map past 16.
import { HostIndex } from './host-index';
import { Host } from './upstream-host';

const host = (i: number, weight = 1) => new Host({ address: { kind: 'socket', protocol: 'TCP', address: `10.0.${i >> 8}.${i & 255}`, port: 80, ipv4Compat: false }, key: `10.0.${i >> 8}.${i & 255}:80`, hostname: '', weight, edsHealth: 'HEALTHY', priority: 0, localityKey: '', localityWeight: 0, metadata: {} });

describe('HostIndex', () => {
  it.each([5, 16, 17, 300])('%i hosts: get/has/set/delete by key, insertion order, replacement in place', (n) => {
    const idx = new HostIndex();
    const hosts = Array.from({ length: n }, (_, i) => host(i));
    for (const h of hosts) idx.set(h);
    expect(idx.size).toBe(n);
    expect([...idx]).toEqual(hosts);
    for (const h of hosts) expect(idx.get(h.key)).toBe(h);
    expect(idx.has('10.9.9.9:80')).toBe(false);
    // Same key again: replaced where it stood, not appended.
    const again = host(n - 1, 7);
    idx.set(again);
    expect(idx.size).toBe(n);
    expect(idx.get(again.key)).toBe(again);
    expect(idx.toArray()[n - 1]).toBe(again);
    expect(idx.delete(hosts[0]!.key)).toBe(true);
    expect(idx.delete(hosts[0]!.key)).toBe(false);
    expect(idx.get(hosts[0]!.key)).toBeUndefined();
    expect(idx.size).toBe(n - 1);
    const copy = idx.toArray();
    copy.pop();
    expect(idx.size).toBe(n - 1);
  });
});
