// Runs bench/tcp-relay.bench.ts without a build step: a require hook that strips types with
// @swc/core (already a dev dependency through @swc/jest). Bench-only; not used by the proxy.
const { transformSync } = require('@swc/core');
const fs = require('node:fs');
const path = require('node:path');
require.extensions['.ts'] = (module, filename) => {
  const out = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(out.code, filename);
};
require(path.join(__dirname, 'tcp-relay.bench.ts'));
