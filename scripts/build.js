#!/usr/bin/env node
// One build for every entry point (npm ci's prepare, npm test, the bin wrappers):
// generate TypeScript types from proto/, compile every project with tsc -b, then the BPF datapath
// with clang (scripts/build-bpf.js).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { compileBpf } = require('./build-bpf');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

function protoFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return protoFiles(p);
    return e.name.endsWith('.proto') ? [path.relative(root, p)] : [];
  });
}

const protos = protoFiles(path.join(root, 'proto'));
if (protos.length > 0) {
  run(bin('proto-loader-gen-types'), [
    '--grpcLib=@grpc/grpc-js',
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--keepCase=false',
    '--includeDirs=proto',
    '--outDir=generated',
    ...protos.map((p) => path.relative('proto', p)),
  ]);
}
run(bin('tsc'), ['-b']);
compileBpf();
// npm's install step builds the addons from binding.gyp; say so plainly if it did not.
for (const addon of ['netlink_socket', 'icmp_socket', 'bpf_datapath']) {
  if (!fs.existsSync(path.join(root, 'build', 'Release', `${addon}.node`))) {
    console.error(
      `build: build/Release/${addon}.node is missing: run \`npm ci\` (or \`npm rebuild\`) to compile it with node-gyp`,
    );
    process.exit(1);
  }
}
