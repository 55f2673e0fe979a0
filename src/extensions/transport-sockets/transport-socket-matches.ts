// Parse half of Cluster.transport_socket_matches (control side): each entry's name, its match
// Struct (as JSON) and its transport socket, parsed through the transport socket registry like
// the cluster's own transport_socket. The cluster translator calls this and stores the result
// in ClusterConfig; workers pick per endpoint with engine/tls/transport-socket-select.ts.
import type { ErrorSink } from '../../common/result';
import type { TransportSocketMatchConfig } from '../../config/model/tls';
import { structToJson, type Msg } from '../../config/translate/proto-util';
import type { ParseContext } from '../registry';

export function translateTransportSocketMatches(list: readonly Msg[] | null | undefined, ext: ParseContext, errors: ErrorSink, path = 'transport_socket_matches'): TransportSocketMatchConfig[] {
  const out: TransportSocketMatchConfig[] = [];
  const names = new Set<string>();
  (list ?? []).forEach((m, i) => {
    const p = `${path}[${i}]`;
    const name = String(m.name ?? '');
    if (!name) errors.add(`${p}.name`, 'must not be empty');
    else if (names.has(name)) errors.add(`${p}.name`, `duplicate transport socket match '${name}'`);
    names.add(name);
    if (!m.transportSocket) {
      errors.add(`${p}.transport_socket`, 'is required');
      return;
    }
    const ts = ext.parseNested('transport_socket', String(m.transportSocket.name ?? ''), m.transportSocket.typedConfig, false, errors, `${p}.transport_socket`);
    if (ts) out.push({ name, match: structToJson(m.match), transportSocket: ts });
  });
  return out;
}
