// The ConfigDumpSource the admin's /config_dump reads (admin/config-dump-source.ts), backed by
// the resource store: bootstrap as loaded, then per kind the static resources (encoded once from
// the bootstrap message) followed by every dynamic resource with its exact received bytes,
// version, update time, ACTIVE/WARMING state and last rejection (Envoy's error_state).
import type { LoadedBootstrap } from '../config/bootstrap/load-bootstrap';
import type { Msg } from '../config/translate/proto-util';
import type { ConfigDumpSource, DumpedResource, XdsKind } from '../admin/config-dump-source';
import type { ConfigStore } from '../store/config-store';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, SECRET_TYPE_URL } from '../xds/type-urls';

const TYPE_URLS: Readonly<Record<XdsKind, string>> = { lds: LISTENER_TYPE_URL, rds: ROUTE_TYPE_URL, cds: CLUSTER_TYPE_URL, eds: ENDPOINT_TYPE_URL, sds: SECRET_TYPE_URL };

/** A protobufjs message instance knows its reflected type; encoding needs no generated import. */
function encodeMessage(m: Msg): Uint8Array {
  const type = (m as { $type?: { encode(x: unknown): { finish(): Uint8Array } } }).$type;
  if (!type) throw new Error('config dump: static resource is not a protobuf message');
  return type.encode(m).finish();
}

function staticResources(loaded: LoadedBootstrap, loadedAtMs: number, field: 'listeners' | 'clusters' | 'secrets', typeUrl: string): DumpedResource[] {
  const list = ((loaded.message.staticResources?.[field] ?? []) as Msg[]).map((m) => ({
    name: String(m.name ?? ''),
    typeUrl,
    raw: encodeMessage(m),
    versionInfo: '',
    lastUpdatedMs: loadedAtMs,
    state: 'STATIC' as const,
  }));
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function createConfigDumpSource(loaded: LoadedBootstrap, loadedAtMs: number, store: () => ConfigStore | undefined): ConfigDumpSource {
  const statics: Partial<Record<XdsKind, DumpedResource[]>> = {};
  const staticOf = (kind: XdsKind): DumpedResource[] => {
    if (kind === 'lds') return (statics.lds ??= staticResources(loaded, loadedAtMs, 'listeners', LISTENER_TYPE_URL));
    if (kind === 'cds') return (statics.cds ??= staticResources(loaded, loadedAtMs, 'clusters', CLUSTER_TYPE_URL));
    if (kind === 'sds') return (statics.sds ??= staticResources(loaded, loadedAtMs, 'secrets', SECRET_TYPE_URL));
    return [];
  };
  return {
    bootstrap: () => ({ message: loaded.message, loadedAtMs }),
    resources(kind: XdsKind): readonly DumpedResource[] {
      const s = store();
      const out = [...staticOf(kind)];
      if (!s) return out;
      const dynamic: DumpedResource[] = [];
      for (const e of s.typeStore(kind).all()) {
        dynamic.push({
          name: e.name,
          typeUrl: TYPE_URLS[kind],
          raw: e.raw,
          versionInfo: e.version,
          lastUpdatedMs: e.lastUpdatedMs,
          state: s.isWarming(kind, e.name) ? 'WARMING' : 'ACTIVE',
          ...(e.lastError ? { errorState: { failedConfigurationRaw: e.lastError.raw, lastUpdateAttemptMs: e.lastError.atMs, details: e.lastError.reason, versionInfo: e.lastError.versionInfo } } : {}),
        });
      }
      dynamic.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return out.concat(dynamic);
    },
    versionInfo: (kind: XdsKind) => store()?.typeStore(kind).versionInfo ?? '',
  };
}
