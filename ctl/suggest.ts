// "Did you mean": the closest known word by edit distance, when it is close enough to be a typo.
export function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // A third of the word (at least 1, at most 3 edits): further away it is another word, not a typo.
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  if (best !== undefined && (bestDistance <= limit || best.startsWith(word))) return best;
  return undefined;
}

export function didYouMean(word: string, known: string[]): string {
  const hit = closest(word, known);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}

// Edits to turn a into b, a swap of two neighbours counting as one (the commonest typo).
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i || j));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
