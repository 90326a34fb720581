import { describe, expect, it } from 'vitest';
import { clawBackProblems, grantLedgerProblems, invoiceAmountProblems, overageLineProblems, overagePeriodProblem, reconciliationResult, usageChargeProblem, misplacedUsageEventProblem, unfoundUsageEventsProblem, type ReturnFactsForCheck } from './reconciliation.ts';

const c = (n: number) => BigInt(n) * 1_000_000n;

/** A refund of 50.00 on an invoice of 100.00 that granted 1000 credits, 900 of them spent: proportional revokes 100, 400 to debt. */
const refund: ReturnFactsForCheck = {
  id: 'ref_1', kind: 'refund', customerId: 'cus_1', invoiceId: 'inv_1', amountMinor: 5000n, creditPolicy: 'proportional', creditsGrantedMicro: c(1000),
  creditsTargetMicro: c(500), creditsRevokedMicro: c(100), creditsShortfallMicro: c(400), shortfallHandling: 'debt', status: 'succeeded', txnId: 'txn_1', restoreTxnId: null,
};
const revoke = { id: 'txn_1', kind: 'revoke', refs: {}, entries: [{ account: 'grant:g1', amountMicro: -c(100) }, { account: 'debt', amountMicro: -c(400) }, { account: 'revoked', amountMicro: c(500) }] };
const grants = new Map([['g1', { invoiceId: 'inv_1', status: 'active' }]]);

describe('claw-back rule', () => {
  it('accepts a refund whose figures follow its policy and whose one revoke transaction moves them', () => {
    expect(clawBackProblems(refund, 10000n, [revoke], grants)).toEqual([]);
  });

  it.each<[string, Partial<ReturnFactsForCheck>, unknown[], RegExp]>([
    ['figures off the policy', { creditsShortfallMicro: c(300) }, [revoke], /the policy gives target 500, revoked 100, shortfall 400/],
    ['no revoke transaction', {}, [], /has no revoke transaction for its 500 credits/],
    ['a won chargeback without its restore', { kind: 'chargeback', status: 'won' }, [revoke], /was won but its claw-back was not restored/],
  ])('names %s', (_name, change, caused, message) => {
    const problems = clawBackProblems({ ...refund, ...change }, 10000n, caused as never, grants);
    expect(problems.map((p) => p.message).join(' ')).toMatch(message);
    expect(problems[0]!.ids).toEqual(expect.arrayContaining(['ref_1', 'inv_1', 'cus_1']));
  });
});

describe('claw-back rule, a chargeback won after its grant was voided', () => {
  const chargeback: ReturnFactsForCheck = {
    ...refund, id: 'cbk_1', kind: 'chargeback', amountMinor: 10000n, creditPolicy: 'full', creditsTargetMicro: c(1000), creditsRevokedMicro: c(600),
    creditsShortfallMicro: c(400), status: 'won', restoreTxnId: 'txn_2',
  };
  const taken = { id: 'txn_1', kind: 'revoke', refs: {}, entries: [{ account: 'grant:g1', amountMicro: -c(600) }, { account: 'debt', amountMicro: -c(400) }, { account: 'revoked', amountMicro: c(1000) }] };
  const voided = new Map([['g1', { invoiceId: 'inv_1', status: 'voided' }]]);
  // The debt still owed is cancelled; the voided grant's 600 stay revoked.
  const debtOnly = { id: 'txn_2', kind: 'restore', refs: { restores: 'txn_1' }, entries: [{ account: 'debt', amountMicro: c(400) }, { account: 'revoked', amountMicro: -c(400) }] };

  it('keeps the voided grant\'s credits revoked', () => {
    expect(clawBackProblems(chargeback, 10000n, [taken, debtOnly], voided)).toEqual([]);
  });

  it('wants no restore when nothing is left to undo', () => {
    const spentNothing = { ...chargeback, creditsRevokedMicro: c(1000), creditsShortfallMicro: 0n, restoreTxnId: null };
    const all = { ...taken, entries: [{ account: 'grant:g1', amountMicro: -c(1000) }, { account: 'revoked', amountMicro: c(1000) }] };
    expect(clawBackProblems(spentNothing, 10000n, [all], voided)).toEqual([]);
    // The same grant still active: its credits were owed back.
    const active = new Map([['g1', { invoiceId: 'inv_1', status: 'active' }]]);
    expect(clawBackProblems(spentNothing, 10000n, [all], active).map((p) => p.message).join(' ')).toMatch(/was won but its claw-back was not restored/);
  });

  it('names a restore that gives back less than the grants not voided', () => {
    const active = new Map([['g1', { invoiceId: 'inv_1', status: 'active' }]]);
    expect(clawBackProblems(chargeback, 10000n, [taken, debtOnly], active).map((p) => p.message).join(' ')).toMatch(/its restore gives back 400, not 1000/);
  });
});

