import { execFileSync } from 'node:child_process';

export const inCi = process.env.CI === 'true';

// Outside CI a missing prerequisite skips the suite with a banner nobody can miss; in CI it fails,
// because CI installs everything and a skip there would hide a broken setup.
function unmet(ctx: Mocha.Context, reason: string): never {
  if (inCi) throw new Error(`prerequisite missing in CI: ${reason}`);
  const line = '!'.repeat(78);
  console.warn(`\n${line}\n!! SKIPPED: ${ctx.test?.parent?.fullTitle() ?? ''}\n!! because ${reason}\n${line}\n`);
  ctx.skip();
}

export function requireRoot(ctx: Mocha.Context): void {
  if (process.getuid?.() !== 0)
    unmet(ctx, 'it needs root (network namespaces and netlink writes); run the tests as root');
}

// program -> the Debian package that provides it.
export function requirePrograms(ctx: Mocha.Context, programs: Record<string, string>): void {
  for (const [program, pkg] of Object.entries(programs)) {
    try {
      execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    } catch {
      unmet(ctx, `"${program}" is not installed (apt-get install ${pkg})`);
    }
  }
}
