import { describe, expect, it } from 'vitest';
import { grantFates, type GrantFacts, type GrantFlowRow, type HoldTrace } from './grant-flows.ts';
import { deferredRevenue, valueAtCost } from './credit-reports.ts';

const c = (n: number) => BigInt(n) * 1_000_000n;
const flow = (kind: string, credits: number, beforeFrom = true): GrantFlowRow => ({ grantId: 'g', kind, beforeFrom, amountMicro: c(credits) });
const grant: GrantFacts = { id: 'g', expiresAtMs: null, customerNowMs: 1_000 };
const fateOf = (flows: GrantFlowRow[], holds: HoldTrace[] = [], atMs = 1_000, g = grant) => grantFates([g], flows, holds, atMs, false).get('g')!;

describe('grant fates', () => {
  it('splits what was issued into consumed, expired, revoked (less restored) and remaining', () => {
    expect(fateOf([flow('grant', 1000), flow('usage', -300), flow('debt_paydown', -50), flow('revoke', -200), flow('restore', 100), flow('expiry', -100)])).toEqual({
      issuedMicro: c(1000), consumedMicro: c(350), expiredMicro: c(100), revokedMicro: c(100), heldMicro: 0n, transferredMicro: 0n, remainingMicro: c(450),
    });
  });

  it('counts what is left of a grant past its expiry as expired, by its customer\'s clock, before the expiry job runs', () => {
    const expiring: GrantFacts = { id: 'g', expiresAtMs: 500, customerNowMs: 1_000 };
    expect(fateOf([flow('grant', 100), flow('usage', -40)], [], 1_000, expiring)).toMatchObject({ expiredMicro: c(60), remainingMicro: 0n });
    expect(fateOf([flow('grant', 100)], [], 1_000, { ...expiring, customerNowMs: 400 })).toMatchObject({ expiredMicro: 0n, remainingMicro: c(100) });
  });

  it('traces a hold: captured spends the first-funded grant first, a release returns last-funded first, to expired when the grant closed', () => {
    const hold: HoldTrace = {
      holdId: 'h', fundedAtMs: 10, sources: [{ grantId: 'a', amountMicro: c(60) }, { grantId: 'g', amountMicro: c(40) }],
      captures: [{ atMs: 20, amountMicro: c(70) }], returns: [], release: { atMs: 30, entries: [{ account: 'expired', amountMicro: c(30) }] },
    };
    const flows = [flow('grant', 100), flow('hold', -40)];
    expect(fateOf(flows, [hold], 15)).toMatchObject({ consumedMicro: 0n, heldMicro: c(40), remainingMicro: c(60) });
    expect(fateOf(flows, [hold], 25)).toMatchObject({ consumedMicro: c(10), heldMicro: c(30) });
    expect(fateOf(flows, [hold], 35)).toMatchObject({ consumedMicro: c(10), expiredMicro: c(30), heldMicro: 0n, remainingMicro: c(60) });
  });

  it('traces what a hold gave back to a grant while active (a claw-back took it) as the grant\'s again, and the rest as before', () => {
    // Grant g gave 40 of a 100 hold (a gave 60); a refund took 25 of g's back at 12 and revoked it with g's 60 left.
    const hold: HoldTrace = {
      holdId: 'h', fundedAtMs: 10, sources: [{ grantId: 'a', amountMicro: c(60) }, { grantId: 'g', amountMicro: c(40) }],
      captures: [{ atMs: 20, amountMicro: c(70) }], returns: [{ atMs: 12, grantId: 'g', amountMicro: c(25) }],
      release: { atMs: 20, entries: [{ account: 'grant:g', amountMicro: c(5) }] },
    };
    const flows = [flow('grant', 100), flow('hold', -40), flow('hold_release', 25), flow('revoke', -85)];
    expect(fateOf(flows, [hold], 11)).toMatchObject({ heldMicro: c(40) });
    expect(fateOf(flows, [hold], 15)).toMatchObject({ consumedMicro: 0n, heldMicro: c(15), revokedMicro: c(85), remainingMicro: 0n });
    // Captured 70: a's 60 first, then 10 of g's 15; the 5 left came back to g.
    expect(fateOf(flows, [hold], 25)).toMatchObject({ consumedMicro: c(10), heldMicro: 0n, revokedMicro: c(85), remainingMicro: c(5) });
  });
});

describe('valuation at cost basis', () => {
  it('rounds each figure once, half away from zero, and leaves the rest of the cost deferred', () => {
    const g = { id: 'g', customerId: 'cus', invoiceId: 'inv', currency: 'USD', creditsMicro: c(3), costMinor: 1000n };
    const fate = { issuedMicro: c(3), consumedMicro: c(1), expiredMicro: c(1), revokedMicro: 0n, heldMicro: 0n, transferredMicro: 0n, remainingMicro: c(1) };
    expect(valueAtCost(g, fate)).toEqual({ recognizedMinor: 333n, breakageMinor: 333n, revokedMinor: 0n, deferredMinor: 334n });
  });

  it('rolls the liability forward: opening + purchased − recognized − breakage − revoked = closing', () => {
    const g = { id: 'g', customerId: 'cus', invoiceId: 'inv', currency: 'USD', creditsMicro: c(1000), costMinor: 10000n };
    const base = { expiredMicro: 0n, revokedMicro: 0n, heldMicro: 0n, transferredMicro: 0n };
    const opening = new Map([['g', { ...base, issuedMicro: c(1000), consumedMicro: c(100), remainingMicro: c(900) }]]);
    const closing = new Map([['g', { ...base, issuedMicro: c(1000), consumedMicro: c(300), remainingMicro: c(700) }]]);
    expect(deferredRevenue([g], opening, closing).totals).toEqual([
      { currency: 'USD', openingDeferredMinor: 9000n, purchasedMinor: 0n, recognizedMinor: 2000n, breakageMinor: 0n, revokedMinor: 0n, closingDeferredMinor: 7000n },
    ]);
  });
});
