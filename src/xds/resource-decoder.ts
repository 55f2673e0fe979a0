// Unpacks the Any resources of one DiscoveryResponse / DeltaDiscoveryResponse for its type URL
// (STYLE 2 step 2). A wrong Any type URL, undecodable bytes or a missing name makes that one
// resource invalid, never the whole response: the client NACKs it by name and hands the good
// siblings on. Raw bytes are copied so a kept resource does not pin the whole response buffer.
// The resource message itself is decoded lazily (on first read of `message`): the name comes from
// the delta Resource or, for SotW, from field 1 of the bytes (the name of every v3 resource type
// we serve), so a re-sent unchanged resource is compared by bytes and never decoded. Bytes that
// do not decode fail that resource with the same reason when the store first reads it.
import type protobuf from 'protobufjs';
import { internString } from '../common/intern';
import { runInSlices, runToEnd } from '../common/time-slices';
import { lookupType, typeForUrl } from '../gen/proto-root';
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

/**
 * An own copy of the bytes. Buffer.from puts small ones (under 4 KiB, most xDS resources) into
 * Node's shared 8 KiB slabs instead of one ArrayBuffer each: 10,000 kept clusters cost their
 * bytes, not 10,000 ArrayBuffer objects and backing-store records on top.
 */
function copyBytes(b: Uint8Array | undefined): Uint8Array {
  return b ? Buffer.from(b) : new Uint8Array(0);
}

function decodeWith(type: protobuf.Type, raw: Uint8Array): DecodedMessage | string {
  try {
    return type.decode(raw) as unknown as DecodedMessage;
  } catch (err) {
    return `cannot decode ${type.fullName.replace(/^\./, '')}: ${(err as Error).message}`;
  }
}

/**
 * An AdsResource whose message is decoded when read, and not kept: the store reads it once, to
 * translate it, so a 10,000-resource response never holds 10,000 decoded messages at once.
 */
class LazyResource implements AdsResource {
  readonly version?: string;
  readonly name: string;
  constructor(
    name: string,
    version: string | undefined,
    readonly raw: Uint8Array,
    private readonly type: protobuf.Type,
  ) {
    // The name is kept as a Map key in the client, the store and the workers: one shared copy.
    this.name = internString(name);
    if (version !== undefined) this.version = version;
  }

  get message(): DecodedMessage {
    const m = decodeWith(this.type, this.raw);
    if (typeof m === 'string') throw Object.assign(new Error(m), { resourceError: true });
    return m;
  }
}

/**
 * Walks the top-level fields of an encoded message: calls `on(field, wire, start, valueStart,
 * end)` for each (for length-delimited fields the value is [valueStart, end); `start` is where
 * the tag begins); stop early by returning true. False when the bytes are not well-formed.
 */
function scanFields(b: Uint8Array, on: (field: number, wire: number, start: number, valueStart: number, end: number) => boolean | void): boolean {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= b.length) return -1;
      const x = b[i++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
    return -1;
  };
  while (i < b.length) {
    const start = i;
    const tag = varint();
    if (tag < 0) return false;
    const wire = tag % 8;
    let valueStart = i;
    if (wire === 2) {
      const len = varint();
      if (len < 0 || i + len > b.length) return false;
      valueStart = i;
      i += len;
    } else if (wire === 0) {
      if (varint() < 0) return false;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return false; // groups are not used by xDS messages
    if (i > b.length) return false;
    if (on(Math.floor(tag / 8), wire, start, valueStart, i)) return true;
  }
  return true;
}

/**
 * Field 1 (string) of an encoded message, read off the wire without decoding the rest: the name
 * of a Listener, RouteConfiguration, Cluster, Secret and ClusterLoadAssignment (cluster_name).
 * Undefined when absent or when the bytes are not well-formed up to it.
 */
export function peekNameField(b: Uint8Array): string | undefined {
  let name: string | undefined;
  scanFields(b, (field, wire, _start, from, to) => {
    if (field !== 1 || wire !== 2) return false;
    name = Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('utf8');
    return true;
  });
  return name;
}

/**
 * A grpc-js deserializer for DiscoveryResponse / DeltaDiscoveryResponse that leaves `resources`
 * (field 2 of both) as the bytes of each entry (an Any, or a discovery Resource) instead of
 * decoding 10,000 of them at once while the event loop waits; decodeSotwResourcesInSlices and
 * decodeDeltaResourcesInSlices decode them in time slices. The other fields decode as usual.
 */
