// The control side's list of built-in extension parse halves, registered explicitly (no import
// side effects). A test checks every parser here has a runtime factory in factories.ts or is a
// declared pass-through.
import { acceptedNetworkParsers } from './accepted';
import { accessLoggerParsers } from './access-loggers';
import { httpFilterParsers } from './filters/http';
import { listenerFilterParsers } from './filters/listener';
import { transportSocketParsers } from './transport-sockets';
import { httpConnectionManagerParser } from './filters/network/http-connection-manager/config';
import { tcpProxyParser } from './filters/network/tcp-proxy/config';
import { ExtensionRegistry } from './registry';

export function builtinParsers(): ExtensionRegistry {
  const r = new ExtensionRegistry();
  r.register(tcpProxyParser);
  r.register(httpConnectionManagerParser);
  for (const p of [...acceptedNetworkParsers(), ...httpFilterParsers(), ...listenerFilterParsers(), ...transportSocketParsers(), ...accessLoggerParsers()]) r.register(p);
  return r;
}
