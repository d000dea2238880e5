/** How the bench scripts summarise and print figures. */

/** The median of the finite values (the mean of the middle two for an even count); NaN if there are none. */
export const median = (xs: readonly number[]): number => {
  const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const fixed = (digits: number) => (x: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
export const f0 = fixed(0);
export const f1 = fixed(1);
export const f2 = fixed(2);
export const f3 = fixed(3);
