import type { EndpointBody, StateRecord } from './record';

export type EndpointRecord = StateRecord & { body: EndpointBody };

// RFC 7432 §15.2: the highest sequence wins; on a tie every node must pick the same claim, so the
// lower owner name wins.
export function winningClaim(claims: EndpointRecord[]): EndpointRecord | undefined {
  let best: EndpointRecord | undefined;
  for (const c of claims) {
    if (!best || c.body.mobilitySeq > best.body.mobilitySeq || (c.body.mobilitySeq === best.body.mobilitySeq && c.owner < best.owner)) best = c;
  }
  return best;
}

// The sequence a node announces for a MAC it hosts: one above every other live claim, so a MAC that
// moves here wins; its own current sequence if nobody else claims it. Other claims are the live view,
// not remembered values, so a stale number kept across a restart cannot decide a move.
export function nextMobilitySeq(self: string, claims: EndpointRecord[]): number {
  const others = claims.filter((c) => c.owner !== self);
  if (others.length > 0) return Math.max(...others.map((c) => c.body.mobilitySeq)) + 1;
  return claims.find((c) => c.owner === self)?.body.mobilitySeq ?? 0;
}

export interface DuplicateDetectionOptions {
  // EVPN's defaults: 5 moves within 180 s make a duplicate.
  maxMoves: number;
  windowMs: number;
  now?: () => number;
}

export const DEFAULT_DUPLICATE_DETECTION: DuplicateDetectionOptions = { maxMoves: 5, windowMs: 180_000 };

// Counts moves per MAC; a MAC that moves too often is frozen: it stays where it was last programmed
// and is reported, instead of flapping the whole fabric.
export class MoveTracker {
  private readonly moves = new Map<string, number[]>();
  private readonly frozenSince = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: DuplicateDetectionOptions = DEFAULT_DUPLICATE_DETECTION) {
    this.now = options.now ?? Date.now;
  }

  // Returns true when this move makes the MAC a duplicate.
  recordMove(macKey: string): boolean {
    if (this.frozenSince.has(macKey)) return false;
    const now = this.now();
    const recent = (this.moves.get(macKey) ?? []).filter((t) => t > now - this.options.windowMs);
    recent.push(now);
    this.moves.set(macKey, recent);
    if (recent.length < this.options.maxMoves) return false;
    this.frozenSince.set(macKey, now);
    this.moves.delete(macKey);
    return true;
  }

  isFrozen(macKey: string): boolean {
    return this.frozenSince.has(macKey);
  }

  frozen(): Array<{ macKey: string; sinceMs: number }> {
    return [...this.frozenSince].map(([macKey, sinceMs]) => ({ macKey, sinceMs }));
  }

  unfreeze(macKey: string): boolean {
    return this.frozenSince.delete(macKey);
  }
}
