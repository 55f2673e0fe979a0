// /config_dump: builds envoy.admin.v3.ConfigDump from the resource store's read view
// (ConfigDumpSource) and prints it with our proto3 JSON writer, so every resource is printed
// from the bytes it arrived as, like Envoy does. Admin side only; never on the data path.
//
// Envoy behaviour matched (source/server/admin/config_dump_handler.cc, docs admin.rst):
// - sections in order Bootstrap, Clusters, Listeners, ScopedRoutes, Routes, Secrets, then
//   Endpoints only with ?include_eds (where Envoy 1.26+ dumps put it);
// - static_* vs dynamic_* entries; dynamic clusters/secrets split active/warming; dynamic
//   listeners carry active_state / warming_state / error_state; route configs inline in HCMs
//   (static or dynamic listeners) are listed under static_route_configs;
// - ?mask=a,b (FieldMask over each section; a section the mask does not fit is dropped, none
//   fitting -> 400 "FieldMask <mask> could not be successfully applied to any configs.");
// - ?resource=<repeated field> lists the entries of that field, each with its own @type; the
//   mask then applies per entry, reaching into the entry's Any (e.g. cluster.name); unknown ->
//   404 "<r> not found in config dump", singular -> 400 "<r> is not a repeated field...";
// - ?name_regex=<RE2> full-matches resource names (bad regex -> 400);
// - sensitive fields redacted (private keys print as base64 "[redacted]").
// With no source (server not wired yet) the dump still lists every section's @type: istioctl
// rejects `{}` ("config dump has no configuration type").
import protobuf from 'protobufjs';
import { RE2JS } from 're2js';
import { lookupType, typeForUrl, TYPE_URL_PREFIX } from '../gen/proto-root';
import type { Msg } from '../config/translate/proto-util';
import type { ConfigDumpSource, DumpedErrorState, DumpedResource, XdsKind } from './config-dump-source';
import { jsonName, messageToJson } from './proto-json-writer';

type Json = ReturnType<typeof messageToJson>;
type JsonObject = { [k: string]: Json };

export interface AdminReply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=UTF-8';

const HCM_URL = `${TYPE_URL_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const ROUTE_URL = `${TYPE_URL_PREFIX}envoy.config.route.v3.RouteConfiguration`;
const CLA_URL = `${TYPE_URL_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;

interface Section {
  /** Envoy's config tracker key (its std::map order decides ?resource= lookup order). */
  readonly key: string;
  readonly typeName: string;
  /** Plain object with protobufjs (camelCase) keys; Any as {typeUrl, value}. */
  readonly message: Msg;
}

function ts(ms: number): Msg {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round(ms - seconds * 1000) * 1e6 };
}

function any(typeUrl: string, value: Uint8Array): Msg {
  return { typeUrl, value };
}

function errorState(e: DumpedErrorState | undefined, typeUrl: string): Msg | undefined {
  if (!e) return undefined;
  return {
    failedConfiguration: e.failedConfigurationRaw ? any(typeUrl, e.failedConfigurationRaw) : undefined,
    lastUpdateAttempt: ts(e.lastUpdateAttemptMs),
    details: e.details,
    versionInfo: e.versionInfo,
  };
}

type NameMatch = (name: string) => boolean;

function resourcesOf(src: ConfigDumpSource, kind: XdsKind, match: NameMatch): readonly DumpedResource[] {
  return src.resources(kind).filter((r) => match(r.name));
}

function rejectedOf(src: ConfigDumpSource, kind: XdsKind, match: NameMatch): { name: string; errorState: DumpedErrorState }[] {
  return (src.rejected?.(kind) ?? []).filter((r) => match(r.name));
}

function bootstrapSection(src: ConfigDumpSource): Section {
  const b = src.bootstrap();
  return { key: 'bootstrap', typeName: 'envoy.admin.v3.BootstrapConfigDump', message: { bootstrap: b.message, lastUpdated: ts(b.loadedAtMs) } };
}

function clustersSection(src: ConfigDumpSource, match: NameMatch): Section {
  const m: Msg = { versionInfo: src.versionInfo('cds'), staticClusters: [], dynamicActiveClusters: [], dynamicWarmingClusters: [] };
  for (const r of resourcesOf(src, 'cds', match)) {
    const cluster = any(r.typeUrl, r.raw);
    if (r.state === 'STATIC') m.staticClusters.push({ cluster, lastUpdated: ts(r.lastUpdatedMs) });
    else (r.state === 'ACTIVE' ? m.dynamicActiveClusters : m.dynamicWarmingClusters).push({ versionInfo: r.versionInfo, cluster, lastUpdated: ts(r.lastUpdatedMs), errorState: errorState(r.errorState, r.typeUrl) });
  }
  for (const r of rejectedOf(src, 'cds', match)) m.dynamicActiveClusters.push({ errorState: errorState(r.errorState, `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`) });
  return { key: 'clusters', typeName: 'envoy.admin.v3.ClustersConfigDump', message: m };
}

