import type { Schemas } from '@tally/sdk';
import type { Session } from '../main.ts';
import { apiForm } from '../forms.ts';
import { h, link, money, section, table, when } from '../ui.ts';

const sourceLabel: Record<Schemas['CreditNote']['source'], string> = {
  proration: 'downgrade credit', refund: 'refund to balance', goodwill: 'goodwill', invoice_void: 'voided invoice',
};

/** What each use of a note did: a chargeback of the invoice whose fee the note credited takes back what is left of it; won, it gives that back. */
const useLabel: Record<NonNullable<Schemas['CreditNote']['uses']>[number]['kind'], string> = {
  applied: 'applied to an invoice', refunded: 'paid out', reversed: 'taken back by a chargeback of the credited fee', restored: 'given back: the chargeback was won',
};

/** Credit notes as finance reads them: what was issued, why, what is left, and where it went. */
export function creditNotesTable(notes: Schemas['CreditNote'][], withCustomer: boolean): HTMLElement {
  return table(
    ['Credit note', ...(withCustomer ? ['Customer'] : []), 'Issued', 'Source', 'Amount', 'Remaining', 'Applied', 'Paid out', 'Refundable', 'Reason', 'Invoice'],
    notes.map((n) => [link(`#/credit-notes/${n.id}`, n.id), ...(withCustomer ? [link(`#/customers/${n.customer}`, n.customer)] : []),
      h('span', { title: when(n.created_at) }, n.created_at.slice(0, 10)), sourceLabel[n.source],
      money(n.amount, n.currency), h('strong', {}, money(n.remaining, n.currency)), money(n.amount_applied, n.currency), money(n.amount_refunded, n.currency),
      n.refundable ? 'yes' : 'no', h('span', { class: 'wrap' }, n.reason), n.invoice ? link(`#/invoices/${n.invoice}`, n.invoice) : '—']),
    'No credit notes.', { id: 'credit-notes', class: 'numbers' });
}

/** Issue a goodwill credit note: money kept as the customer's balance, with its reason. */
export function goodwillForm(session: Session, customer: Schemas['Customer']): HTMLFormElement {
  return apiForm('goodwill-form', [
    { name: 'amount', label: `Amount (minor units of ${customer.currency})`, type: 'number', placeholder: '2500' },
    { name: 'refundable', label: 'May be paid out in cash', type: 'select', options: ['no', 'yes'] },
    { name: 'reason', label: 'Reason', placeholder: 'Why the customer is owed this' },
  ], [{
    label: 'Issue credit note',
    action: async (v) => {
      const note = await session.tally.createCreditNote({ body: {
        // An empty or bad amount is sent as it reads (0, NaN → null) and the API says why, at the field.
        customer: customer.id, amount: Number(v.amount), reason: v.reason!, refundable: v.refundable === 'yes',
      } });
      location.hash = `#/credit-notes/${note.id}`;
    },
  }]);
}

/** Every credit note, newest pages last (the API's order), with cursor pages. */
export async function creditNotesPage(session: Session, _params: string[], query: URLSearchParams): Promise<HTMLElement> {
  const after = query.get('after') ?? undefined;
  const page = await session.tally.listCreditNotes({ query: { limit: '50', ...(after ? { starting_after: after } : {}) } });
  return h('div', {}, h('h1', {}, 'Credit notes'),
    h('p', { class: 'muted' }, 'Money owed back to customers and not paid out: downgrade credits, refunds taken as balance, goodwill. Applied automatically to the next invoices, oldest first.'),
    section('All credit notes', creditNotesTable(page.data, true),
      h('p', { class: 'pager' }, after ? link('#/credit-notes', '← First page') : null, ' ',
        page.next_cursor ? link(`#/credit-notes?after=${page.next_cursor}`, 'Next page →') : null)));
}

/** One credit note: its terms, each use (applied to an invoice, paid out), and paying it out. */
export async function creditNotePage(session: Session, [id]: string[]): Promise<HTMLElement> {
  const { tally } = session;
  const n = await tally.getCreditNote({ id: id! });
  const c = n.currency;
  const payout = !session.customer && n.refundable && n.remaining > 0 ? apiForm('payout-form', [
    { name: 'amount', label: `Amount (minor units of ${c}; empty: all ${money(n.remaining, c)})`, type: 'number' },
  ], [{
    label: 'Pay out', kind: 'danger',
    action: async (v) => {
      await tally.refundCreditNote({ id: n.id, body: v.amount ? { amount: Number(v.amount) } : {} });
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    },
  }]) : null;
  return h('div', { id: 'credit-note' }, h('h1', {}, `Credit note ${n.id}`),
    h('p', { class: 'muted' }, link(`#/customers/${n.customer}`, n.customer), ` · ${sourceLabel[n.source]} · ${n.status} · issued ${when(n.created_at)}`),
    h('div', { class: 'figures' },
      [['Issued', n.amount], ['Applied to invoices', n.amount_applied], ['Paid out', n.amount_refunded],
        ...(n.amount_reversed !== 0 ? [['Reversed by chargebacks', n.amount_reversed]] : []), ['Remaining', n.remaining]].map(([label, amount]) =>
        h('div', { class: `figure${label === 'Remaining' ? ' available' : ''}`, 'data-figure': String(label).toLowerCase() }, h('span', { class: 'label' }, label), h('strong', {}, money(amount as number, c))))),
    section('Details', h('dl', {},
      h('dt', {}, 'Reason'), h('dd', {}, n.reason),
      h('dt', {}, 'Refundable'), h('dd', {}, n.refundable ? 'Yes: may be paid out in cash' : 'No: balance only'),
      h('dt', {}, 'Invoice'), h('dd', {}, n.invoice ? link(`#/invoices/${n.invoice}`, n.invoice) : '—'),
      h('dt', {}, 'Invoice line'), h('dd', {}, n.invoice_line ?? '—'),
      h('dt', {}, 'Refund'), h('dd', {}, n.refund ? link(`#/records/${n.refund}`, n.refund) : '—'))),
    (n.gives_back ?? []).length > 0 ? section('Gives back the money of', table(['Invoice', 'Amount'],
      (n.gives_back ?? []).map((s) => [link(`#/invoices/${s.invoice}`, s.invoice), money(s.amount, c)]),
      '', { id: 'credit-note-gives-back' }),
      h('p', { class: 'muted' }, 'The invoices that paid the fee this note credits back: each can be refunded at most what it was paid less its returns and these parts.')) : null,
    section('Uses', table(['When', 'Use', 'Invoice', 'Payment', 'Chargeback', 'Amount'],
      (n.uses ?? []).map((u) => [when(u.created_at), useLabel[u.kind], u.invoice ? link(`#/invoices/${u.invoice}`, u.invoice) : '—', u.payment ?? '—',
        u.chargeback ? link(`#/records/${u.chargeback}`, u.chargeback) : '—', money(u.kind === 'restored' ? u.amount : u.kind === 'reversed' ? -u.amount : u.amount, c)]),
      'Not used yet: the whole amount is still owed to the customer.', { id: 'credit-note-uses' }),
    payout ? h('div', {}, h('h3', {}, 'Pay out in cash'), payout) : null));
}
