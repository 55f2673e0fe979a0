// Helper process for e2e/original-dst.test.ts, started inside a network namespace (ns.spawn /
// ns.exec), where the test process itself cannot open sockets. It loads the real seam,
// src/platform/original-dst.ts, compiled on the fly with @swc/core (the compiler jest uses).
//
//   node orig-dst-echo.js listen 0.0.0.0:15001 [::]:15001/v6only [::]:15006 ...
//     Listens on each address (IP_TRANSPARENT set on each listener), prints one line
//     `ready <json>` with the listeners' transparent flags, then answers every connection with one
//     JSON line: the accepted socket's local address, originalDestination(socket), and the SO_MARK /
//     IP_TRANSPARENT values read back after setting mark 1337 and transparent on it.
//   node orig-dst-echo.js connect <host> <port>
//     Connects, prints what the listener answered, exits 0 (2 on error or after 10 s).
'use strict';

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const MARK = 1337;

function loadSeam() {
  const swc = require(require.resolve('@swc/core', { paths: [ROOT] }));
  require.extensions['.ts'] = (module, filename) => {
    const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename,
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
    });
    module._compile(code, filename);
  };
  return require(path.join(ROOT, 'src/platform/original-dst.ts'));
}

function parseListen(spec) {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)(\/v6only)?$/.exec(spec);
  if (!m) throw new Error(`bad listen spec ${spec}`);
  return { host: m[1] ?? m[2], port: Number(m[3]), ipv6Only: Boolean(m[4]) };
}

function answer(seam, socket) {
  const addon = seam.loadOriginalDstAddon();
  const info = { local: { address: socket.localAddress, port: socket.localPort } };
  try {
    info.original = seam.originalDestination(socket);
    const fd = seam.socketFd(socket);
    seam.setSocketMark(socket, MARK);
    info.mark = addon.getMark(fd);
    seam.setSocketTransparent(socket, true);
    info.transparent = addon.getTransparent(fd, 0);
  } catch (err) {
    info.error = String(err && err.message);
  }
  socket.on('error', () => {});
  socket.end(JSON.stringify(info) + '\n');
}

async function listen(specs) {
  const seam = loadSeam();
  const transparent = [];
  for (const spec of specs) {
    const { host, port, ipv6Only } = parseListen(spec);
    const server = net.createServer((socket) => answer(seam, socket));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only }, resolve);
    });
    seam.setSocketTransparent(server, true);
    transparent.push(seam.loadOriginalDstAddon().getTransparent(seam.socketFd(server), 0));
  }
  process.stdout.write(`ready ${JSON.stringify({ transparent })}\n`);
}

function connect(host, port) {
  const timer = setTimeout(() => {
    process.stderr.write(`connect ${host}:${port}: no answer within 10 s\n`);
    process.exit(2);
  }, 10_000);
  const socket = net.connect({ host, port: Number(port) });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (data += chunk));
  socket.on('end', () => {
    clearTimeout(timer);
    process.stdout.write(data);
  });
  socket.on('error', (err) => {
    process.stderr.write(`connect ${host}:${port}: ${err.message}\n`);
    process.exit(2);
  });
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'listen') {
  listen(args).catch((err) => {
    process.stderr.write(`listen: ${err.stack}\n`);
    process.exit(1);
  });
} else if (mode === 'connect') {
  connect(args[0], args[1]);
} else {
  process.stderr.write('usage: orig-dst-echo.js listen <host:port[/v6only]>... | connect <host> <port>\n');
  process.exit(64);
}