function listenersSection(src: ConfigDumpSource, match: NameMatch): Section {
  const m: Msg = { versionInfo: src.versionInfo('lds'), staticListeners: [], dynamicListeners: [] };
  for (const r of resourcesOf(src, 'lds', match)) {
    const listener = any(r.typeUrl, r.raw);
    if (r.state === 'STATIC') {
      m.staticListeners.push({ listener, lastUpdated: ts(r.lastUpdatedMs) });
      continue;
    }
    const state = { versionInfo: r.versionInfo, listener, lastUpdated: ts(r.lastUpdatedMs) };
    m.dynamicListeners.push({ name: r.name, activeState: r.state === 'ACTIVE' ? state : undefined, warmingState: r.state === 'WARMING' ? state : undefined, errorState: errorState(r.errorState, r.typeUrl) });
  }
  for (const r of rejectedOf(src, 'lds', match)) m.dynamicListeners.push({ name: r.name, errorState: errorState(r.errorState, `${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`) });
  return { key: 'listeners', typeName: 'envoy.admin.v3.ListenersConfigDump', message: m };
}

/** RouteConfigurations inline in HCMs of the listeners (Envoy lists them as static route configs). */
function inlineRoutes(src: ConfigDumpSource, match: NameMatch): Msg[] {
  const out: Msg[] = [];
  const listenerType = lookupType('envoy.config.listener.v3.Listener');
  const hcmType = lookupType(HCM_URL.slice(TYPE_URL_PREFIX.length));
  const routeType = lookupType(ROUTE_URL.slice(TYPE_URL_PREFIX.length));
  for (const r of src.resources('lds')) {
    if (r.state === 'WARMING') continue;
    let listener: Msg;
    try {
      listener = listenerType.decode(r.raw) as Msg;
    } catch {
      continue;
    }
    const chains: Msg[] = [...((listener.filterChains ?? []) as Msg[]), ...(listener.defaultFilterChain ? [listener.defaultFilterChain as Msg] : [])];
    for (const chain of chains) {
      for (const f of (chain.filters ?? []) as Msg[]) {
        if (f.typedConfig?.typeUrl !== HCM_URL) continue;
        const hcm = hcmType.decode(f.typedConfig.value as Uint8Array) as Msg;
        if (!hcm.routeConfig) continue;
        if (!match((hcm.routeConfig.name as string) ?? '')) continue;
        out.push({ routeConfig: any(ROUTE_URL, routeType.encode(hcm.routeConfig).finish()), lastUpdated: ts(r.lastUpdatedMs) });
      }
    }
  }
  return out;
}

function routesSection(src: ConfigDumpSource, match: NameMatch): Section {
  const all = resourcesOf(src, 'rds', match);
  const staticOnes = all.filter((r) => r.state === 'STATIC');
  // The store may list inline route configs itself (as STATIC rds); otherwise derive them here.
  const staticRouteConfigs = staticOnes.length > 0 ? staticOnes.map((r) => ({ routeConfig: any(r.typeUrl, r.raw), lastUpdated: ts(r.lastUpdatedMs) })) : inlineRoutes(src, match);
  const dynamicRouteConfigs: Msg[] = all.filter((r) => r.state !== 'STATIC').map((r) => ({ versionInfo: r.versionInfo, routeConfig: any(r.typeUrl, r.raw), lastUpdated: ts(r.lastUpdatedMs) }));
  for (const r of rejectedOf(src, 'rds', match)) dynamicRouteConfigs.push({ errorState: errorState(r.errorState, ROUTE_URL) });
  return { key: 'routes', typeName: 'envoy.admin.v3.RoutesConfigDump', message: { staticRouteConfigs, dynamicRouteConfigs } };
}

function secretsSection(src: ConfigDumpSource, match: NameMatch): Section {
  const m: Msg = { staticSecrets: [], dynamicActiveSecrets: [], dynamicWarmingSecrets: [] };
  for (const r of resourcesOf(src, 'sds', match)) {
    const secret = any(r.typeUrl, r.raw);
    if (r.state === 'STATIC') m.staticSecrets.push({ name: r.name, lastUpdated: ts(r.lastUpdatedMs), secret });
    else (r.state === 'ACTIVE' ? m.dynamicActiveSecrets : m.dynamicWarmingSecrets).push({ name: r.name, versionInfo: r.versionInfo, lastUpdated: ts(r.lastUpdatedMs), secret, errorState: errorState(r.errorState, r.typeUrl) });
  }
  for (const r of rejectedOf(src, 'sds', match)) m.dynamicActiveSecrets.push({ name: r.name, errorState: errorState(r.errorState, `${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`) });
  return { key: 'secrets', typeName: 'envoy.admin.v3.SecretsConfigDump', message: m };
}

