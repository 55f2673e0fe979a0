// Unpacks the Any resources of one DiscoveryResponse / DeltaDiscoveryResponse for its type URL
// (STYLE 2 step 2). A wrong Any type URL, undecodable bytes or a missing name makes that one
// resource invalid, never the whole response: the client NACKs it by name and hands the good
// siblings on. Raw bytes are copied so a kept resource does not pin the whole response buffer.
import type protobuf from 'protobufjs';
import { typeForUrl } from '../gen/proto-root';
import { adsMessageTypes } from './ads-grpc';
import type { AdsResource, DecodedMessage } from './ads-types';
import type { ResourceError } from './nack-message';
import { nameFieldFor, RESOURCE_WRAPPER_TYPE_URL } from './type-urls';

export interface DecodedResources {
  readonly resources: AdsResource[];
  readonly invalid: ResourceError[];
  /** Every resource name the response carried, valid or not (SotW deletion-by-absence). */
  readonly presentNames: Set<string>;
}

interface AnyLike {
  typeUrl?: string;
  value?: Uint8Array;
}

interface ResourceLike {
  name?: string;
  version?: string;
  resource?: AnyLike | null;
}

function copyBytes(b: Uint8Array | undefined): Uint8Array {
  return b ? new Uint8Array(b) : new Uint8Array(0);
}

function decodeWith(type: protobuf.Type, raw: Uint8Array): DecodedMessage | string {
  try {
    return type.decode(raw) as unknown as DecodedMessage;
  } catch (err) {
    return `cannot decode ${type.fullName.replace(/^\./, '')}: ${(err as Error).message}`;
  }
}

/** Tracks names seen in one response so a duplicate is rejected like Envoy does. */
function addOrReject(seen: Set<string>, out: DecodedResources, res: AdsResource): void {
  if (seen.has(res.name)) {
    out.invalid.push({ name: res.name, reason: 'duplicate resource name in one response' });
    return;
  }
  seen.add(res.name);
  out.resources.push(res);
}

/** SotW: DiscoveryResponse.resources (Any, optionally wrapped in discovery.v3.Resource). */
export function decodeSotwResources(typeUrl: string, anys: readonly AnyLike[]): DecodedResources {
  const out: DecodedResources = { resources: [], invalid: [], presentNames: new Set() };
  const type = typeForUrl(typeUrl);
  const nameField = nameFieldFor(typeUrl);
  const seen = new Set<string>();
  for (let i = 0; i < anys.length; i++) {
    const label = `resources[${i}]`;
    let any = anys[i]!;
    let version: string | undefined;
    let wrapperName: string | undefined;
    if (any.typeUrl === RESOURCE_WRAPPER_TYPE_URL) {
      const w = decodeWith(adsMessageTypes().resource, copyBytes(any.value));
      if (typeof w === 'string') {
        out.invalid.push({ name: label, reason: w });
        continue;
      }
      const wr = w as ResourceLike;
      wrapperName = wr.name || undefined;
      version = wr.version || undefined;
      if (wrapperName) out.presentNames.add(wrapperName);
      if (!wr.resource) {
        out.invalid.push({ name: wrapperName ?? label, reason: 'Resource wrapper without a resource' });
        continue;
      }
      any = wr.resource;
    }
    if (any.typeUrl !== typeUrl) {
      out.invalid.push({ name: wrapperName ?? label, reason: `resource type ${any.typeUrl ?? '(none)'} does not match response type ${typeUrl}` });
      continue;
    }
    if (!type) {
      out.invalid.push({ name: wrapperName ?? label, reason: `unknown resource type ${typeUrl}` });
      continue;
    }
    const raw = copyBytes(any.value);
    const message = decodeWith(type, raw);
    if (typeof message === 'string') {
      out.invalid.push({ name: wrapperName ?? label, reason: message });
      continue;
    }
    const name = wrapperName ?? (message[nameField] as string | undefined);
    if (name) out.presentNames.add(name);
    if (!name) {
      out.invalid.push({ name: label, reason: `missing ${nameField === 'name' ? 'name' : 'cluster_name'}` });
      continue;
    }
    addOrReject(seen, out, version === undefined ? { name, raw, message } : { name, version, raw, message });
  }
  return out;
}

/** Delta: DeltaDiscoveryResponse.resources (discovery.v3.Resource with name and version). */
export function decodeDeltaResources(typeUrl: string, list: readonly ResourceLike[]): DecodedResources {
  const out: DecodedResources = { resources: [], invalid: [], presentNames: new Set() };
  const type = typeForUrl(typeUrl);
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    const name = r.name || `resources[${i}]`;
    if (r.name) out.presentNames.add(r.name);
    if (!r.name) {
      out.invalid.push({ name, reason: 'missing name' });
      continue;
    }
    const any = r.resource;
    if (!any) {
      out.invalid.push({ name, reason: 'missing resource' });
      continue;
    }
    if (any.typeUrl !== typeUrl) {
      out.invalid.push({ name, reason: `resource type ${any.typeUrl ?? '(none)'} does not match response type ${typeUrl}` });
      continue;
    }
    if (!type) {
      out.invalid.push({ name, reason: `unknown resource type ${typeUrl}` });
      continue;
    }
    const raw = copyBytes(any.value);
    const message = decodeWith(type, raw);
    if (typeof message === 'string') {
      out.invalid.push({ name, reason: message });
      continue;
    }
    addOrReject(seen, out, r.version ? { name, version: r.version, raw, message } : { name, raw, message });
  }
  return out;
}
