// A ConfigDumpSource serving the resources of a real Envoy /config_dump (the navigator Istio
// 1.26.2 sidecar dump in ../shared/corpus): each resource is read with protojson, encoded to the
// bytes xDS would have carried, and served with the dump's own version and timestamps, so
// rendering it again must reproduce the file. Used by the admin round-trip tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protojson from 'protobufjs/ext/protojson.js';
import { lookupType, TYPE_URL_PREFIX } from '../../src/gen/proto-root';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import type { ConfigDumpSource, DumpedResource, XdsKind } from '../../src/admin/config-dump-source';

export const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'corpus');
export const NAVIGATOR_DUMP = join(CORPUS, 'navigator', 'configdump', 'envoy_config_dump.json');

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** proto3 JSON of a resource (with "@type") -> Any value bytes. */
export function encodeResource(json: J): { typeUrl: string; raw: Uint8Array; name: string } {
  const typeUrl = json['@type'] as string;
  const type = lookupType(typeUrl.slice(TYPE_URL_PREFIX.length));
  const rest: J = { ...json };
  delete rest['@type'];
  const msg = protojson.fromJson(type, rest);
  return { typeUrl, raw: type.encode(msg).finish(), name: (rest.name ?? rest.cluster_name ?? '') as string };
}

function ms(s: string | undefined): number {
  return s ? Date.parse(s) : 0;
}

export function loadDump(path = NAVIGATOR_DUMP): J {
  return JSON.parse(readFileSync(path, 'utf8')) as J;
}

export function sectionOf(dump: J, type: string): J {
  return (dump.configs as J[]).find((c) => c['@type'] === `${TYPE_URL_PREFIX}envoy.admin.v3.${type}`) ?? {};
}

export function corpusSource(dump: J = loadDump()): ConfigDumpSource {
  const res = new Map<XdsKind, DumpedResource[]>([['lds', []], ['rds', []], ['cds', []], ['eds', []], ['sds', []]]);
  const add = (kind: XdsKind, json: J, state: DumpedResource['state'], versionInfo: string | undefined, lastUpdated: string | undefined, name?: string): void => {
    const e = encodeResource(json);
    res.get(kind)!.push({ name: name ?? e.name, typeUrl: e.typeUrl, raw: e.raw, versionInfo: versionInfo ?? '', lastUpdatedMs: ms(lastUpdated), state });
  };
  const clusters = sectionOf(dump, 'ClustersConfigDump');
  for (const c of clusters.static_clusters ?? []) add('cds', c.cluster, 'STATIC', undefined, c.last_updated);
  for (const c of clusters.dynamic_active_clusters ?? []) add('cds', c.cluster, 'ACTIVE', c.version_info, c.last_updated);
  for (const c of clusters.dynamic_warming_clusters ?? []) add('cds', c.cluster, 'WARMING', c.version_info, c.last_updated);
  const listeners = sectionOf(dump, 'ListenersConfigDump');
  for (const l of listeners.static_listeners ?? []) add('lds', l.listener, 'STATIC', undefined, l.last_updated);
  for (const l of listeners.dynamic_listeners ?? []) {
    if (l.active_state) add('lds', l.active_state.listener, 'ACTIVE', l.active_state.version_info, l.active_state.last_updated);
    else if (l.warming_state) add('lds', l.warming_state.listener, 'WARMING', l.warming_state.version_info, l.warming_state.last_updated);
  }
  const routes = sectionOf(dump, 'RoutesConfigDump');
  for (const r of routes.dynamic_route_configs ?? []) add('rds', r.route_config, 'ACTIVE', r.version_info, r.last_updated);
  const secrets = sectionOf(dump, 'SecretsConfigDump');
  for (const s of secrets.static_secrets ?? []) add('sds', s.secret, 'STATIC', undefined, s.last_updated, s.name);
  for (const s of secrets.dynamic_active_secrets ?? []) add('sds', s.secret, 'ACTIVE', s.version_info, s.last_updated, s.name);
  for (const s of secrets.dynamic_warming_secrets ?? []) add('sds', s.secret, 'WARMING', s.version_info, s.last_updated, s.name);
  const boot = sectionOf(dump, 'BootstrapConfigDump');
  const bootstrap = fromProtoJson(lookupType('envoy.config.bootstrap.v3.Bootstrap'), boot.bootstrap ?? {});
  const versions: Record<XdsKind, string> = { lds: listeners.version_info ?? '', cds: clusters.version_info ?? '', rds: '', eds: '', sds: '' };
  return {
    bootstrap: () => ({ message: bootstrap, loadedAtMs: ms(boot.last_updated) }),
    resources: (kind) => res.get(kind)!,
    versionInfo: (kind) => versions[kind],
  };
}
