// Loader for the meshproxy-tcp-relay Node-API addon (build/Release/tcp_relay.node, built by
// node-gyp when npm installs this package). It sits under src/platform/tcp-relay.ts, the seam
// tcp_proxy uses to hand two plaintext sockets to the kernel-side splice relay.
// A missing or broken build throws here with the reason and the command that fixes it; the seam
// turns that into spliceAvailable() === false plus the reason, never a silent fallback.
'use strict';

const path = require('node:path');
const util = require('node:util');

const CANDIDATES = ['build/Release/tcp_relay.node', 'build/Debug/tcp_relay.node'];

function load() {
  const failures = [];
  for (const rel of CANDIDATES) {
    const file = path.join(__dirname, rel);
    try {
      return require(file);
    } catch (err) {
      failures.push(`${file}: ${err && err.code === 'MODULE_NOT_FOUND' ? 'not built' : err.message}`);
    }
  }
  const err = new Error(
    'meshproxy-tcp-relay: the native addon could not be loaded (' +
      failures.join('; ') +
      '). Build it with `npm rebuild meshproxy-tcp-relay` from the repository root (needs ' +
      'python3, make, a C compiler and Node headers; npm runs the build at install only because ' +
      'package.json allowScripts lists meshproxy-tcp-relay).',
  );
  err.code = 'ERR_TCP_RELAY_ADDON';
  throw err;
}

const native = load();

function codeOf(errno) {
  try {
    return util.getSystemErrorName(errno);
  } catch {
    return undefined;
  }
}

module.exports = {
  relay(fdA, fdB, options, callback) {
    if (typeof callback !== 'function') return native.relay(fdA, fdB, options, callback);
    return native.relay(fdA, fdB, options, (result) => {
      if (typeof result.errno === 'number') result.code = codeOf(result.errno);
      callback(result);
    });
  },
  stats: native.stats,
  abort: native.abort,
  info: native.info,
};