describe('other rules', () => {
  it('wants exactly one charge for an event with credits, and none without', () => {
    expect(usageChargeProblem({ customerId: 'cus', eventId: 'e', creditsMicro: c(1), txnId: 'txn_a', charges: 1, chargeIds: ['txn_a'] })).toBeNull();
    expect(usageChargeProblem({ customerId: 'cus', eventId: 'e', creditsMicro: c(1), txnId: 'txn_a', charges: 2, chargeIds: ['txn_a', 'txn_b'] })!.ids).toEqual(['e', 'cus', 'txn_a', 'txn_b']);
    expect(usageChargeProblem({ customerId: 'cus', eventId: 'e', creditsMicro: 0n, txnId: null, charges: 0, chargeIds: [] })).toBeNull();
  });

  it('prices an overage line once and wants its quantity moved out of overage', () => {
    const line = { id: 'lin', invoiceId: 'inv', subscriptionId: 'sub', periodStartMs: 0, quantity: '75', unitAmount: '0.5', amountMinor: 38n, postings: 1, postedMicro: -c(75) };
    expect(overageLineProblems(line)).toEqual([]);
    expect(overageLineProblems({ ...line, amountMinor: 37n, postings: 0, postedMicro: 0n }).map((p) => p.check)).toEqual(['overage_invoiced', 'overage_invoiced']);
  });

  it.each<[string, { consumed: number; pending: number; tied: number }, string, string | null]>([
    ['all of it due and billed', { consumed: 30, pending: 0, tied: 0 }, '30', null],
    ['all of it due, billed short', { consumed: 30, pending: 0, tied: 0 }, '29', 'consumed 30 credits of overage but its overage lines bill 29'],
    ['late usage not due yet, the rest billed', { consumed: 42, pending: 12, tied: 0 }, '30', null],
    ['late usage billed before it was recorded', { consumed: 42, pending: 12, tied: 0 }, '42', 'consumed 30 credits of overage by its latest invoice inv_2 (and 12 since, for the next invoice) but its overage lines bill 42'],
    ['late usage not due yet, the rest billed short', { consumed: 42, pending: 12, tied: 0 }, '29', 'consumed 30 credits of overage by its latest invoice inv_2 (and 12 since, for the next invoice) but its overage lines bill 29'],
    ['usage of the invoice\'s millisecond billed', { consumed: 42, pending: 0, tied: 12 }, '42', null],
    ['usage of the invoice\'s millisecond not billed', { consumed: 42, pending: 0, tied: 12 }, '30', null],
    ['usage of the invoice\'s millisecond billed twice', { consumed: 42, pending: 0, tied: 12 }, '43', 'consumed 30 to 42 credits of overage by its latest invoice inv_2 but its overage lines bill 43'],
  ])('wants a closed period\'s overage lines to bill what is due: %s', (_name, figures, billed, message) => {
    const period = {
      subscriptionId: 'sub', customerId: 'cus', periodIndex: 0, periodStartMs: 0, latestInvoiceId: figures.pending + figures.tied > 0 ? 'inv_2' : null,
      consumedMicro: c(figures.consumed), pendingMicro: c(figures.pending), tiedMicro: c(figures.tied),
    };
    const problem = overagePeriodProblem(period, [{ id: 'lin_1', invoiceId: 'inv_1', quantity: billed }]);
    expect(problem && problem.message).toEqual(message === null ? null : `Period 0 of subscription sub ${message}.`);
    if (problem) expect(problem.ids).toEqual(['sub', 'cus', 'lin_1', 'inv_1', ...(period.latestInvoiceId ? [period.latestInvoiceId] : [])]);
  });

  it('reports every check, failed or not', () => {
    const result = reconciliationResult([{ check: 'usage_charged_once', message: 'x', ids: ['e'] }]);
    expect(result.ok).toBe(false);
    expect(result.checks.filter((ch) => !ch.ok)).toEqual([{ name: 'usage_charged_once', ok: false }]);
    expect(result.checks).toHaveLength(17);
  });

  it('judges a grant against what its issuing transaction gave it', () => {
    const grant = { grantId: 'g1', customerId: 'cus_1', status: 'voided', creditsMicro: c(10), invoiceId: 'inv_1', accountMicro: 0n, issuedMicro: 0n, restoresId: null, restored: null };
    // A purchase's grant voided while pending (its invoice uncollectible) was never issued.
    expect(grantLedgerProblems(grant)).toEqual([]);
    expect(grantLedgerProblems({ ...grant, issuedMicro: c(10) })).toEqual([]);
    expect(grantLedgerProblems({ ...grant, issuedMicro: c(4) }).map((d) => d.message)).toEqual(['Grant g1 (voided) has 10 credits but its issuing transaction put 4 in its account.']);
    expect(grantLedgerProblems({ ...grant, status: 'pending', issuedMicro: c(10), accountMicro: c(10) }).map((d) => d.message)).toEqual([
      'Grant g1 (pending) has 10 credits but its issuing transaction put 10 in its account.', 'Grant g1 (pending) has 10 credits left of the 0 issued.']);
  });

  it('takes an invoice asking for nothing as paid with nothing paid', () => {
    const invoice = {
      invoiceId: 'inv_1', customerId: 'cus_1', status: 'paid', totalMinor: -500n, linesMinor: -500n, amountPaidMinor: 0n, paymentsMinor: 0n,
      amountRefundedMinor: 0n, refundsMinor: 0n, amountChargedBackMinor: 0n, chargebacksMinor: 0n,
    };
    expect(invoiceAmountProblems(invoice)).toEqual([]);
    expect(invoiceAmountProblems({ ...invoice, status: 'open' }).map((d) => d.message)).toEqual(['Invoice inv_1 (open) shows 0 paid of -500, which is paid in full.']);
  });

  it('finds usage events by customer exactly once: the counts, and each key or tail that misses its event', () => {
    expect(unfoundUsageEventsProblem({ events: 10, keyed: 6, tails: 4, unfound: [] })).toBeNull();
    expect(unfoundUsageEventsProblem({ events: 11, keyed: 6, tails: 4, unfound: [{ eventId: 'ev1', customerId: 'cus' }] })).toEqual({
      check: 'usage_events_indexed',
      message: '11 usage events are stored but 6 are keyed and 4 are in their customers\' tails; each must be found by its customer exactly once (found by neither: ev1).',
      ids: ['ev1', 'cus'],
    });
    const base: Omit<Parameters<typeof misplacedUsageEventProblem>[0], 'place'> = {
      customerId: 'cusA', position: 'txn_1', seq: 7, rowCustomerId: 'cusA', eventId: 'ev7', rowPosition: 'txn_1', merged: 9, counted: null, walked: null,
    };
    const message = (m: Partial<Parameters<typeof misplacedUsageEventProblem>[0]> & { place: 'key' | 'tail' | 'count' }) => misplacedUsageEventProblem({ ...base, ...m }).message.replace(/ Each usage.*$/, '');
    expect(message({ place: 'key', rowCustomerId: null, eventId: null })).toBe('The usage key of customer cusA at position txn_1 names row 7, which does not exist.');
    expect(message({ place: 'key', rowCustomerId: 'cusB' })).toBe('The usage key of customer cusA at position txn_1 names event ev7 of customer cusB.');
    expect(message({ place: 'key', rowPosition: 'txn_2' })).toBe('The usage key of customer cusA at position txn_1 names event ev7 at position txn_2.');
    expect(message({ place: 'key', seq: 12 })).toBe('The usage key of customer cusA at position txn_1 names event ev7 past the customer\'s merged keys.');
    expect(message({ place: 'tail', rowCustomerId: 'cusB' })).toBe('The usage tail of customer cusA reaches event ev7 of customer cusB.');
    expect(message({ place: 'count', counted: 5, walked: 3 })).toBe('The usage tail of customer cusA counts 5 events but its chain holds 3.');
    expect(misplacedUsageEventProblem({ ...base, place: 'tail', rowCustomerId: 'cusB' }).ids).toEqual(['cusA', 'ev7', 'cusB']);
  });
});
