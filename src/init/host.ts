// The real HostFacts of the iptables init tool (src/init): what resolve.ts needs to know about
// the pod it runs in. User lookup reads /etc/passwd (as Go's os/user does without cgo),
// addresses come from the interfaces in the current network namespace, nameservers from
// /etc/resolv.conf. Read lazily, only when resolve asks. Unlike Go's net.InterfaceAddrs, Node's
// networkInterfaces() (libuv) lists only interfaces that are up and running; in a pod eth0 is.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { HostFacts } from './resolve';

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export const systemHostFacts: HostFacts = {
  lookupUid(name: string): string | null {
    const passwd = readOrNull('/etc/passwd');
    if (passwd === null) return null;
    for (const line of passwd.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length > 2 && /^[0-9]+$/.test(f[2]!)) return f[2]!;
    }
    return null;
  },
  addresses(): readonly string[] {
    const out: string[] = [];
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) out.push(a.address);
    }
    return out;
  },
  resolvConf(): string | null {
    return readOrNull('/etc/resolv.conf');
  },
};
