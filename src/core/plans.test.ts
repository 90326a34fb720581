import { describe, expect, it } from 'vitest';
import { feeLine, overageLine, prorationCredits, prorationLines, rolloverCredits, sumLines, type Plan } from './plans.ts';
import { remainingFraction } from './proration.ts';

const plan = (code: string, amountMinor: bigint, credits: bigint, extra: Partial<Plan> = {}): Plan => ({
  id: `pln_${code}`, code, version: 1, name: code, currency: 'USD', interval: 'month', amountMinor,
  includedCreditsMicro: credits * 1_000_000n, rolloverMaxMicro: null, overageUnitScaled: null, overageLimitMicro: null, rates: {}, createdAtMs: 0, ...extra,
});
const ms = (iso: string) => Date.parse(iso);

describe('proration', () => {
  it('half a period from 10.00 to 20.00 gives -5.00 and +10.00, net +5.00', () => {
    const f = remainingFraction(ms('2026-04-01T00:00:00Z'), ms('2026-05-01T00:00:00Z'), ms('2026-04-16T00:00:00Z'));
    const lines = prorationLines(plan('a', 1000n, 1000n), plan('b', 2000n, 3000n), f, 0, 0);
    expect(lines.map((l) => [l.type, l.amountMinor])).toEqual([['proration_credit', -500n], ['proration_charge', 1000n]]);
    expect(sumLines(lines)).toBe(500n);
  });

  it('credits the unused time to the second: 2017-02-14..03-14 changed at 03-03T19:14:48Z is -3.64', () => {
    const f = remainingFraction(ms('2017-02-14T00:00:00Z'), ms('2017-03-14T00:00:00Z'), ms('2017-03-03T19:14:48Z'));
    const [credit] = prorationLines(plan('a', 1000n, 0n), null, f, 0, 0);
    expect(credit!.amountMinor).toBe(-364n);
  });

  it('A (1000 credits) to B (3000) at half with 200 used revokes 500 and grants 1500: 1800 after', () => {
    const f = { numerator: 1n, denominator: 2n };
    const { revokeMicro, grantMicro, offsetMicro, debtMicro } = prorationCredits(plan('a', 1000n, 1000n), plan('b', 2000n, 3000n), f, 800_000_000n);
    expect([revokeMicro, grantMicro, offsetMicro, debtMicro]).toEqual([500_000_000n, 1_500_000_000n, 0n, 0n]);
    expect(800_000_000n - revokeMicro + grantMicro).toBe(1_800_000_000n);
  });

  it('never revokes more than is left, and nets what was spent against the new grant, then debt', () => {
    const half = { numerator: 1n, denominator: 2n };
    expect(prorationCredits(plan('a', 1000n, 1000n), null, half, 100_000_000n)).toEqual({ revokeMicro: 100_000_000n, grantMicro: 0n, offsetMicro: 0n, debtMicro: 400_000_000n });
    // All 1000 spent, down to a 0-credit plan and straight back up: nothing is minted.
    const down = prorationCredits(plan('a', 1000n, 1000n), plan('z', 0n, 0n), half, 0n);
    expect(down).toEqual({ revokeMicro: 0n, grantMicro: 0n, offsetMicro: 0n, debtMicro: 500_000_000n });
    const up = prorationCredits(plan('z', 0n, 0n), plan('a', 1000n, 1000n), half, 0n);
    expect(up.grantMicro).toBe(500_000_000n);
    expect(up.grantMicro - down.debtMicro).toBe(0n);
  });
});

describe('lines', () => {
  it('prices overage once per line: 1234.5 credits at 0.1 minor units is 123 (half away from zero)', () => {
    const line = overageLine(plan('o', 0n, 0n, { overageUnitScaled: 100_000n }), 1_234_500_000n, 0, 1)!;
    expect([line.quantity, line.unitAmount, line.amountMinor]).toEqual(['1234.5', '0.1', 123n]);
  });

  it('charges the fee in advance and caps rollover', () => {
    expect(feeLine(plan('f', 1999n, 0n), 0, 1).amountMinor).toBe(1999n);
    const p = plan('r', 0n, 0n, { rolloverMaxMicro: 300_000_000n });
    expect(rolloverCredits(p, 500_000_000n)).toBe(300_000_000n);
    expect(rolloverCredits(p, 200_000_000n)).toBe(200_000_000n);
    expect(rolloverCredits(plan('n', 0n, 0n), 200_000_000n)).toBe(0n);
  });
});
