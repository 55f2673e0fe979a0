// Runs bench/xds-scale.bench.ts without a build step (types stripped by @swc/core, a dev
// dependency through @swc/jest). Bench-only. Run: node --expose-gc bench/xds-scale.bench.run.cjs
const { transformSync } = require('@swc/core');
const fs = require('node:fs');
const path = require('node:path');
require.extensions['.ts'] = (module, filename) => {
  const src = fs.readFileSync(filename, 'utf8');
  const out = transformSync(src, { filename, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } });
  module._compile(out.code, filename);
};
require(path.join(__dirname, 'xds-scale.bench.ts'));
