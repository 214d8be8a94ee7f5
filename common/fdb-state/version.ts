// A record's version as issued by its owner: (incarnation, counter). A restart bumps the incarnation,
// so whatever the owner issues afterwards is newer than anything from before, even if the counter
// restarted.
export interface Version {
  incarnation: number;
  counter: number;
}

export const ZERO_VERSION: Version = { incarnation: 0, counter: 0 };

export function compareVersions(a: Version, b: Version): number {
  return a.incarnation - b.incarnation || a.counter - b.counter;
}

export function newer(a: Version, b: Version): boolean {
  return compareVersions(a, b) > 0;
}
