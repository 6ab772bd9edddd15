/** Frame rates and aspect ratios stay exact fractions (30000/1001 is not 29.97). */
export interface Rational {
  num: number;
  den: number;
}

export function parseRational(text: string | undefined, fallback?: Rational): Rational | undefined {
  if (!text) return fallback;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(?:[/:]\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (!m) return fallback;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0 || num === 0) return fallback;
  if (!Number.isInteger(num) || !Number.isInteger(den)) {
    // 29.97 typed by a user: keep three decimals exactly.
    return reduce({ num: Math.round((num / den) * 1000), den: 1000 });
  }
  return reduce({ num, den });
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a || 1;
}

export function reduce(r: Rational): Rational {
  const g = gcd(r.num, r.den);
  return { num: r.num / g, den: r.den / g };
}

export const toNumber = (r: Rational): number => r.num / r.den;
export const formatRational = (r: Rational, sep = '/'): string => `${r.num}${sep}${r.den}`;
export const sameRational = (a: Rational, b: Rational): boolean => a.num * b.den === b.num * a.den;
