#!/usr/bin/env node
// test/s3peer/server.js — the signature-verifying S3 peer for vreq's end-to-end tests.
//
// Starts @20minutes/s3rver 4.0.4 (presign.md §7.2: verifies SigV4 query and header
// signatures, host and port included; account S3RVER / S3RVER). The package ships no CLI,
// so this file is one.
//
//   node server.js --directory DIR [--address 127.0.0.1] [--port 0] [--bucket NAME]... [--log]
//
// Path-style only (vhost buckets off: the fork's virtual-host presign check is broken, §7.2
// bug 1). When listening it prints exactly one stdout line
//   s3peer listening on http://127.0.0.1:PORT
// SIGTERM or SIGINT closes the server (open keep-alive connections included) and exits 0.
// Errors go to stderr with exit status 2 (bad usage) or 1 (start failure).
'use strict';

const path = require('path');

function usage(msg) {
  process.stderr.write(`s3peer: ${msg}\nusage: node server.js --directory DIR ` +
    '[--address ADDR] [--port N] [--bucket NAME]... [--log]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { address: '127.0.0.1', port: 0, directory: null, buckets: [], log: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--directory': opts.directory = path.resolve(value()); break;
      case '--address': opts.address = value(); break;
      case '--port': {
        const v = value();
        if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) usage(`bad port ${JSON.stringify(v)}`);
        opts.port = Number(v);
        break;
      }
      case '--bucket': opts.buckets.push(value()); break;
      case '--log': opts.log = true; break;
      default: usage(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (!opts.directory) usage('--directory is required');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let S3rver;
  try {
    S3rver = require('@20minutes/s3rver');
  } catch (err) {
    process.stderr.write('s3peer: cannot load @20minutes/s3rver (run scripts/s3peer-install): ' +
      `${err.message}\n`);
    process.exit(1);
  }
  const server = new S3rver({
    address: opts.address,
    port: opts.port,
    directory: opts.directory,
    silent: !opts.log,
    vhostBuckets: false,
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [] })),
  });
  const addr = await server.run();
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stdout.write(`s3peer listening on http://${host}:${addr.port}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.httpServer.closeAllConnections();
    server.close().then(() => process.exit(0), (err) => {
      process.stderr.write(`s3peer: close failed: ${err.message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`s3peer: start failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
