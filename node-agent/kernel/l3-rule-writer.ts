import { NetlinkError, Rtnetlink, Rule } from '../netlink';
import { isOurRule, ruleKey } from './l3-domain';

export interface RulePassResult {
  added: number;
  // Rules of ours deleted.
  removed: number;
  // Per VNI: the desired rules the kernel refused.
  failed: Map<number, number>;
  errors: Error[];
}

// The policy rules of the L3 domains, reconciled as routes are: the kernel's rules (both families)
// against the desired ones, only the difference written, and only ours (protocol tag) ever removed;
// another program's rules, at any priority, are left alone.
export class L3RuleWriter {
  constructor(private readonly rt: Rtnetlink) {}

  async reconcile(desired: Array<Rule & { vni: number }>, sweep: boolean): Promise<RulePassResult> {
    const kernel = new Map<string, Rule>();
    for (const family of [4, 6] as const)
      for (const r of await this.rt.rules.list(family)) if (isOurRule(r)) kernel.set(ruleKey(r), r);
    const wanted = new Map(desired.map((r) => [ruleKey(r), r]));
    const result: RulePassResult = { added: 0, removed: 0, failed: new Map(), errors: [] };
    const failed = (err: Error, what: string, vni?: number) => {
      result.errors.push(new Error(`${what}: ${err.message}`));
      if (vni !== undefined) result.failed.set(vni, (result.failed.get(vni) ?? 0) + 1);
    };
    await Promise.all(
      [...wanted]
        .filter(([key]) => !kernel.has(key))
        .map(([, r]) => {
          const { vni, ...rule } = r;
          // EEXIST: added since the dump, as wanted.
          return this.rt.rules.add(rule).then(
            () => void result.added++,
            (err: Error) => {
              if (NetlinkError.codeOf(err) !== 'EEXIST') failed(err, 'rule', vni || undefined);
            },
          );
        }),
    );
    if (!sweep) return result;
    const stale = [...kernel].filter(([key]) => !wanted.has(key)).map(([, r]) => r);
    await Promise.all(
      stale.map((r) =>
        this.rt.rules.delete(r).then(
          () => void result.removed++,
          (err: Error) => {
            if (NetlinkError.codeOf(err) !== 'ENOENT') failed(err, 'rule');
          },
        ),
      ),
    );
    return result;
  }
}
