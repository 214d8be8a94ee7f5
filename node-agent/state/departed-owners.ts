// Gossip keeps a dead or departed owner's records (withdrawn from the kernel) so that they come back
// at once if it returns; this says when to let them go. An owner gossip has not had alive (or
// suspect) for ttlMs, counted from when this agent first saw it gone, is expired: the agent forgets
// its records, and they come back with the owner's join if it ever returns.
export class DepartedOwners {
  private readonly goneSince = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  // owners: every owner the store holds records of, but us; present: gossip has it alive or suspect.
  expired(owners: string[], present: (owner: string) => boolean): string[] {
    const now = this.now();
    const held = new Set(owners);
    for (const owner of this.goneSince.keys()) if (!held.has(owner)) this.goneSince.delete(owner);
    const out: string[] = [];
    for (const owner of held) {
      if (present(owner)) {
        this.goneSince.delete(owner);
        continue;
      }
      const since = this.goneSince.get(owner) ?? now;
      this.goneSince.set(owner, since);
      if (now - since >= this.ttlMs) {
        this.goneSince.delete(owner);
        out.push(owner);
      }
    }
    return out;
  }
}
