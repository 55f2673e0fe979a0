// The worker's original-destination lookup: the native addon when it loads, otherwise a
// lookup that reports "not redirected" after one error log naming the reason (listeners that
// need it then route by the local address, which is what an unredirected socket has anyway).
import type * as net from 'node:net';
import type { Logger } from 'pino';
import { loadOriginalDstAddon, originalDestination } from '../platform/original-dst';
import type { OriginalDstLookup } from './worker-engine';

export function originalDstLookup(log: Logger): OriginalDstLookup {
  let failed = false;
  return (socket: net.Socket) => {
    if (failed) return null;
    try {
      loadOriginalDstAddon();
      const od = originalDestination(socket);
      return od ? { address: od.address, port: od.port } : null;
    } catch (err) {
      failed = true;
      log.error({ err: (err as Error).message }, 'original destination lookup unavailable');
      return null;
    }
  };
}
