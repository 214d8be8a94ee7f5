#!/usr/bin/env node
// Compiles the BPF datapath (node-agent/bpf/program/datapath.bpf.c) with clang into the object the
// agent loads: dist/node-agent/bpf/program/datapath.bpf.o. Run by scripts/build.js; skipped when the
// object is newer than its sources.
//   node scripts/build-bpf.js [--out FILE] [-DNAME=VALUE ...]    a variant build (tests use one)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const programDir = path.join(root, 'node-agent', 'bpf', 'program');
const source = path.join(programDir, 'datapath.bpf.c');
const defaultOut = path.join(root, 'dist', 'node-agent', 'bpf', 'program', 'datapath.bpf.o');

function fail(message) {
  console.error(`build-bpf: ${message}`);
  process.exit(1);
}

// clang -target bpf does not search the multiarch include directory where <asm/types.h> lives.
function multiarchIncludes() {
  try {
    const triple = execFileSync('clang', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    return triple ? [`-I/usr/include/${triple}`] : [];
  } catch (err) {
    if (err.code === 'ENOENT')
      fail('clang is not installed: run `npm run setup` (apt-get install clang llvm libbpf-dev)');
    throw err;
  }
}

function upToDate(out) {
  if (!fs.existsSync(out)) return false;
  const built = fs.statSync(out).mtimeMs;
  const inputs = [
    path.join(__dirname, 'build-bpf.js'),
    ...fs.readdirSync(programDir).map((f) => path.join(programDir, f)),
  ];
  return inputs.every((f) => fs.statSync(f).mtimeMs <= built);
}

function compileBpf({ out = defaultOut, defines = [] } = {}) {
  if (defines.length > 0 && out === defaultOut)
    fail('a variant build (-D) needs --out FILE: the agent loads the default object');
  if (defines.length === 0 && upToDate(out)) return out;
  if (!fs.existsSync('/usr/include/bpf/bpf_helpers.h'))
    fail("libbpf's headers are missing: run `npm run setup` (apt-get install libbpf-dev)");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // -g: libbpf reads the maps' definitions from the BTF that -g emits.
  const args = ['-target', 'bpf', '-O2', '-g', '-Wall', '-Wextra', ...multiarchIncludes()];
  execFileSync('clang', [...args, ...defines.map((d) => `-D${d}`), '-c', source, '-o', out], { stdio: 'inherit' });
  return out;
}

module.exports = { compileBpf, defaultOut };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? path.resolve(argv[outAt + 1]) : defaultOut;
  compileBpf({ out, defines: argv.filter((a) => a.startsWith('-D')).map((a) => a.slice(2)) });
}
