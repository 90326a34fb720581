import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { burnDown, compareBurnDownOrder, isGrantUsable, sortForBurnDown, type BurnableGrant } from './burn-down.ts';
import { sortInPlace } from './sort-in-place.ts';

const T = (n: number): number => n * 1000;

function grant(id: string, fields: Partial<BurnableGrant> = {}): BurnableGrant {
  return {
    id,
    remainingMicro: 100n,
    priority: 50,
    expiresAtMs: null,
    category: 'paid',
    effectiveAtMs: 0,
    creationSeq: 0,
    ...fields,
  };
}

const ids = (grants: readonly BurnableGrant[]): string[] => grants.map((g) => g.id);

describe('burnDown at an event\'s time (PRODUCT §5)', () => {
  it('pays from a grant live at the event time, taking what expired of it back', () => {
    const expired = grant('E', { remainingMicro: 0n, expiredMicro: 60n, expiresAtMs: T(10), creationSeq: 1 });
    const lasting = grant('L', { remainingMicro: 100n, priority: 90, creationSeq: 2 });
    const sorted = sortForBurnDown([expired, lasting]);
    expect(burnDown(sorted, 80n, T(5))).toEqual({
      allocations: [{ grantId: 'E', amountMicro: 60n, fromExpiredMicro: 60n }, { grantId: 'L', amountMicro: 20n }],
      remainderMicro: 0n,
    });
    // At or after expires_at the grant never pays, whatever is left of it.
    expect(burnDown(sorted, 10n, T(10)).allocations).toEqual([{ grantId: 'L', amountMicro: 10n }]);
    // Before it started, neither.
    const later = grant('F', { effectiveAtMs: T(7) });
    expect(burnDown([later], 10n, T(6))).toEqual({ allocations: [], remainderMicro: 10n });
  });

  it('takes the remainder first, then what expired', () => {
    const partly = grant('P', { remainingMicro: 5n, expiredMicro: 20n, expiresAtMs: T(10) });
    expect(burnDown([partly], 8n, T(1)).allocations).toEqual([{ grantId: 'P', amountMicro: 8n, fromExpiredMicro: 3n }]);
  });
});

describe('burnDown', () => {
  it('follows the worked example from PRODUCT §4', () => {
    const a = grant('A', { priority: 1, expiresAtMs: T(10), remainingMicro: 50n, creationSeq: 1 });
    const b = grant('B', { priority: 1, expiresAtMs: T(20), remainingMicro: 80n, creationSeq: 2 });
    const c = grant('C', { priority: 2, expiresAtMs: null, remainingMicro: 100n, creationSeq: 3 });
    const sorted = sortForBurnDown([c, b, a]);
    expect(ids(sorted)).toEqual(['A', 'B', 'C']);
    expect(burnDown(sorted, 90n, T(1))).toEqual({
      allocations: [
        { grantId: 'A', amountMicro: 50n },
        { grantId: 'B', amountMicro: 40n },
      ],
      remainderMicro: 0n,
    });
  });

  it('skips expired, not-yet-effective and empty grants', () => {
    const expired = grant('expired', { expiresAtMs: T(5), creationSeq: 1 });
    const expiringNow = grant('expiring-now', { expiresAtMs: T(10), creationSeq: 2 });
    const future = grant('future', { effectiveAtMs: T(11), creationSeq: 3 });
    const empty = grant('empty', { remainingMicro: 0n, creationSeq: 4 });
    const live = grant('live', { effectiveAtMs: T(10), creationSeq: 5 });
    const sorted = sortForBurnDown([live, empty, future, expiringNow, expired]);
    expect(burnDown(sorted, 30n, T(10)).allocations).toEqual([{ grantId: 'live', amountMicro: 30n }]);
  });

  it('returns the remainder when the grants run out', () => {
    const sorted = sortForBurnDown([grant('a', { remainingMicro: 10n }), grant('b', { remainingMicro: 5n, creationSeq: 1 })]);
    expect(burnDown(sorted, 40n, 0)).toEqual({
      allocations: [
        { grantId: 'a', amountMicro: 10n },
        { grantId: 'b', amountMicro: 5n },
      ],
      remainderMicro: 25n,
    });
    expect(burnDown([], 7n, 0)).toEqual({ allocations: [], remainderMicro: 7n });
  });

  it('allocates nothing for a zero or negative amount', () => {
    const grants = [grant('a')];
    expect(burnDown(grants, 0n, 0)).toEqual({ allocations: [], remainderMicro: 0n });
    expect(burnDown(grants, -5n, 0)).toEqual({ allocations: [], remainderMicro: 0n });
  });

  it('does not mutate its input', () => {
    const grants = [grant('a', { remainingMicro: 10n })];
    const before = structuredClone(grants);
    burnDown(grants, 5n, 0);
    sortForBurnDown(grants);
    expect(grants).toEqual(before);
  });
});