function endpointsSection(src: ConfigDumpSource, match: NameMatch): Section {
  // Static: load assignments of clusters that carry their own (non-EDS) endpoints.
  const clusterType = lookupType('envoy.config.cluster.v3.Cluster');
  const claType = lookupType(CLA_URL.slice(TYPE_URL_PREFIX.length));
  const staticEndpointConfigs: Msg[] = [];
  for (const r of src.resources('cds')) {
    let c: Msg;
    try {
      c = clusterType.decode(r.raw) as Msg;
    } catch {
      continue;
    }
    if (!c.loadAssignment || c.type === 3 /* EDS */) continue;
    const la = { ...c.loadAssignment, clusterName: c.loadAssignment.clusterName || c.name };
    if (!match(la.clusterName as string)) continue;
    staticEndpointConfigs.push({ endpointConfig: any(CLA_URL, claType.encode(claType.fromObject(la)).finish()), lastUpdated: ts(r.lastUpdatedMs) });
  }
  const dynamicEndpointConfigs: Msg[] = resourcesOf(src, 'eds', match).map((r) => ({ versionInfo: r.versionInfo, endpointConfig: any(r.typeUrl, r.raw), lastUpdated: ts(r.lastUpdatedMs), errorState: errorState(r.errorState, r.typeUrl) }));
  return { key: 'endpoint', typeName: 'envoy.admin.v3.EndpointsConfigDump', message: { staticEndpointConfigs, dynamicEndpointConfigs } };
}

const SECTION_TYPES = [
  'envoy.admin.v3.BootstrapConfigDump',
  'envoy.admin.v3.ClustersConfigDump',
  'envoy.admin.v3.ListenersConfigDump',
  'envoy.admin.v3.ScopedRoutesConfigDump',
  'envoy.admin.v3.RoutesConfigDump',
  'envoy.admin.v3.SecretsConfigDump',
];

function sections(src: ConfigDumpSource | undefined, match: NameMatch, includeEds: boolean): Section[] {
  if (!src) {
    const keys = ['bootstrap', 'clusters', 'listeners', 'route_scopes', 'routes', 'secrets'];
    const out = SECTION_TYPES.map((typeName, i) => ({ key: keys[i], typeName, message: {} }));
    if (includeEds) out.push({ key: 'endpoint', typeName: 'envoy.admin.v3.EndpointsConfigDump', message: {} });
    return out;
  }
  const out = [
    bootstrapSection(src),
    clustersSection(src, match),
    listenersSection(src, match),
    { key: 'route_scopes', typeName: 'envoy.admin.v3.ScopedRoutesConfigDump', message: {} },
    routesSection(src, match),
    secretsSection(src, match),
  ];
  if (includeEds) out.push(endpointsSection(src, match));
  return out;
}

function withType(typeName: string, body: Json): JsonObject {
  return { '@type': `${TYPE_URL_PREFIX}${typeName}`, ...(body as JsonObject) };
}

// ---- FieldMask -------------------------------------------------------------------------------

function fieldByProtoName(type: protobuf.Type, name: string): protobuf.Field | undefined {
  return type.fieldsArray.find((f) => jsonName(f) === name);
}

/** FieldMaskUtil::GetFieldDescriptors: every segment names a field; only the last may be repeated or a scalar. */
function maskPathValid(type: protobuf.Type, path: string): boolean {
  let t: protobuf.Type = type;
  const segs = path.split('.');
  for (let i = 0; i < segs.length; i++) {
    const f = fieldByProtoName(t, segs[i]);
    if (!f) return false;
    if (i === segs.length - 1) return true;
    f.resolve();
    if (f.repeated || f.map || !(f.resolvedType instanceof protobuf.Type)) return false;
    t = f.resolvedType;
  }
  return true;
}

interface MaskTree {
  [k: string]: MaskTree | true;
}

function maskTree(paths: readonly string[]): MaskTree {
  const tree: MaskTree = {};
  for (const p of paths) {
    let node = tree;
    const segs = p.split('.');
    segs.forEach((s, i) => {
      if (node[s] === true) return;
      if (i === segs.length - 1) node[s] = true;
      else node = (node[s] = (node[s] as MaskTree | undefined) ?? {}) as MaskTree;
    });
  }
  return tree;
}

