import type { Reply } from '@tally/sdk';
import type { Session } from '../main.ts';
import { apiForm } from '../forms.ts';
import { h, link, section, table, when } from '../ui.ts';

type StripeEvent = Reply<'listUnmatchedStripeEvents'>['data'][number];

/** Why an event is kept for review, as a person reads it. */
function why(e: StripeEvent): string {
  if (e.status === 'unmatched') return 'No Tally invoice matched it.';
  const error = e.outcome.error as { code?: string; message?: string } | undefined;
  return error ? `${error.code ?? 'refused'}: ${error.message ?? ''}` : 'Its flow refused it.';
}

/**
 * Stripe events kept for review (PRODUCT §11): those no Tally invoice matched and those their flow
 * refused (money collected on an invoice voided in Tally, say), each with a form to settle it with
 * a note once it has been dealt with in Stripe. A settled event leaves this list and the
 * reconciliation.
 */
export async function stripePage(session: Session): Promise<HTMLElement> {
  const { tally } = session;
  const body = h('div', {});
  const load = async () => {
    const events = (await tally.listUnmatchedStripeEvents({ query: { limit: '100' } })).data;
    body.replaceChildren(events.length === 0
      ? h('p', { class: 'muted', id: 'stripe-review-empty' }, 'Nothing to review: every Stripe event was applied or ignored.')
      : table(['Event', 'Type', 'Status', 'Invoice', 'Why', 'Received', 'Settle'], events.map((e) => [
        h('code', {}, e.id), e.type, h('span', { class: 'badge bad', 'data-status': e.status }, e.status),
        e.invoice ? link(`#/invoices/${e.invoice}`, e.invoice) : '—', why(e), when(e.received_at),
        apiForm(`resolve-${e.id}`, [{ name: 'note', label: 'How it was settled', placeholder: 'Refunded in Stripe (re_…)' }], [{
          label: 'Resolve',
          action: async (v) => {
            await tally.resolveStripeEvent({ id: e.id, body: { note: v.note ?? '' } });
            await load();
          },
        }]),
      ]), 'Nothing to review.', { id: 'stripe-review' }));
  };
  await load();
  return h('div', {}, h('h1', {}, 'Stripe'),
    h('p', { class: 'muted' }, 'Stripe events Tally kept for review instead of applying: for an invoice it does not know, or refused by the flow they would have run. Settle each in Stripe, then resolve it here with a note; the reconciliation names them until then.'),
    section('Kept for review', body));
}
