// envoy.config.core.v3.Address and CidrRange -> model. Listener addresses must be IP literals
// (Envoy resolves nothing for listeners); cluster endpoint addresses may be hostnames for DNS
// cluster types, which the caller allows.
import { isIP } from 'node:net';
import type { ErrorSink } from '../../common/result';
import type { AddressConfig, CidrRangeConfig } from '../model/address';
import { num, wrapped, type Msg } from './proto-util';

export function translateAddress(msg: Msg | null | undefined, errors: ErrorSink, path: string, allowHostname = false): AddressConfig | undefined {
  if (!msg) {
    errors.add(path, 'address is required');
    return undefined;
  }
  if (msg.socketAddress) {
    const sa = msg.socketAddress as Msg;
    const address: string = sa.address ?? '';
    if (!address) {
      errors.add(`${path}.socket_address.address`, 'must not be empty');
      return undefined;
    }
    if (!allowHostname && isIP(address) === 0) {
      errors.add(`${path}.socket_address.address`, `'${address}' is not a valid IP address`);
      return undefined;
    }
    const port = num(sa.portValue);
    if (port < 0 || port > 65535) errors.add(`${path}.socket_address.port_value`, `port ${port} out of range`);
    return {
      kind: 'socket',
      protocol: sa.protocol === 1 || sa.protocol === 'UDP' ? 'UDP' : 'TCP',
      address,
      port,
      ipv4Compat: !!sa.ipv4Compat,
      ...(sa.namedPort ? { namedPort: String(sa.namedPort) } : {}),
    };
  }
  if (msg.pipe) {
    const p = msg.pipe as Msg;
    if (!p.path) {
      errors.add(`${path}.pipe.path`, 'must not be empty');
      return undefined;
    }
    return { kind: 'pipe', path: String(p.path), mode: num(p.mode) };
  }
  if (msg.envoyInternalAddress) {
    const ia = msg.envoyInternalAddress as Msg;
    return { kind: 'internal', serverListenerName: String(ia.serverListenerName ?? ''), endpointId: String(ia.endpointId ?? '') };
  }
  errors.add(path, 'one of socket_address, pipe or envoy_internal_address is required');
  return undefined;
}

export function translateCidr(msg: Msg, errors: ErrorSink, path: string): CidrRangeConfig | undefined {
  const prefix: string = msg.addressPrefix ?? '';
  const family = isIP(prefix);
  if (family === 0) {
    errors.add(`${path}.address_prefix`, `'${prefix}' is not a valid IP address`);
    return undefined;
  }
  const len = wrapped<number>(msg.prefixLen) ?? 0;
  const max = family === 4 ? 32 : 128;
  if (len < 0 || len > max) {
    errors.add(`${path}.prefix_len`, `${len} out of range for IPv${family}`);
    return undefined;
  }
  return { addressPrefix: prefix, prefixLen: len };
}

export function translateCidrs(list: readonly Msg[] | null | undefined, errors: ErrorSink, path: string): CidrRangeConfig[] {
  const out: CidrRangeConfig[] = [];
  (list ?? []).forEach((m, i) => {
    const c = translateCidr(m, errors, `${path}[${i}]`);
    if (c) out.push(c);
  });
  return out;
}
