// The sensitive-field list must name real fields and match the Envoy .proto sources.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lookupType } from '../gen/proto-root';
import { SENSITIVE_FIELDS } from './sensitive-fields';

test('every listed field exists in the proto root', () => {
  for (const full of SENSITIVE_FIELDS) {
    const dot = full.lastIndexOf('.');
    const t = lookupType(full.slice(0, dot));
    expect(t.fieldsArray.some((f) => ((f as { protoName?: string }).protoName ?? f.name) === full.slice(dot + 1))).toBe(true);
  }
});

test('count matches the sensitive annotations in the v3 protos (when the API package is installed)', () => {
  const api = join(__dirname, '..', '..', 'node_modules', '@grpc', 'grpc-js-xds', 'deps', 'envoy-api', 'envoy');
  if (!existsSync(api)) {
    console.warn('envoy-api protos not installed; skipping the source cross-check');
    expect(SENSITIVE_FIELDS.size).toBeGreaterThan(0);
    return;
  }
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.proto') && /\/v3(alpha)?\//.test(p)) n += (readFileSync(p, 'utf8').match(/\(udpa\.annotations\.sensitive\) = true/g) ?? []).length;
    }
  };
  walk(api);
  expect(SENSITIVE_FIELDS.size).toBe(n);
});
