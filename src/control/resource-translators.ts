// The translators the resource store runs on each xDS resource (STYLE 2 step 3), built from
// config/translate with the built-in extension parse halves. Lives on the control side so
// store/ never imports translate/ or the generated protos: the store only sees
// message -> Result<model value> functions.
import { internString } from '../common/intern';
import { ErrorSink, fail, ok, type Result } from '../common/result';
import { builtinParsers } from '../extensions/parsers';
import { translateCluster } from '../config/translate/cluster';
import { translateLoadAssignment } from '../config/translate/endpoint';
import { createExtensionTranslator } from '../config/translate/extension';
import { translateListener } from '../config/translate/listener';
import type { Msg } from '../config/translate/proto-util';
import { translateRouteConfiguration } from '../config/translate/route/route-config';
import { translateSecret } from '../config/translate/secret';
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';
import type { StoreTranslators } from '../store/config-store';

function viaSink<T>(run: (sink: ErrorSink) => T | undefined): Result<T> {
  const sink = ErrorSink.create();
  const value = run(sink);
  if (sink.failed) return fail(sink.errors);
  if (value === undefined) return fail([{ path: '', reason: 'resource could not be translated' }]);
  return ok(value);
}

// ---- sharing equal sub-objects (memory at 10,000 clusters) ----
//
// Istio sends thousands of clusters whose circuit breakers, LB settings and health checks are
// the same, and assignments whose endpoints carry the same workload metadata. Translated values
// are plain read-only data, so equal parts can be one object: clusters share them process-wide
// (a bounded table keyed by their JSON), endpoints of one assignment share equal metadata.

const SHARED_CLUSTER_FIELDS = ['lb', 'healthChecks', 'circuitBreakers', 'outlierDetection', 'tcpKeepalive', 'lbSubset'] as const;
const MAX_SHARED = 4096;
const sharedParts = new Map<string, unknown>();

function shareEqual<T>(v: T): T {
  if (v === undefined || v === null || typeof v !== 'object') return v;
  const key = JSON.stringify(v);
  const have = sharedParts.get(key);
  if (have !== undefined) return have as T;
  if (sharedParts.size < MAX_SHARED) sharedParts.set(key, v);
  return v;
}

function shareClusterParts(c: ClusterConfig): ClusterConfig {
  const out = c as unknown as Record<string, unknown>;
  for (const f of SHARED_CLUSTER_FIELDS) if (f in out) out[f] = shareEqual(out[f]);
  // Names are held many times over (store, snapshot, worker): the process's one copy of each.
  out.name = internString(c.name);
  out.statName = internString(c.statName);
  if (c.edsServiceName !== undefined) out.edsServiceName = internString(c.edsServiceName);
  return c;
}

/** Equal endpoint metadata shared; lists trimmed to their length (a pushed list keeps spare room). */
function compactEndpointSet(set: EndpointSetConfig): EndpointSetConfig {
  const seen = new Map<string, unknown>();
  (set as { clusterName: string }).clusterName = internString(set.clusterName);
  (set as { localities: unknown }).localities = set.localities.slice();
  (set as { dropOverloads: unknown }).dropOverloads = shareEqual(set.dropOverloads);
  for (const loc of set.localities) {
    (loc as { endpoints: unknown }).endpoints = loc.endpoints.slice();
    (loc as { locality: unknown }).locality = shareEqual(loc.locality);
    for (const ep of loc.endpoints) {
      const key = JSON.stringify(ep.metadata);
      const have = seen.get(key);
      if (have !== undefined) (ep as { metadata: unknown }).metadata = have;
      else seen.set(key, ep.metadata);
    }
  }
  return set;
}

const mapOk = <T>(r: Result<T>, f: (v: T) => T): Result<T> => (r.ok ? ok(f(r.value)) : r);

/** Optional extensions skipped while translating are reported through onSkipped (a warn log). */
export function xdsTranslators(onSkipped?: (names: readonly string[]) => void): StoreTranslators {
  const registry = builtinParsers();
  // One extension translator per resource, so skipped optional extensions are reported per resource.
  const ext = () => createExtensionTranslator(registry);
  const withExt = <T>(translate: (m: Msg, e: ReturnType<typeof ext>, sink: ErrorSink) => T | undefined) => (m: unknown) => {
    const e = ext();
    const r = viaSink((sink) => translate(m as Msg, e, sink));
    if (e.skipped.length > 0) onSkipped?.(e.skipped);
    return r;
  };
  const cds = withExt(translateCluster);
  return {
    lds: withExt(translateListener),
    cds: (m) => mapOk(cds(m), shareClusterParts),
    // EDS endpoints are addresses, never hostnames (Envoy resolves nothing for EDS hosts).
    eds: (m) => mapOk(viaSink((sink) => translateLoadAssignment(m as Msg, sink, false)), compactEndpointSet),
    rds: (m) => translateRouteConfiguration(m as Msg),
    sds: (m) => viaSink((sink) => translateSecret(m as Msg, sink)),
  };
}
