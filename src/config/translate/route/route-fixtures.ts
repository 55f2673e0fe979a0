// Test support for route-table tests: builds decoded RouteConfiguration messages from proto3
// JSON (as written in Envoy docs and config dumps) and loads the corpus RDS files. Used only
// by *.test.ts beside it; nothing in src imports it at run time.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import protojson from 'protobufjs/ext/protojson.js';
import { lookupType } from '../../../gen/proto-root';
import type { Msg } from '../proto-util';

export const CORPUS_DIR = resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'corpus');

/**
 * A decoded envoy.config.route.v3.RouteConfiguration from proto3 JSON (snake_case or camelCase).
 * protojson.fromJson yields plain nested objects without `$type`, so oneofCase() cannot see
 * which oneof member is set; encoding and decoding again gives the same message shape the
 * xDS client hands to translators (decoded from the Any's bytes).
 */
export function routeConfigFromJson(json: Record<string, unknown>): Msg {
  const { ['@type']: _ignored, ...rest } = json;
  const type = lookupType('envoy.config.route.v3.RouteConfiguration');
  const msg = protojson.fromJson(type, rest);
  return type.decode(type.encode(msg).finish()) as Msg;
}

/** Every RouteConfiguration JSON object in the corpus RDS files and istioctl route dumps, with a label. */
export function corpusRouteConfigs(): { label: string; json: Record<string, unknown> }[] {
  const out: { label: string; json: Record<string, unknown> }[] = [];
  const derived = join(CORPUS_DIR, 'derived', 'xds-from-dumps');
  for (const dir of readdirSync(derived)) {
    const f = join(derived, dir, 'rds.json');
    if (!existsSync(f)) continue;
    const d = JSON.parse(readFileSync(f, 'utf8')) as { resources: Record<string, unknown>[] };
    d.resources.forEach((r, i) => out.push({ label: `${dir}/rds.json[${i}] ${String(r.name ?? '')}`, json: r }));
  }
  const writer = join(CORPUS_DIR, 'istio', 'configdump', 'writer', 'routes');
  if (existsSync(writer)) {
    for (const dir of readdirSync(writer)) {
      const f = join(writer, dir, 'configdump.json');
      if (!existsSync(f)) continue;
      const d = JSON.parse(readFileSync(f, 'utf8')) as { configs: { static_route_configs?: { route_config: Record<string, unknown> }[]; dynamic_route_configs?: { route_config: Record<string, unknown> }[] }[] };
      for (const c of d.configs) {
        [...(c.static_route_configs ?? []), ...(c.dynamic_route_configs ?? [])].forEach((rc, i) => out.push({ label: `writer/routes/${dir}[${i}]`, json: rc.route_config }));
      }
    }
  }
  return out;
}
