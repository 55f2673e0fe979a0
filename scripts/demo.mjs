#!/usr/bin/env node
// `make run`: starts a tiny demo upstream on 127.0.0.1:10001 and the proxy on the embedded demo
// bootstrap (examples/demo-bootstrap.yaml), prints what to curl, and stops both on Ctrl-C.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const top = fileURLToPath(new URL('..', import.meta.url));
const upstream = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from the demo upstream: ${req.method} ${req.url}\n`);
});
upstream.on('error', (err) => {
  console.error(`demo upstream: cannot listen on 127.0.0.1:10001: ${err.message}`);
  process.exit(1);
});
upstream.listen(10001, '127.0.0.1', () => {
  const proxy = spawn(process.execPath, [`${top}/bin/meshproxy`, '-c', `${top}/examples/demo-bootstrap.yaml`, '--concurrency', '1', '--file-flush-interval-msec', '1000', '-l', 'info', '--log-format', '[%Y-%m-%d %T.%e][%t][%l][%n] %v'], { stdio: 'inherit' });
  const stop = () => {
    proxy.kill('SIGTERM');
    upstream.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  proxy.on('exit', (code) => {
    upstream.close();
    process.exit(code ?? 0);
  });
  setTimeout(() => {
    console.log('\nmeshproxy is running on the demo config. Try:');
    console.log('  curl http://127.0.0.1:10000/hello          # TCP proxy to the demo upstream');
    console.log('  curl -i http://127.0.0.1:10002/hello       # HTTP route (header edit, retries; access log on stdout)');
    console.log('  curl -i http://127.0.0.1:10002/old         # HTTP redirect; any other path: direct 404');
    console.log('  curl http://127.0.0.1:15000/ready          # admin: server state');
    console.log("  curl 'http://127.0.0.1:15000/stats?filter=^(tcp|cluster)\\.'");
    console.log('  curl http://127.0.0.1:15000/stats/prometheus');
    console.log('Ctrl-C stops it.\n');
  }, 800);
});
