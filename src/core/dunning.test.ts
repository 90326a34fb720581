import { describe, expect, it } from 'vitest';
import { agingBucket, agingReport, dayMs, freezeFromMs, retryAtMs } from './dunning.ts';
import { allocateBalance, amountDueMinor, invoiceExcessMinor, useNote } from './customer-balance.ts';
import { isGrantFrozen, isGrantUsable, burnDown, type BurnableGrant } from './burn-down.ts';

const t0 = Date.parse('2026-03-01T00:00:00Z');

describe('dunning arithmetic', () => {
  it('schedules each retry after the previous one, and none after the last', () => {
    expect([0, 1, 2, 3, 4].map((step) => retryAtMs(t0, [1, 3, 5, 7], step))).toEqual([t0 + dayMs, t0 + 4 * dayMs, t0 + 9 * dayMs, t0 + 16 * dayMs, null]);
    expect(retryAtMs(t0, [], 0)).toBeNull();
  });

  it('freezes after the grace period, or never', () => {
    expect(freezeFromMs(t0, 7 * dayMs)).toBe(t0 + 7 * dayMs);
    expect(freezeFromMs(t0, null)).toBeNull();
  });

  it('buckets whole days past due at 30, 60 and 90', () => {
    expect([0, 30, 31, 60, 61, 90, 91].map((d) => agingBucket(t0, t0 + d * dayMs + 1))).toEqual(['0-30', '0-30', '31-60', '31-60', '61-90', '61-90', '90+']);
    const report = agingReport([
      { id: 'a', customerId: 'c', currency: 'USD', dueAtMs: t0, amountMinor: 100n },
      { id: 'b', customerId: 'c', currency: 'USD', dueAtMs: t0 - 40 * dayMs, amountMinor: 50n },
    ], () => t0 + dayMs);
    expect(report.totals).toEqual([{ currency: 'USD', '0-30': 100n, '31-60': 50n, '61-90': 0n, '90+': 0n, totalMinor: 150n }]);
  });
});

describe('the customer balance', () => {
  it('applies oldest notes first, never more than is due', () => {
    const notes = [{ id: 'n1', remainingMinor: 300n }, { id: 'n2', remainingMinor: 0n }, { id: 'n3', remainingMinor: 500n }];
    expect(allocateBalance(notes, 400n)).toEqual({ allocations: [{ creditNoteId: 'n1', amountMinor: 300n }, { creditNoteId: 'n3', amountMinor: 100n }], appliedMinor: 400n });
    expect(allocateBalance(notes, 1000n).appliedMinor).toBe(800n);
    expect(allocateBalance(notes, 0n)).toEqual({ allocations: [], appliedMinor: 0n });
    expect(allocateBalance(notes, -5n)).toEqual({ allocations: [], appliedMinor: 0n });
  });

  it('turns a negative invoice into a note and keeps remaining = amount − applied − paid out', () => {
    expect([invoiceExcessMinor(-1000n), invoiceExcessMinor(0n), invoiceExcessMinor(500n)]).toEqual([1000n, 0n, 0n]);
    expect([amountDueMinor(1500n, 800n), amountDueMinor(1000n, 1000n), amountDueMinor(-1000n, 0n)]).toEqual([700n, 0n, 0n]);
    const note = { amountMinor: 1000n, remainingMinor: 1000n, amountAppliedMinor: 0n, amountRefundedMinor: 0n, status: 'open' as const };
    const applied = useNote(note, 'applied', 600n);
    const closed = useNote(applied, 'refunded', 400n);
    expect(closed).toEqual({ amountMinor: 1000n, remainingMinor: 0n, amountAppliedMinor: 600n, amountRefundedMinor: 400n, status: 'closed' });
    expect(note.remainingMinor).toBe(1000n);
  });
});

describe('frozen grants in the burn-down', () => {
  const grant = (extra: Partial<BurnableGrant>): BurnableGrant => ({
    id: 'g', remainingMicro: 10n, priority: 50, expiresAtMs: null, category: 'paid', effectiveAtMs: t0, creationSeq: 0, ...extra,
  });

  it('cannot pay from frozenFrom until unfrozenAt, at any instant asked', () => {
    const g = grant({ frozenFromMs: t0 + 7 * dayMs, unfrozenAtMs: t0 + 9 * dayMs });
    expect([3, 7, 8, 9, 10].map((d) => isGrantUsable(g, t0 + d * dayMs))).toEqual([true, false, false, true, true]);
    expect(isGrantFrozen(grant({ frozenFromMs: t0 }), t0 + 365 * dayMs)).toBe(true);
    expect(isGrantFrozen(grant({}), t0)).toBe(false);
    expect(burnDown([g, grant({ id: 'h', creationSeq: 1 })], 5n, t0 + 8 * dayMs).allocations).toEqual([{ grantId: 'h', amountMicro: 5n }]);
  });
});