describe('compareBurnDownOrder', () => {
  it.each([
    ['lower priority first', { priority: 1, creationSeq: 2 }, { priority: 2, creationSeq: 1 }],
    ['soonest expiry first', { expiresAtMs: T(5), creationSeq: 2 }, { expiresAtMs: T(6), creationSeq: 1 }],
    ['never-expiring last', { expiresAtMs: T(99), creationSeq: 2 }, { expiresAtMs: null, creationSeq: 1 }],
    ['promotional before paid', { category: 'promotional', creationSeq: 2 }, { category: 'paid', creationSeq: 1 }],
    ['earliest effective first', { effectiveAtMs: T(1), creationSeq: 2 }, { effectiveAtMs: T(2), creationSeq: 1 }],
    ['creation order last', { creationSeq: 1 }, { creationSeq: 2 }],
    ['priority beats expiry', { priority: 1, expiresAtMs: null }, { priority: 2, expiresAtMs: T(1) }],
    ['expiry beats category', { expiresAtMs: T(1), category: 'paid' }, { expiresAtMs: T(2), category: 'promotional' }],
  ] as [string, Partial<BurnableGrant>, Partial<BurnableGrant>][])('%s', (_name, first, second) => {
    const a = grant('first', first);
    const b = grant('second', second);
    expect(compareBurnDownOrder(a, b)).toBeLessThan(0);
    expect(compareBurnDownOrder(b, a)).toBeGreaterThan(0);
    expect(ids(sortForBurnDown([b, a]))).toEqual(['first', 'second']);
  });

  it('is zero only for the same position', () => {
    expect(compareBurnDownOrder(grant('a'), grant('b'))).toBe(0);
  });
});

describe('isGrantUsable', () => {
  it('treats effectiveAt as inclusive and expiresAt as exclusive', () => {
    const g = grant('g', { effectiveAtMs: T(1), expiresAtMs: T(2) });
    expect(isGrantUsable(g, T(1) - 1)).toBe(false);
    expect(isGrantUsable(g, T(1))).toBe(true);
    expect(isGrantUsable(g, T(2) - 1)).toBe(true);
    expect(isGrantUsable(g, T(2))).toBe(false);
    expect(isGrantUsable({ ...g, remainingMicro: 0n }, T(1))).toBe(false);
  });
});

const grantArb: fc.Arbitrary<BurnableGrant> = fc.record({
  id: fc.uuid(),
  remainingMicro: fc.bigInt({ min: -5n, max: 1000n }),
  priority: fc.integer({ min: 0, max: 3 }),
  expiresAtMs: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
  category: fc.constantFrom('paid' as const, 'promotional' as const),
  effectiveAtMs: fc.integer({ min: 0, max: 20 }),
  creationSeq: fc.nat(),
});

describe('burnDown properties', () => {
  it('allocates exactly the amount, within what each grant has left', () => {
    fc.assert(
      fc.property(fc.array(grantArb, { maxLength: 12 }), fc.bigInt({ min: -100n, max: 5000n }), fc.integer({ min: 0, max: 20 }), (grants, amount, now) => {
        const sorted = sortForBurnDown(grants);
        const { allocations, remainderMicro } = burnDown(sorted, amount, now);
        const allocated = allocations.reduce((sum, a) => sum + a.amountMicro, 0n);
        expect(allocated + remainderMicro).toBe(amount > 0n ? amount : 0n);
        expect(remainderMicro >= 0n).toBe(true);
        const byId = new Map(grants.map((g) => [g.id, g]));
        for (const allocation of allocations) {
          const source = byId.get(allocation.grantId);
          expect(source && isGrantUsable(source, now)).toBe(true);
          expect(allocation.amountMicro > 0n && allocation.amountMicro <= (source?.remainingMicro ?? 0n)).toBe(true);
        }
      }),
    );
  });

  it('sorts in place as the built-in sort does, short lists by insertion and long ones alike', () => {
    // creationSeq distinct, as a customer's grants' are: the order is total.
    const distinct = (n: number) => fc.array(grantArb, { minLength: n, maxLength: n + 24 }).map((gs) => gs.map((g, i) => ({ ...g, creationSeq: i })));
    fc.assert(fc.property(distinct(0), fc.nat(), (grants, seed) => {
      const shuffled = [...grants].sort((a, b) => ((a.creationSeq * 7919 + seed) % 101) - ((b.creationSeq * 7919 + seed) % 101));
      const expected = ids([...shuffled].sort(compareBurnDownOrder));
      const list = [...shuffled];
      expect(sortInPlace(list, compareBurnDownOrder)).toBe(list);
      expect(ids(list)).toEqual(expected);
      expect(ids(sortForBurnDown(shuffled))).toEqual(expected);
    }));
  });
});
