// Tracing assembly for the HTTP connection manager: the bootstrap's tracing.http provider (from
// Istio's real bootstrap goldens) reaches the published tracing environment, an HCM `tracing`
// block without a provider falls back to it, and exporters are shared per provider.
import { join } from 'node:path';
import pino from 'pino';
import { loadBootstrap } from '../config/bootstrap/load-bootstrap';
import { buildHcmTracing, closeTracingSinks, hcmTracingConfig } from './hcm-tracing';
import type { TracingConfig, ZipkinProviderConfig } from './tracing-config';
import { publishTracingEnvironment, tracingEnvironment, tracingEnvironmentFrom, type TracingEnvironment } from './tracing-environment';

const GOLDEN = join(__dirname, '../../../shared/corpus/istio/bootstrap/golden');
const flags = { serviceNode: undefined, serviceCluster: undefined, serviceZone: undefined, configYaml: undefined, allowUnknownStaticFields: true };
const log = pino({ level: 'silent' });

afterAll(() => closeTracingSinks());

test('Istio zipkin golden: tracing.http becomes the bootstrap provider and is published with the node', () => {
  const b = loadBootstrap({ ...flags, configPath: join(GOLDEN, 'tracing_zipkin_golden.json') });
  expect(b.config.tracingProvider).toMatchObject({ kind: 'zipkin', collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin', traceId128bit: true, sharedSpanContext: false, inject: ['b3'] });
  // The control side derives the environment from the bootstrap and publishes it (workers get it
  // in WorkerInit).
  publishTracingEnvironment(tracingEnvironmentFrom(b.config));
  const env = tracingEnvironment();
  expect(env.provider).toEqual(b.config.tracingProvider);
  expect(env.node.nodeId).toBe(b.config.node.id);
  expect(env.node.serviceName).toBe(b.config.node.cluster);
  expect(env.minFlushSpans).toBe(5);
  expect(env.flushIntervalMs).toBe(5000);
});

test('Istio datadog golden: an unsupported tracer is a warning, not a startup failure', () => {
  const b = loadBootstrap({ ...flags, configPath: join(GOLDEN, 'tracing_datadog_golden.json') });
  expect(b.config.tracingProvider).toBeUndefined();
  expect(b.warnings).toContain("tracer 'type.googleapis.com/envoy.config.trace.v3.DatadogConfig' (tracing.http) is not supported; requests are not traced");
  expect(tracingEnvironmentFrom(b.config).provider).toBeUndefined();
});

const zipkin: ZipkinProviderConfig = { kind: 'zipkin', collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin', traceId128bit: false, sharedSpanContext: true, endpointVersion: 'HTTP_JSON', splitSpansForRequest: false, inject: ['b3'] };
const env: TracingEnvironment = { node: { nodeId: 'n', zone: 'z', serviceName: 's', localIp: '10.0.0.1' }, provider: zipkin, minFlushSpans: 5, flushIntervalMs: 60_000 };

test('HCM tracing summary ({random_sampling}) uses the bootstrap provider; a full config keeps its own', () => {
  expect(hcmTracingConfig(undefined, zipkin)).toBeUndefined();
  expect(hcmTracingConfig({ random_sampling: 25, max_path_tag_length: 64 }, zipkin)).toEqual({ clientSampling: 100, randomSampling: 25, overallSampling: 100, verbose: false, maxPathTagLength: 64, spawnUpstreamSpan: false, provider: zipkin });
  const own: TracingConfig = { clientSampling: 1, randomSampling: 2, overallSampling: 3, verbose: false, maxPathTagLength: 256, spawnUpstreamSpan: false, provider: { ...zipkin, collectorCluster: 'other' } };
  expect(hcmTracingConfig(own as unknown as Record<string, unknown>, zipkin)).toBe(own);
  expect(hcmTracingConfig({ ...own, provider: undefined } as unknown as Record<string, unknown>, zipkin)?.provider).toBe(zipkin);
});

test('no tracing block or no provider: no tracer (the HCM pays one null check); same provider: one shared exporter', () => {
  expect(buildHcmTracing(undefined, log, env)).toBeNull();
  expect(buildHcmTracing({ random_sampling: 100 }, log, { ...env, provider: undefined })).toBeNull();
  const a = buildHcmTracing({ random_sampling: 100 }, log, env)!;
  const b = buildHcmTracing({ random_sampling: 10 }, log, env)!;
  expect(a.tracer).not.toBe(b.tracer);
  expect(a.tracer.config.randomSampling).toBe(100);
  expect(b.tracer.config.randomSampling).toBe(10);
  expect(a.sink).toBe(b.sink);
  expect(a.sink!.exporter).toBeDefined();
  const c = buildHcmTracing({}, log, { ...env, provider: { ...zipkin, collectorCluster: 'zipkin2' } })!;
  expect(c.sink).not.toBe(a.sink);
  // No ClusterManager seen yet: the exporter has no collector address.
  expect(a.sink!.resolve('zipkin')).toBeUndefined();
});
