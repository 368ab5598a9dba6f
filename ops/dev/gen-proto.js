#!/usr/bin/env node
// Generates TypeScript types for the gRPC contract into generated/proto (never committed, never edited).
// The folder is marked CommonJS so that the generator's extension-less type imports resolve under
// NodeNext; only types are imported from it, so nothing from it exists at run time.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'generated', 'proto');
const protoDir = join(root, 'proto');
const protos = readdirSync(join(protoDir, 'berth', 'agent', 'v1'))
  .filter((name) => name.endsWith('.proto'))
  .map((name) => join('berth', 'agent', 'v1', name));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js'),
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    `--includeDirs=${protoDir}`,
    `--outDir=${out}`,
    ...protos,
  ],
  { stdio: 'inherit', cwd: root },
);
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
