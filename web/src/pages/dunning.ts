import type { Reply, Schemas } from '@tally/sdk';
import { h, money, section, table, when } from '../ui.ts';

/** An invoice's state as finance says it: paid, open, past due (with since when), void, uncollectible. */
export function statusBadge(i: Schemas['Invoice']): HTMLElement {
  const label = i.past_due ? 'past due' : i.status;
  const tone = i.status === 'paid' ? 'good' : i.past_due || i.status === 'uncollectible' ? 'bad' : i.status === 'open' ? 'warn' : 'plain';
  return h('span', { class: `badge ${tone}`, 'data-status': label }, label);
}

/**
 * Collection of an invoice (PRODUCT §14): when it falls due, whether it is past due and since
 * when, the next dunning retry, and every payment attempt with its outcome.
 */
export function collectionSection(invoice: Schemas['Invoice'], attempts: Reply<'listPaymentAttempts'>['data']): HTMLElement {
  const c = invoice.currency;
  const state = invoice.status === 'paid'
    ? (invoice.uncollectible_at ? `Paid ${when(invoice.paid_at)}, after being marked uncollectible ${when(invoice.uncollectible_at)}.` : `Paid ${when(invoice.paid_at)}.`)
    : invoice.status === 'void' ? `Voided ${when(invoice.voided_at)}.`
      : invoice.status === 'uncollectible'
        ? `Marked uncollectible ${when(invoice.uncollectible_at)} after the last retry: ${money(invoice.amount_remaining, c)} unpaid; a payment still pays it and gives back the credits it revoked.`
        : invoice.past_due ? `Past due since ${when(invoice.past_due_at)}: ${money(invoice.amount_remaining, c)} unpaid.`
          : invoice.status === 'open' ? `Open: ${money(invoice.amount_remaining, c)} due ${when(invoice.due_at)}.` : 'Draft: not finalized yet.';
  return section('Collection',
    h('p', { id: 'collection-state', class: invoice.past_due || invoice.status === 'uncollectible' ? 'error' : '' }, statusBadge(invoice), ' ', state),
    h('dl', { id: 'collection' },
      h('dt', {}, 'Due'), h('dd', {}, when(invoice.due_at)),
      h('dt', {}, 'Past due since'), h('dd', {}, when(invoice.past_due_at)),
      h('dt', {}, 'Next payment retry'), h('dd', { 'data-next-retry': '' }, invoice.status === 'open' ? when(invoice.next_payment_attempt) : '—'),
      h('dt', {}, 'Uncollectible since'), h('dd', {}, when(invoice.uncollectible_at))),
    h('h3', {}, 'Payment attempts'),
    table(['#', 'When', 'Outcome', 'Failure', 'Made by', 'Payment'],
      attempts.map((a) => [String(a.attempt), when(a.created_at), h('span', { class: a.outcome === 'succeeded' ? 'ok' : 'error' }, a.outcome), a.failure_code ?? '—',
        a.source === 'dunning' ? 'dunning retry' : a.source, a.payment ?? '—']),
      'No payment attempts recorded.', { id: 'payment-attempts' }));
}
