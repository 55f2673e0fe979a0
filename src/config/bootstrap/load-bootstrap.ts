// Bootstrap loading: file (JSON or YAML by extension, as Envoy) + --config-yaml merged over it,
// unknown-field check with field paths (unless --allow-unknown-static-fields), proto3 JSON
// parse (both snake_case and camelCase keys), flag overrides for node, then translation of
// every static resource through the same translators xDS resources use.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { ErrorSink, type ConfigError, type Result } from '../../common/result';
import { lookupType } from '../../gen/proto-root';
import { builtinParsers } from '../../extensions/parsers';
import type { AdsConfig, BootstrapConfig, ConfigSourceConfig, DynamicResourcesConfig } from '../model/bootstrap';
import type { ClusterConfig } from '../model/cluster';
import type { GrpcServiceTarget } from '../model/config-source';
import { DEFAULT_STATS_CONFIG } from '../model/stats';
import type { ListenerConfig } from '../model/listener';
import { translateAddress } from '../translate/address';
import { translateCluster } from '../translate/cluster';
import { translateApiConfigSource, translateGrpcService } from '../translate/config-source';
import { createExtensionTranslator } from '../translate/extension';
import { translateListener } from '../translate/listener';
import { translateSecret } from '../translate/secret';
import type { SecretConfig } from '../model/secret';
import { translateStatsConfig } from '../translate/stats-config';
import { durationMs, structToJson, type Msg } from '../translate/proto-util';
import type { Flags } from './flags';
import { isSupportedTracer, parseTracingProvider } from '../../tracing/tracing-config';
import { findUnknownFields, fromProtoJson, mergeMessages } from './proto-json';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

export interface LoadedBootstrap {
  /** The merged Bootstrap proto message (kept on the control side for config_dump). */
  readonly message: Msg;
  readonly config: BootstrapConfig;
  /** Optional extensions that were skipped because unknown. */
  readonly warnings: readonly string[];
}

function parseText(text: string, what: string, kind: 'json' | 'yaml'): unknown {
  try {
    return kind === 'json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new BootstrapError([{ path: '', reason: `${what}: cannot parse ${kind.toUpperCase()}: ${(err as Error).message.split('\n')[0]}` }]);
  }
}

export class BootstrapError extends Error {
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => (e.path ? `${e.path}: ${e.reason}` : e.reason)).join('; '));
  }
}

function readBootstrapJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BootstrapError([{ path: '', reason: `cannot read bootstrap file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return parseText(text, path, 'json');
  if (ext === '.yaml' || ext === '.yml') return parseText(text, path, 'yaml');
  if (ext === '.pb' || ext === '.pb_text') throw new BootstrapError([{ path: '', reason: `${path}: binary and text-format bootstraps are not supported; use .json or .yaml` }]);
  // Envoy tries the formats in turn for unknown extensions; JSON is YAML, so YAML covers both.
  return parseText(text, path, 'yaml');
}

function toMessage(json: unknown, what: string, allowUnknown: boolean): Msg {
  const type = lookupType(BOOTSTRAP_TYPE);
  if (json === null || json === undefined) json = {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new BootstrapError([{ path: '', reason: `${what}: the bootstrap must be an object` }]);
  const unknown = findUnknownFields(type, json);
  const fatal = allowUnknown ? unknown.filter((e) => e.reason !== 'unknown field') : unknown;
  if (fatal.length) throw new BootstrapError(fatal.map((e) => ({ path: e.path, reason: `${e.reason} (${what})` })));
  try {
    return fromProtoJson(type, json);
  } catch (err) {
    throw new BootstrapError([{ path: '', reason: `${what}: ${(err as Error).message}` }]);
  }
}

function configSource(msg: Msg | null | undefined, errors: ErrorSink, path: string): ConfigSourceConfig | undefined {
  if (!msg) return undefined;
  const initialFetchTimeoutMs = durationMs(msg.initialFetchTimeout) ?? 15000;
  if (msg.ads) return { kind: 'ads', initialFetchTimeoutMs };
  if (msg.apiConfigSource) {
    const api = translateApiConfigSource(msg.apiConfigSource as Msg, errors, `${path}.api_config_source`);
    return api ? { kind: 'api', api, initialFetchTimeoutMs } : undefined;
  }
  if (msg.pathConfigSource) return { kind: 'path', path: String(msg.pathConfigSource.path), ...(msg.pathConfigSource.watchedDirectory ? { watchedDirectory: String(msg.pathConfigSource.watchedDirectory.path) } : {}), initialFetchTimeoutMs };
  if (msg.path) return { kind: 'path', path: String(msg.path), initialFetchTimeoutMs };
  return undefined;
}

function dynamicResources(msg: Msg | null | undefined, errors: ErrorSink): DynamicResourcesConfig {
  if (!msg) return {};
  let ads: AdsConfig | undefined;
  if (msg.adsConfig) {
    const a = msg.adsConfig as Msg;
    const t = typeof a.apiType === 'number' ? ['', 'REST', 'GRPC', 'DELTA_GRPC'][a.apiType] : a.apiType;
    if (t !== 'GRPC' && t !== 'DELTA_GRPC') errors.add('dynamic_resources.ads_config.api_type', `ADS needs GRPC or DELTA_GRPC, not ${String(t)}`);
    const targets: AdsConfig['targets'][number][] = [];
    ((a.grpcServices ?? []) as Msg[]).forEach((g, i) => {
      const t = translateGrpcService(g, errors, `dynamic_resources.ads_config.grpc_services[${i}]`);
      if (t) targets.push(t);
    });
    ads = { apiType: t === 'DELTA_GRPC' ? 'DELTA_GRPC' : 'GRPC', targets, setNodeOnFirstMessageOnly: !!a.setNodeOnFirstMessageOnly };
  }
  const lds = configSource(msg.ldsConfig, errors, 'dynamic_resources.lds_config');
  const cds = configSource(msg.cdsConfig, errors, 'dynamic_resources.cds_config');
  return { ...(ads ? { ads } : {}), ...(lds ? { lds } : {}), ...(cds ? { cds } : {}) };
}

function runtimeLayers(msg: Msg | null | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const flatten = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(prefix ? `${prefix}.${k}` : k, x);
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[prefix] = v;
    }
  };
  for (const layer of (msg?.layers ?? []) as Msg[]) if (layer.staticLayer) flatten('', structToJson(layer.staticLayer));
  return out;
}

/** Loads, merges, checks and translates the bootstrap. Throws BootstrapError listing every problem. */
export function loadBootstrap(flags: Pick<Flags, 'configPath' | 'configYaml' | 'allowUnknownStaticFields' | 'serviceNode' | 'serviceCluster' | 'serviceZone'>): LoadedBootstrap {
  const type = lookupType(BOOTSTRAP_TYPE);
  let message: Msg = flags.configPath !== undefined ? toMessage(readBootstrapJson(flags.configPath), flags.configPath, flags.allowUnknownStaticFields) : (type.create() as Msg);
  if (flags.configYaml !== undefined) {
    const overlay = toMessage(parseText(flags.configYaml, '--config-yaml', 'yaml'), '--config-yaml', flags.allowUnknownStaticFields);
    message = mergeMessages(type, message, overlay);
  }
  const result = translateBootstrap(message, flags);
  if (!result.ok) throw new BootstrapError(result.errors);
  return { message, config: result.value.config, warnings: result.value.warnings };
}

export function translateBootstrap(message: Msg, flags: Pick<Flags, 'serviceNode' | 'serviceCluster' | 'serviceZone'>): Result<{ config: BootstrapConfig; warnings: string[] }> {
  const errors = ErrorSink.create();
  const ext = createExtensionTranslator(builtinParsers());
  const node = (message.node ?? {}) as Msg;
  const staticResources = (message.staticResources ?? {}) as Msg;
  const listeners: ListenerConfig[] = [];
  const names = new Set<string>();
  ((staticResources.listeners ?? []) as Msg[]).forEach((l, i) => {
    const sink = errors.at(`static_resources.listeners[${i}]`);
    const cfg = translateListener(l, ext, sink);
    if (!cfg) return;
    if (names.has(cfg.name)) sink.add('name', `duplicate listener name '${cfg.name}'`);
    names.add(cfg.name);
    listeners.push(cfg);
  });
  const clusters: ClusterConfig[] = [];
  const edsApiTargets: [number, GrpcServiceTarget][] = [];
  const cnames = new Set<string>();
  ((staticResources.clusters ?? []) as Msg[]).forEach((c, i) => {
    const sink = errors.at(`static_resources.clusters[${i}]`);
    const cfg = translateCluster(c, ext, sink);
    if (!cfg) return;
    if (cnames.has(cfg.name)) sink.add('name', `duplicate cluster name '${cfg.name}'`);
    // An EDS cluster over ADS needs ads_config; one with its own api_config_source does not.
    if (cfg.type === 'EDS' && !cfg.edsApiSource && !message.dynamicResources) sink.add('type', 'EDS cluster over ADS in a bootstrap without dynamic_resources');
    if (cfg.edsApiSource) edsApiTargets.push([i, cfg.edsApiSource.target]);
    cnames.add(cfg.name);
    clusters.push(cfg);
  });
  const secrets: SecretConfig[] = [];
  const snames = new Set<string>();
  ((staticResources.secrets ?? []) as Msg[]).forEach((m, i) => {
    const sink = errors.at(`static_resources.secrets[${i}]`);
    const sec = translateSecret(m, sink);
    if (!sec) return;
    if (snames.has(sec.name)) sink.add('name', `duplicate secret name '${sec.name}'`);
    snames.add(sec.name);
    secrets.push(sec);
  });
  let admin: BootstrapConfig['admin'];
  if (message.admin?.address) {
    const address = translateAddress(message.admin.address, errors, 'admin.address');
    const accessLogPaths: string[] = [];
    if (message.admin.accessLogPath) accessLogPaths.push(String(message.admin.accessLogPath));
    ((message.admin.accessLog ?? []) as Msg[]).forEach((al, i) => {
      ext.parseNested('access_logger', String(al.name ?? ''), al.typedConfig, false, errors, `admin.access_log[${i}]`);
    });
    if (address) admin = { address, accessLogPaths };
  }
  const dyn = dynamicResources(message.dynamicResources, errors);
  for (const t of dyn.ads?.targets ?? []) {
    if (t.kind === 'envoy_grpc' && !cnames.has(t.clusterName)) errors.add('dynamic_resources.ads_config.grpc_services', `unknown static cluster '${t.clusterName}'`);
  }
  for (const [i, t] of edsApiTargets) {
    if (t.kind === 'envoy_grpc' && !cnames.has(t.clusterName)) errors.add(`static_resources.clusters[${i}].eds_cluster_config.eds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name`, `unknown static cluster '${t.clusterName}'`);
  }
  for (const [field, src] of [['lds_config', dyn.lds], ['cds_config', dyn.cds]] as const) {
    const t = src?.kind === 'api' ? src.api.target : undefined;
    if (t?.kind === 'envoy_grpc' && !cnames.has(t.clusterName)) errors.add(`dynamic_resources.${field}.api_config_source.grpc_services[0].envoy_grpc.cluster_name`, `unknown static cluster '${t.clusterName}'`);
  }
  // Envoy's cluster manager: the local cluster must be one of the static clusters.
  const localClusterName = String(message.clusterManager?.localClusterName ?? '');
  if (localClusterName !== '' && !cnames.has(localClusterName)) errors.add('cluster_manager.local_cluster_name', `local cluster '${localClusterName}' must be defined`);
  const statsResult = translateStatsConfig(message.statsConfig);
  if (!statsResult.ok) errors.addAll(statsResult.errors, 'stats_config');
  // tracing.http: Zipkin / OpenTelemetry become the server-wide provider; other tracers Istio can
  // configure (Datadog, Lightstep) are reported and leave requests untraced rather than fail startup.
  const tracerHttp = message.tracing?.http as Msg | undefined;
  const tracerUrl = String(tracerHttp?.typedConfig?.typeUrl ?? '');
  const tracingProvider = tracerHttp && isSupportedTracer(tracerUrl) ? parseTracingProvider(tracerHttp, errors, 'tracing.http') : undefined;
  const tracingWarnings = tracerHttp && !isSupportedTracer(tracerUrl) ? [`tracer '${tracerUrl}' (tracing.http) is not supported; requests are not traced`] : [];
  const id = flags.serviceNode ?? String(node.id ?? '');
  const cluster = flags.serviceCluster ?? String(node.cluster ?? '');
  const config: BootstrapConfig = {
    node: {
      id,
      cluster,
      metadata: structToJson(node.metadata),
      locality: { region: String(node.locality?.region ?? ''), zone: flags.serviceZone ?? String(node.locality?.zone ?? ''), subZone: String(node.locality?.subZone ?? '') },
    },
    ...(admin ? { admin } : {}),
    staticListeners: listeners,
    staticClusters: clusters,
    staticSecrets: secrets,
    dynamicResources: dyn,
    runtime: runtimeLayers(message.layeredRuntime),
    statsFlushIntervalMs: durationMs(message.statsFlushInterval) ?? 5000,
    stats: statsResult.ok ? statsResult.value : DEFAULT_STATS_CONFIG,
    ...(tracingProvider ? { tracingProvider } : {}),
    ...(localClusterName !== '' ? { localClusterName } : {}),
  };
  return errors.result({ config, warnings: [...ext.skipped.map((n) => `optional extension '${n}' is not supported and was skipped`), ...tracingWarnings] });
}
