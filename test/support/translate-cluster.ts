// Envoy Cluster JSON -> ClusterConfig through the real translate layer (proto JSON parse, then
// translateCluster), for unit tests of cluster translation and cluster runtimes.
import { ErrorSink } from '../../src/common/result';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import type { ClusterConfig } from '../../src/config/model/cluster';
import { translateCluster } from '../../src/config/translate/cluster';
import { createExtensionTranslator } from '../../src/config/translate/extension';
import { builtinParsers } from '../../src/extensions/parsers';
import { lookupType } from '../../src/gen/proto-root';

const ext = createExtensionTranslator(builtinParsers());

/** The translated cluster (undefined when rejected) and the errors with their field paths. */
export function translateClusterJson(json: object): { c: ClusterConfig | undefined; errors: { path: string; reason: string }[] } {
  const errors = ErrorSink.create();
  const c = translateCluster(fromProtoJson(lookupType('envoy.config.cluster.v3.Cluster'), json), ext, errors);
  return { c, errors: errors.errors.map((e) => ({ path: e.path, reason: e.reason })) };
}
