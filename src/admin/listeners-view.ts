// /listeners (text "name::address" lines) and /listeners?format=json (envoy.admin.v3.Listeners:
// listener_statuses[] with name, local_address, additional_local_addresses), printed with our
// proto3 JSON writer like Envoy's listeners_handler.cc. Admin side only.
import { lookupType } from '../gen/proto-root';
import { addressMessage } from './clusters-view';
import { messageToJson } from './proto-json-writer';

export interface ListenerStatusView {
  readonly name: string;
  /** Bound address ("ip:port", "[v6]:port", pipe path, "envoy://name/" for internal), or undefined when not bound. */
  readonly localAddress: string | undefined;
  readonly additionalLocalAddresses?: readonly string[];
}

export function fromLegacyListeners(ls: readonly { name: string; address: string | undefined }[]): ListenerStatusView[] {
  return ls.map((l) => ({ name: l.name, localAddress: l.address }));
}

export function renderListenersJson(ls: readonly ListenerStatusView[]): string {
  const msg = {
    listenerStatuses: ls.map((l) => ({
      name: l.name,
      // Unbound listeners print an empty address (callers read local_address unconditionally).
      localAddress: l.localAddress ? addressMessage(l.localAddress) : {},
      additionalLocalAddresses: (l.additionalLocalAddresses ?? []).map(addressMessage),
    })),
  };
  return JSON.stringify(messageToJson(lookupType('envoy.admin.v3.Listeners'), msg), null, 1);
}

/** Envoy prints "<name>::<local address>" per listener, additional addresses joined after it. */
export function renderListenersText(ls: readonly ListenerStatusView[]): string {
  return ls.map((l) => `${l.name}::${[l.localAddress ?? '', ...(l.additionalLocalAddresses ?? [])].join(',')}\n`).join('');
}