/** TrimMessage over printed JSON: keeps the masked fields (and "@type"). */
function trimJson(json: JsonObject, tree: MaskTree): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === '@type') {
      out[k] = v;
      continue;
    }
    const t = tree[k];
    if (t === undefined) continue;
    if (t === true) out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sub = trimJson(v, t);
      if (Object.keys(sub).length > 0) out[k] = sub;
    }
  }
  return out;
}

function parseMask(mask: string): string[] {
  // FieldMaskUtil::FromString: comma-separated, empty pieces ignored.
  return mask.split(',').filter((p) => p.length > 0);
}

// ---- request handling ------------------------------------------------------------------------

function text(status: number, body: string): AdminReply {
  return { status, body, contentType: TEXT_TYPE };
}

function nameMatcher(regex: string | null): NameMatch | string {
  if (regex === null || regex === '') return () => true;
  try {
    const re = RE2JS.compile(regex);
    return (name: string) => re.matches(name);
  } catch (err) {
    return `INVALID_ARGUMENT: Error while parsing name_regex from ${regex}: ${(err as Error).message}`;
  }
}

function render(configs: Json[]): AdminReply {
  return { status: 200, body: JSON.stringify({ configs }, null, 2), contentType: JSON_TYPE };
}

/** Handles GET /config_dump with Envoy's query parameters. */
export function handleConfigDump(src: ConfigDumpSource | undefined, q: URLSearchParams): AdminReply {
  const resource = q.get('resource');
  const mask = q.get('mask');
  const includeEds = q.has('include_eds');
  const match = nameMatcher(q.get('name_regex'));
  if (typeof match === 'string') return text(400, match);
  const secs = sections(src, match, includeEds);
  if (resource !== null) return resourceDump(secs, resource, mask);

  const configs: Json[] = [];
  for (const s of secs) {
    const type = lookupType(s.typeName);
    let body = withType(s.typeName, messageToJson(type, s.message, { redact: true }));
    if (mask !== null) {
      const paths = parseMask(mask);
      if (!paths.every((p) => maskPathValid(type, p))) continue;
      body = trimJson(body, maskTree(paths));
    }
    configs.push(body);
  }
  if (configs.length === 0 && mask !== null) return text(400, `FieldMask ${mask} could not be successfully applied to any configs.`);
  return render(configs);
}

function resourceDump(secs: Section[], resource: string, mask: string | null): AdminReply {
  // Envoy walks its config trackers in key order and uses the first one with such a field.
  for (const s of [...secs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const type = lookupType(s.typeName);
    const field = fieldByProtoName(type, resource);
    if (!field) continue;
    if (!field.repeated) return text(400, `${resource} is not a repeated field. Use ?mask=${resource} to get only this field`);
    field.resolve();
    const elemType = field.resolvedType as protobuf.Type;
    const elemName = elemType.fullName.replace(/^\./, '');
    const configs: Json[] = [];
    const paths = mask !== null ? parseMask(mask) : undefined;
    for (const el of (s.message[field.name] ?? []) as Msg[]) {
      let body = withType(elemName, messageToJson(elemType, el, { redact: true }));
      if (paths) {
        const trimmed = trimEntry(elemType, body, paths);
        if (!trimmed) return text(400, `FieldMask ${paths.map((p) => `paths: "${p}"\n`).join('')} could not be successfully used.`);
        body = trimmed;
      }
      configs.push(body);
    }
    return render(configs);
  }
  return text(404, `${resource} not found in config dump`);
}

/** Envoy's trimResourceMessage: paths starting with the entry's singular Any field go inside it. */
function trimEntry(type: protobuf.Type, body: JsonObject, paths: string[]): JsonObject | undefined {
  const outer: string[] = [];
  const inner: string[] = [];
  let anyField: string | undefined;
  for (const p of paths) {
    const [head, ...rest] = p.split('.');
    const f = fieldByProtoName(type, head);
    if (f && !f.repeated && f.type.replace(/^\./, '') === 'google.protobuf.Any') {
      anyField = head;
      outer.push(head);
      if (rest.length > 0) inner.push(rest.join('.'));
    } else outer.push(p);
  }
  if (!outer.every((p) => maskPathValid(type, p))) return undefined;
  const out = trimJson(body, maskTree(outer));
  if (anyField && inner.length > 0 && out[anyField] && typeof out[anyField] === 'object') {
    const anyJson = out[anyField] as JsonObject;
    const innerType = typeForUrl(String(anyJson['@type'] ?? ''));
    if (!innerType || !inner.every((p) => maskPathValid(innerType, p))) return undefined;
    out[anyField] = trimJson(anyJson, maskTree(inner));
  }
  return out;
}
