import * as path from 'node:path';

// Compiled files live in dist/<part>/, so the repository root is two levels up from here.
export const repoRoot = path.resolve(__dirname, '..', '..');
export const protoRoot = path.join(repoRoot, 'proto');
