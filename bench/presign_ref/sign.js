#!/usr/bin/env node
// bench/presign_ref/sign.js — the @aws-sdk reference for bench_presign (issue 8 item 5).
//
//   node sign.js --n N [--runs R] [--warmup W]
//
// Presigns GetObject URLs with @aws-sdk/s3-request-presigner's getSignedUrl exactly as an
// application would (one S3Client, one `await getSignedUrl(client, new GetObjectCommand(...))`
// per URL), with the inputs bench_presign gives its own signer:
//   static credentials AKIAIOSFODNN7EXAMPLE + secret + session token, region us-east-1,
//   endpoint http://minio.velero.svc:9000 path-style, bucket "velero",
//   keys "pfx/backups/b<i>/b<i>-logs.gz" for i < N, expiresIn 600,
//   signingDate 2026-01-01T00:00:00Z (fixed).
// The SDK caches the derived signing key itself, so this compares with our cached-key figure.
// W untimed warm-up URLs (default min(N, 2000)) let the JIT settle, then R timed runs of N.
// Output, on stdout:
//   version <package versions, node version>
//   url <the URL for i = 0>          (bench_presign re-signs it with our signer to prove
//                                     both did the same work)
//   run <URLs per CPU-second>        (one line per run; process.cpuUsage, user + system,
//                                     all threads: the GC and JIT work is charged too)
// Without node_modules it prints only "skip <why>" and exits 0 (bench_presign then skips this
// reference in one line). Errors: one line on stderr, exit 1 (2 for bad usage).
'use strict';

const path = require('path');

function usage(msg) {
  process.stderr.write(`sign.js: ${msg}\nusage: node sign.js --n N [--runs R] [--warmup W]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { n: 0, runs: 1, warmup: -1 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) usage(`${argv[i]} needs a non-negative integer`);
    if (argv[i] === '--n') o.n = v;
    else if (argv[i] === '--runs') o.runs = v;
    else if (argv[i] === '--warmup') o.warmup = v;
    else usage(`unknown argument ${argv[i]}`);
  }
  if (o.n < 1 || o.runs < 1) usage('--n and --runs must be at least 1');
  if (o.warmup < 0) o.warmup = Math.min(o.n, 2000);
  return o;
}

function load() {
  try {
    const dir = __dirname;
    return {
      s3: require(path.join(dir, 'node_modules/@aws-sdk/client-s3')),
      presigner: require(path.join(dir, 'node_modules/@aws-sdk/s3-request-presigner')),
    };
  } catch (e) {
    process.stdout.write('skip @aws-sdk is not installed: run bench/presign_ref/install\n');
    process.exit(0);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { s3, presigner } = load();
  const client = new s3.S3Client({
    region: 'us-east-1',
    endpoint: 'http://minio.velero.svc:9000',
    forcePathStyle: true,
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN0123456789abcdef',
    },
  });
  const signingDate = new Date('2026-01-01T00:00:00Z');
  const keys = [];
  for (let i = 0; i < o.n; i++) keys.push(`pfx/backups/b${i}/b${i}-logs.gz`);
  const sign = (key) => presigner.getSignedUrl(client,
    new s3.GetObjectCommand({ Bucket: 'velero', Key: key }), { expiresIn: 600, signingDate });

  const ver = (p) => require(path.join(__dirname, 'node_modules', p, 'package.json')).version;
  process.stdout.write(`version @aws-sdk/s3-request-presigner ${ver('@aws-sdk/s3-request-presigner')}` +
    `, @aws-sdk/client-s3 ${ver('@aws-sdk/client-s3')}, node ${process.version}\n`);
  process.stdout.write(`url ${await sign(keys[0])}\n`);
  for (let i = 0; i < o.warmup; i++) await sign(keys[i % o.n]);
  let sink = 0;
  for (let r = 0; r < o.runs; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < o.n; i++) sink += (await sign(keys[i])).length;
    const used = process.cpuUsage(t0);
    const dt = (used.user + used.system) / 1e6;
    process.stdout.write(`run ${(o.n / dt).toFixed(0)}\n`);
  }
  if (sink === 0) process.exit(1);
}

main().catch((e) => {
  process.stderr.write(`sign.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
