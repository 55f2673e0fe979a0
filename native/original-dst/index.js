// Loader for the meshproxy-original-dst Node-API addon (build/Release/original_dst.node, built
// by node-gyp when npm installs this package). It sits under src/platform/original-dst.ts, the
// proxy's seam for original-destination lookup and socket options at accept/connect time.
// A missing or broken build throws here with the reason and the command that fixes it: the
// proxy cannot route redirected traffic without it, so it must never degrade silently.
'use strict';

const path = require('node:path');
const util = require('node:util');

const CANDIDATES = ['build/Release/original_dst.node', 'build/Debug/original_dst.node'];

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
    'meshproxy-original-dst: the native addon could not be loaded (' +
      failures.join('; ') +
      '). Build it with `npm rebuild meshproxy-original-dst` from the repository root (needs ' +
      'python3, make, a C compiler and Node headers; npm runs the build at install only because ' +
      'package.json allowScripts lists meshproxy-original-dst).',
  );
  err.code = 'ERR_ORIGINAL_DST_ADDON';
  throw err;
}

const native = load();

// Gives socket errors Node's usual `code` (EBADF, ENOTSOCK, EPERM...) from the errno the addon sets.
function withCode(fn) {
  return function (...args) {
    try {
      return fn(...args);
    } catch (err) {
      if (err && typeof err.errno === 'number' && err.code === undefined) {
        try {
          err.code = util.getSystemErrorName(err.errno);
        } catch {
          /* unknown errno: keep the message only */
        }
      }
      throw err;
    }
  };
}

module.exports = {
  getOriginalDst: withCode(native.getOriginalDst),
  setTransparent: withCode(native.setTransparent),
  getTransparent: withCode(native.getTransparent),
  setMark: withCode(native.setMark),
  getMark: withCode(native.getMark),
  transparentSocket: withCode(native.transparentSocket),
};
