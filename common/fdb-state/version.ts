// A record's version as issued by its owner: (incarnation, counter). A restart bumps the incarnation,
// so whatever the owner issues afterwards is newer than anything from before, even if the counter
// restarted.
export interface Version {
  incarnation: number;
  counter: number;
}

export const ZERO_VERSION: Version = { incarnation: 0, counter: 0 };

// An incarnation counts an owner's restarts and refutations: uint32, as memberlist's. A refutation
// at the top stays there and out-versions by counter instead, so a version never passes 2^53.
export const MAX_INCARNATION = 2 ** 32 - 1;
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

export function compareVersions(a: Version, b: Version): number {
  return a.incarnation - b.incarnation || a.counter - b.counter;
}

export function newer(a: Version, b: Version): boolean {
  return compareVersions(a, b) > 0;
}