export function shallowResponseDeserializer(type: protobuf.Type): (bytes: Buffer) => DecodedMessage {
  return (buf) => {
    const resources: Uint8Array[] = [];
    const rest: Uint8Array[] = [];
    const ok = scanFields(buf, (field, wire, start, from, to) => {
      if (field === 2 && wire === 2) resources.push(buf.subarray(from, to));
      else rest.push(buf.subarray(start, to));
    });
    if (!ok) return type.decode(buf) as unknown as DecodedMessage; // let protobufjs report it
    const m = type.decode(Buffer.concat(rest)) as unknown as DecodedMessage;
    m.resources = resources;
    return m;
  };
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
export function decodeSotwResources(typeUrl: string, anys: readonly (AnyLike | Uint8Array)[]): DecodedResources {
  return runToEnd(sotwSteps(typeUrl, anys));
}

/** decodeSotwResources in time slices; entries may still be bytes (shallowResponseDeserializer). */
export function decodeSotwResourcesInSlices(typeUrl: string, anys: readonly (AnyLike | Uint8Array)[]): Promise<DecodedResources> {
  return runInSlices(sotwSteps(typeUrl, anys));
}

/** An entry left as bytes by shallowResponseDeserializer, decoded; or why it cannot be. */
function entry<E>(e: E | Uint8Array, type: protobuf.Type): E | string {
  if (!(e instanceof Uint8Array)) return e;
  const d = decodeWith(type, e);
  return typeof d === 'string' ? d : (d as E);
}

function* sotwSteps(typeUrl: string, anys: readonly (AnyLike | Uint8Array)[]): Generator<void, DecodedResources> {
  const out: DecodedResources = { resources: [], invalid: [], presentNames: new Set() };
  const type = typeForUrl(typeUrl);
  const nameField = nameFieldFor(typeUrl);
  const seen = new Set<string>();
  const anyType = lookupType('google.protobuf.Any');
  for (let i = 0; i < anys.length; i++) {
    if (i > 0) yield;
    const label = `resources[${i}]`;
    const e = entry(anys[i]!, anyType);
    if (typeof e === 'string') {
      out.invalid.push({ name: label, reason: e });
      continue;
    }
    let any = e;
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
    let name = wrapperName ?? peekNameField(raw);
    if (!name) {
      // No name on the wire: decode to tell bad bytes from a missing name.
      const message = decodeWith(type, raw);
      if (typeof message === 'string') {
        out.invalid.push({ name: wrapperName ?? label, reason: message });
        continue;
      }
      name = message[nameField] as string | undefined;
    }
    if (name) out.presentNames.add(name);
    if (!name) {
      out.invalid.push({ name: label, reason: `missing ${nameField === 'name' ? 'name' : 'cluster_name'}` });
      continue;
    }
    addOrReject(seen, out, new LazyResource(name, version, raw, type));
  }
  return out;
}

/** Delta: DeltaDiscoveryResponse.resources (discovery.v3.Resource with name and version). */
export function decodeDeltaResources(typeUrl: string, list: readonly (ResourceLike | Uint8Array)[]): DecodedResources {
  return runToEnd(deltaSteps(typeUrl, list));
}

/** decodeDeltaResources in time slices; entries may still be bytes (shallowResponseDeserializer). */
export function decodeDeltaResourcesInSlices(typeUrl: string, list: readonly (ResourceLike | Uint8Array)[]): Promise<DecodedResources> {
  return runInSlices(deltaSteps(typeUrl, list));
}

function* deltaSteps(typeUrl: string, list: readonly (ResourceLike | Uint8Array)[]): Generator<void, DecodedResources> {
  const out: DecodedResources = { resources: [], invalid: [], presentNames: new Set() };
  const type = typeForUrl(typeUrl);
  const seen = new Set<string>();
  const wrapper = adsMessageTypes().resource;
  for (let i = 0; i < list.length; i++) {
    if (i > 0) yield;
    const r = entry(list[i]!, wrapper);
    if (typeof r === 'string') {
      out.invalid.push({ name: `resources[${i}]`, reason: r });
      continue;
    }
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
    addOrReject(seen, out, new LazyResource(name, r.version || undefined, copyBytes(any.value), type));
  }
  return out;
}
