// Micro benchmark (not a test): route matches per second on the Istio 1.26 sidecar route
// tables from the corpus (translate once, compile once, then route() in a bounded loop).
// Run: node bench/route-match.bench.run.cjs   (compiles this file with @swc/core on the fly)
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import protojson from 'protobufjs/ext/protojson.js';
import { lookupType } from '../src/gen/proto-root';
import { translateRouteConfiguration } from '../src/config/translate/route/route-config';
import { compileRouteTable, type RouteTable } from '../src/engine/http/route/route-table';
import type { RouteRequest } from '../src/engine/http/route/route-request';

const RDS = join(resolve(__dirname, '..', '..', 'shared', 'corpus'), 'derived', 'xds-from-dumps', 'istio-1.26.2-sidecar-frontend', 'rds.json');
const MAX_ITERATIONS = 5_000_000;
const MAX_MS = 3000;

class BenchRequest implements RouteRequest {
  method = 'GET';
  scheme = 'http';
  random = 0;
  constructor(
    readonly authority: string,
    readonly path: string,
  ) {}
  header(): string | undefined {
    return undefined;
  }
}

function load(): Map<string, RouteTable> {
  const type = lookupType('envoy.config.route.v3.RouteConfiguration');
  const doc = JSON.parse(readFileSync(RDS, 'utf8')) as { resources: Record<string, unknown>[] };
  const out = new Map<string, RouteTable>();
  for (const { ['@type']: _t, ...json } of doc.resources) {
    const msg = type.decode(type.encode(protojson.fromJson(type, json)).finish());
    const r = translateRouteConfiguration(msg as Record<string, unknown>);
    if (!r.ok) throw new Error(`translate failed: ${JSON.stringify(r.errors)}`);
    out.set(r.value.name, compileRouteTable(r.value));
  }
  return out;
}

function run(label: string, table: RouteTable, reqs: BenchRequest[]): void {
  let n = 0;
  let hits = 0;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + MAX_MS;
  while (n < MAX_ITERATIONS) {
    for (let i = 0; i < 1000; i++, n++) {
      const r = reqs[n % reqs.length]!;
      r.random = n;
      if (table.route(r) !== null) hits++;
    }
    if (Date.now() > deadline) break;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label}: ${Math.round(n / secs).toLocaleString('en-US')} matches/s (${n} matches, ${hits} routed, ${secs.toFixed(2)} s)`);
}

const tables = load();
run("table '80' (exact host hit, port stripped)", tables.get('80')!, [
  new BenchRequest('istio-ingressgateway.istio-system.svc.cluster.local:80', '/productpage?u=1'),
  new BenchRequest('10.96.240.89', '/'),
]);
run("table '80' (fallback to allow_any)", tables.get('80')!, [new BenchRequest('www.example.org', '/a/b/c')]);
run("table 'backend...:8080' (single '*' host)", tables.get('backend.demo.svc.cluster.local:8080')!, [new BenchRequest('backend.demo.svc.cluster.local:8080', '/api/items?id=7')]);
