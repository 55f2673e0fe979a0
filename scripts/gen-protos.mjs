#!/usr/bin/env node
// Build-time proto assembly. Envoy's v3 API protos come from the pinned npm package
// @grpc/grpc-js-xds (deps/); our own Istio extension protos live in proto/. buf lints ours and
// compiles everything into one image (a FileDescriptorSet); protobufjs turns that image into a
// reflection root that we store as JSON in build/proto-root.json. The proxy loads that file at
// startup instead of parsing hundreds of .proto files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor.js';

const top = fileURLToPath(new URL('..', import.meta.url));
const envoyApi = 'node_modules/@grpc/grpc-js-xds/deps/envoy-api';
const buf = join(top, 'node_modules/.bin/buf');

// Files whose imports the npm package does not ship (OpenCensus, OpenTelemetry, Prometheus
// client protos). Nothing Istio sends needs them.
const SKIP = new Set([
  'envoy/config/trace/v3/opencensus.proto',
  'envoy/config/trace/v3/trace.proto',
  'envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto',
  'envoy/service/metrics/v3/metrics_service.proto',
  'envoy/service/trace/v3/trace_service.proto',
]);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.proto')) out.push(p);
  }
  return out;
}

const paths = [];
for (const f of walk(join(top, envoyApi, 'envoy'), [])) {
  const rel = relative(join(top, envoyApi), f);
  if (!/\/v3(alpha)?\//.test(rel) || SKIP.has(rel)) continue;
  paths.push(relative(top, f));
}
for (const f of walk(join(top, 'proto'), [])) paths.push(relative(top, f));
paths.push('node_modules/@grpc/grpc-js-xds/deps/xds/udpa/type/v1/typed_struct.proto');
paths.push('node_modules/@grpc/grpc-js-xds/deps/xds/xds/type/v3/typed_struct.proto');
paths.push('node_modules/@grpc/grpc-js-xds/deps/googleapis/google/rpc/status.proto');

// The protoc-gen-validate copy in the npm package predates StringRules.ignore_empty (field 26),
// which a few Envoy v3 files use in annotations (core/v3/protocol.proto among them). We add that
// one field to a build-time copy (build/pgv, a buf.yaml module) so those annotations resolve.
mkdirSync(join(top, 'build/pgv/validate'), { recursive: true });
const pgv = readFileSync(join(top, 'node_modules/@grpc/grpc-js-xds/deps/protoc-gen-validate/validate/validate.proto'), 'utf8');
const patched = pgv.replace(/(message StringRules \{)/, '$1\n    optional bool ignore_empty = 26;');
if (patched === pgv) throw new Error('gen-protos: StringRules not found in validate.proto');
writeFileSync(join(top, 'build/pgv/validate/validate.proto'), patched);
const image = join(top, 'build/proto-image.binpb');
function run(args, what) {
  try {
    execFileSync(buf, args, { cwd: top, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    console.error(`gen-protos: buf ${what} failed (see the messages above)`);
    process.exit(1);
  }
}
run(['lint', 'proto'], 'lint');
run(['build', '-o', image, ...paths.flatMap((p) => ['--path', p])], 'build');

const root = protobuf.Root.fromDescriptor(readFileSync(image));
root.resolveAll();
const json = JSON.stringify(root.toJSON({ keepComments: false }));
writeFileSync(join(top, 'build/proto-root.json'), json);
let types = 0;
(function count(ns) {
  for (const o of ns.nestedArray) {
    if (o instanceof protobuf.Type) types++;
    if (o.nestedArray) count(o);
  }
})(root);
console.log(`gen-protos: ${paths.length} Envoy files, ${types} message types, ${(json.length / 1e6).toFixed(1)} MB root`);
