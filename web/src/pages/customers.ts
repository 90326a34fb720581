import type { Schemas } from '@tally/sdk';
import type { Session } from '../main.ts';
import { barChart, credits, h, link, money, section, table, when } from '../ui.ts';
import { apiForm } from '../forms.ts';
import { creditNotesTable, goodwillForm } from './credit-notes.ts';
import { collectionSection, statusBadge } from './dunning.ts';

const pageSize = '25';

/** What each kind of invoice bills, shown on the invoice's page. */
const kindMeaning: Record<Schemas['Invoice']['kind'], string> = {
  subscription: 'a period\'s fee in advance and the overage of earlier periods in arrears',
  proration: 'a change of plan within the period',
  purchase: 'credits bought',
  final: 'the end of a subscription: unused time credited, overage so far billed',
  correction: 'late overage of an ended subscription\'s periods, billed once no more of it could arrive (35 days after the end)',
};

/** Customers: search by id, external id, email or the start of a name or email; cursor pages. */
export async function customersPage(session: Session, _params: string[], query: URLSearchParams): Promise<HTMLElement> {
  const q = query.get('q') ?? '';
  const after = query.get('after') ?? undefined;
  const page = await session.tally.listCustomers({ query: { limit: pageSize, ...(q ? { q } : {}), ...(after ? { starting_after: after } : {}) } });
  const search = h('form', { class: 'search', role: 'search' },
    h('input', { name: 'q', type: 'search', value: q, placeholder: 'Customer id, external id, email, or the start of a name', 'aria-label': 'Search customers' }),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = (search.elements.namedItem('q') as HTMLInputElement).value.trim();
    location.hash = value ? `#/customers?q=${encodeURIComponent(value)}` : '#/customers';
  });
  const rows = page.data.map((c) => [link(`#/customers/${c.id}`, c.id), c.external_id ?? '—', c.name ?? '—', c.email ?? '—', c.currency, when(c.created_at)]);
  const next = page.next_cursor ? link(`#/customers?${new URLSearchParams({ ...(q ? { q } : {}), after: page.next_cursor })}`, 'Next page →') : null;
  return h('div', {}, h('h1', {}, 'Customers'), search,
    table(['Id', 'External id', 'Name', 'Email', 'Currency', 'Created'], rows, q ? `No customer matches “${q}”.` : 'No customers yet.', { id: 'customers' }),
    h('p', { class: 'pager' }, after ? link(`#/customers${q ? `?q=${encodeURIComponent(q)}` : ''}`, '← First page') : null, ' ', next));
}

const causeLink = (type: string, id: string) => {
  const href = type === 'usage_event' ? `#/usage/${id}` : type === 'invoice' ? `#/invoices/${id}` : `#/records/${id}`;
  return link(href, `${type.replace(/_/g, ' ')} ${id}`);
};

/**
 * Consumption over time per meter, from the usage series the server sums in SQL. Every amount on
 * the page is the server's exact decimal string; the chart turns them into numbers only to size
 * its bars.
 */
function consumption(id: string, usage: Schemas['UsageSeries'], query: URLSearchParams): HTMLElement {
  const hourly = usage.interval === 'hour';
  const labels = (usage.series[0]?.data ?? []).map((p) => (hourly ? `${p.start.slice(8, 10)} ${p.start.slice(11, 13)}h` : p.start.slice(5, 10)));
  const used = usage.series.filter((s) => s.credits !== '0' || s.quantity !== '0');
  const controls = h('form', { class: 'filters', id: 'usage-filters' },
    h('label', {}, 'By ', h('select', { name: 'usage_interval' }, ['day', 'hour'].map((v) => h('option', { value: v, selected: v === usage.interval }, v)))),
    h('label', {}, 'From ', h('input', { type: 'date', name: 'usage_from', value: query.get('usage_from') ?? '' })),
    h('label', {}, 'To ', h('input', { type: 'date', name: 'usage_to', value: query.get('usage_to') ?? '' })),
    h('button', { type: 'submit' }, 'Show'));
  controls.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(controls);
    const params = new URLSearchParams();
    for (const key of ['usage_interval', 'usage_from', 'usage_to']) if (data.get(key)) params.set(key, String(data.get(key)));
    location.hash = `#/customers/${encodeURIComponent(id)}?${params}`;
  });
  return h('div', {}, controls,
    used.length ? barChart(labels, used.map((s) => ({ name: s.meter, values: s.data.map((p) => p.credits) })), 'credits') : null,
    table(['Meter', 'Quantity', 'Credits'], [...used.map((s) => [s.meter, credits(s.quantity), credits(s.credits)]), ...(used.length > 1 ? [[h('strong', {}, 'All meters'), '', h('strong', {}, credits(usage.credits))]] : [])],
      'No usage in this window.', { id: 'usage-series' }),
    h('p', { class: 'muted small' }, `${when(usage.from)} → ${when(usage.to)}, by ${usage.interval} (UTC). Summed by the server over every usage event in the window.`));
}

/** A customer: balance, grants, holds, consumption, ledger with causes, usage, subscriptions, invoices; support actions. */
export async function customerPage(session: Session, [ref]: string[], query: URLSearchParams): Promise<HTMLElement> {
  const { tally } = session;
  // One round of parallel calls; every list takes the customer's id or external id.
  const id = ref!;
  const ledgerAfter = query.get('ledger_after') ?? undefined;
  const day = (key: string) => (query.get(key) ? `${query.get(key)}T00:00:00Z` : undefined);
  const seriesQuery = {
    interval: (query.get('usage_interval') === 'hour' ? 'hour' : 'day') as 'hour' | 'day',
    ...(day('usage_from') ? { from: day('usage_from') } : {}), ...(day('usage_to') ? { to: day('usage_to') } : {}),
  };
  const [customer, balance, grants, holds, ledger, usage, series, subscriptions, invoices, notes] = await Promise.all([
    tally.getCustomer({ id }),
    tally.getBalance({ id }),
    tally.listGrants({ query: { customer: id, limit: '100' } }),
    tally.listHolds({ query: { customer: id, limit: '20', order: 'desc' } }),
    tally.listLedgerTransactions({ query: { customer: id, limit: '50', order: 'desc', ...(ledgerAfter ? { starting_after: ledgerAfter } : {}) } }),
    tally.listUsageEvents({ query: { customer: id, limit: '20' } }),
    tally.getUsageSeries({ id, query: seriesQuery }).catch((error: unknown) => error as Error),
    tally.listSubscriptions({ query: { customer: id, limit: '20' } }),
    tally.listInvoices({ query: { customer: id, limit: '50' } }),
    tally.listCustomerCreditNotes({ id, query: { limit: '50' } }),
  ]);
  const grantById = new Map(grants.data.map((g) => [g.id, g]));
  const reasonOf = (t: Schemas['LedgerTransaction']) => {
    const grant = t.cause.type === 'grant' ? grantById.get(t.cause.id) : undefined;
    if (grant && t.kind === 'void') return grant.close_reason ?? '';
    return grant?.metadata.reason ?? t.refs.reason ?? '';
  };
  const figures: [string, string, string][] = [
    ['available', 'Available', 'Usable grants less holds'], ['paid', 'Paid', ''], ['promotional', 'Promotional', ''],
    ['held', 'Held', 'Reserved by holds'], ['overage', 'Overage', 'Consumed beyond grants, billed'], ['debt', 'Debt', 'Owed, settled from new credits'],
  ];
  const admin = !session.customer;

  const grantForm = admin ? apiForm('grant-form', [
    { name: 'credits', label: 'Credits', placeholder: '100' },
    { name: 'category', label: 'Category', type: 'select', options: ['promotional', 'paid'] },
    { name: 'expires_at', label: 'Expires (optional)', type: 'date' },
    { name: 'reason', label: 'Reason', placeholder: 'Why these credits are granted', required: true },
  ], [{
    label: 'Grant credits',
    action: async (v) => {
      await tally.createGrant({ body: {
        customer: id, credits: v.credits!, category: v.category as 'paid' | 'promotional', source: v.category === 'paid' ? 'adjustment' : 'promotion',
        ...(v.expires_at ? { expires_at: `${v.expires_at}T00:00:00Z` } : {}), metadata: { reason: v.reason! },
      } });
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    },
  }]) : null;

  const voidButton = (g: Schemas['Grant']) => {
    if (!admin || g.status !== 'active') return null;
    const holder = h('span', {});
    const open = h('button', { type: 'button', class: 'small', 'data-void': g.id, onclick: () => {
      holder.replaceChildren(apiForm(`void-${g.id}`, [{ name: 'reason', label: 'Reason', required: true }], [{
        label: 'Void grant', kind: 'danger',
        action: async ({ reason }) => { await tally.voidGrant({ id: g.id, body: { reason: reason! } }); window.dispatchEvent(new HashChangeEvent('hashchange')); },
      }]));
    } }, 'Void…');
    holder.appendChild(open);
    return holder;
  };

  /** Change or cancel a subscription, after a preview of its proration lines and credit changes. */
  const subscriptionActions = (s: Schemas['Subscription']) => {
    if (!admin || (s.status !== 'active' && s.status !== 'past_due')) return null;
    const box = h('div', { class: 'sub-actions' });
    const preview = (p: Schemas['SubscriptionPreview'], confirmLabel: string, run: () => Promise<unknown>) => {
      const confirm = h('button', { type: 'button', class: 'danger', 'data-confirm': s.id }, confirmLabel);
      confirm.addEventListener('click', async () => { confirm.setAttribute('disabled', ''); await run(); window.dispatchEvent(new HashChangeEvent('hashchange')); });
      box.appendChild(h('div', { class: 'notice' }, h('h3', {}, 'Preview: nothing is stored yet'),
        table(['Invoice', 'Line', 'Amount'], p.invoices.flatMap((i) => i.lines.map((l) => [i.kind, l.description, money(l.amount, i.currency)])), 'No invoice lines.'),
        table(['Ledger change', 'Entries'], p.ledger_transactions.map((t) => [t.kind, t.entries.map((e) => `${e.account} ${credits(e.amount)}`).join(' · ')]), 'No credit changes.'),
        confirm));
    };
    const open = h('button', { type: 'button', class: 'small', onclick: async () => {
      const plans = await tally.listPlans({ query: { limit: '100' } });
      box.replaceChildren(apiForm(`change-${s.id}`, [
        { name: 'plan', label: 'New plan', type: 'select', options: [...new Set(plans.data.map((p) => p.code))] },
        { name: 'timing', label: 'When', type: 'select', options: ['immediate', 'period_end'] },
      ], [
        { label: 'Preview change', action: async (v) => {
          const body = { plan: v.plan!, timing: v.timing as 'immediate' };
          preview(await tally.previewSubscriptionChange({ id: s.id, body }), 'Change plan', () => tally.changeSubscription({ id: s.id, body }));
        } },
        { label: 'Preview cancellation', kind: 'plain', action: async (v) => {
          const body = { timing: v.timing as 'immediate' };
          preview(await tally.previewSubscriptionCancel({ id: s.id, body }), 'Cancel subscription', () => tally.cancelSubscription({ id: s.id, body }));
        } },
      ]));
    } }, 'Change or cancel…');
    box.appendChild(open);
    return box;
  };

  return h('div', {},
    h('h1', {}, customer.name ?? customer.external_id ?? customer.id, ' ', h('span', { class: 'muted small' }, customer.id)),
    h('p', { class: 'muted' }, [customer.external_id && `External id ${customer.external_id}`, customer.email, customer.currency, customer.overage ? 'overage billed' : 'no overage (debt)'].filter(Boolean).join(' · ')),
    h('div', { class: 'figures', id: 'balance' }, figures.map(([key, label, hint]) =>
      h('div', { class: `figure ${key}`, 'data-figure': key }, h('span', { class: 'label' }, label), h('strong', {}, credits(balance[key as 'available'])), hint ? h('span', { class: 'hint' }, hint) : null))),
    h('p', { class: 'muted small' }, `As of ${when(balance.as_of)}. Credits are exact decimals.`),
    h('div', { class: 'figures money', id: 'money-balance' },
      (balance.money_balance.length ? balance.money_balance : [{ currency: customer.currency, amount: 0 }]).map((m) =>
        h('div', { class: 'figure', 'data-money': m.currency }, h('span', { class: 'label' }, `Money balance (${m.currency})`), h('strong', {}, money(m.amount, m.currency)),
          h('span', { class: 'hint' }, 'Credit notes left to apply to invoices')))),
    section('Grants',
      table(['Grant', 'Category', 'Source', 'Credits', 'Remaining', 'Status', 'Expires', 'Reason', ''],
        grants.data.map((g) => [g.id, g.category, g.source, credits(g.credits), credits(g.remaining), g.status, when(g.expires_at), g.metadata.reason ?? g.close_reason ?? '', voidButton(g)]),
        'No grants.', { id: 'grants' }),
      grantForm ? h('details', {}, h('summary', {}, 'Grant credits'), grantForm) : null),
    section('Holds', h('p', { class: 'muted small' }, 'Credits reserved for long jobs, newest first. Held is what an active hold still reserves: less than its credits once a void, an expiry or a refund took some back.'),
      table(['Hold', 'Credits', 'Held', 'Status', 'Expires', 'Captured'],
        holds.data.map((x) => [x.id, credits(x.credits), credits(x.held), x.status, when(x.expires_at), x.captured === null ? '' : credits(x.captured)]),
        'No holds.', { id: 'holds' })),
    section('Consumption over time, per meter', series instanceof Error
      ? h('p', { class: 'error', 'data-error': 'usage-series' }, series.message)
      : consumption(id, series, query)),
    section('Ledger', h('p', { class: 'muted small' }, 'Every change of credits, newest first, as a balanced transaction naming its cause.'),
      table(['When', 'Kind', 'Cause', 'Entries', 'Reason'],
        ledger.data.map((t) => [when(t.effective_at), t.kind, causeLink(t.cause.type, t.cause.id),
          h('span', { class: 'entries' }, t.entries.map((e) => `${e.account} ${e.amount.startsWith('-') ? '' : '+'}${credits(e.amount)}`).join(' · ')), reasonOf(t)]),
        'No ledger transactions.', { id: 'ledger' }),
      h('p', { class: 'pager' }, ledgerAfter ? link(`#/customers/${id}`, '← Newest') : null, ' ',
        ledger.next_cursor ? link(`#/customers/${id}?ledger_after=${ledger.next_cursor}`, 'Older transactions →') : null)),
    section('Usage events', h('p', { class: 'muted small' }, 'Each links to the explanation of its charge: the meters that rated it and the grants that paid.'),
      table(['Event', 'Type', 'At', 'Credits', 'Rating'],
        usage.data.map((e) => [link(`#/usage/${encodeURIComponent(e.id)}`, e.id), e.type, when(e.timestamp), credits(e.credits), e.rating.map((r) => `${r.meter}: ${r.quantity} → ${r.credits}`).join('; ')]),
        'No usage yet.', { id: 'usage' })),
    section('Subscriptions',
      table(['Subscription', 'Plan', 'Status', 'Current period', 'Pending', ''],
        subscriptions.data.map((s) => [link(`#/records/${s.id}`, s.id), s.plan, s.status, s.current_period ? `${when(s.current_period.start)} → ${when(s.current_period.end)}` : '—', s.pending_plan ?? (s.cancel_at_period_end ? 'cancels at period end' : ''), subscriptionActions(s)]),
        'No subscriptions.', { id: 'subscriptions' })),
    section('Invoices',
      table(['Invoice', 'Kind', 'Status', 'Total', 'Balance applied', 'Paid', 'Refunded', 'Due', 'Created'],
        invoices.data.map((i) => [link(`#/invoices/${i.id}`, i.id), i.kind, statusBadge(i), money(i.total, i.currency), money(i.balance_applied, i.currency), money(i.amount_paid, i.currency),
          money(i.amount_refunded, i.currency), when(i.due_at), when(i.created_at)]),
        'No invoices.', { id: 'invoices' })),
    section('Credit notes', h('p', { class: 'muted small' }, 'Money owed to the customer, kept as balance and applied to the next invoices, oldest first.'),
      creditNotesTable(notes.data, false),
      admin ? h('details', {}, h('summary', {}, 'Issue a goodwill credit note'), goodwillForm(session, customer)) : null),
  );
}

/** An invoice: lines, payments, refunds and chargebacks; refund with a preview of the credits it revokes. */
export async function invoicePage(session: Session, [id]: string[]): Promise<HTMLElement> {
  const { tally } = session;
  const invoice = await tally.getInvoice({ id: id! });
  const [refunds, chargebacks, attempts, notes] = await Promise.all([
    tally.listRefunds({ query: { customer: invoice.customer, limit: '100' } }),
    tally.listChargebacks({ query: { customer: invoice.customer, limit: '100' } }),
    tally.listPaymentAttempts({ id: invoice.id }),
    tally.listCustomerCreditNotes({ id: invoice.customer, query: { limit: '100' } }),
  ]);
  const invoiceNotes = notes.data.filter((n) => n.invoice === invoice.id || n.id === invoice.credit_note);
  const c = invoice.currency;
  const returns = [...refunds.data, ...chargebacks.data].filter((r) => r.invoice === invoice.id);
  const previewBox = h('div', { id: 'refund-preview' });
  const refundForm = !session.customer && invoice.amount_paid > invoice.amount_refunded + invoice.amount_charged_back ? apiForm('refund-form', [
    { name: 'amount', label: `Amount (minor units of ${c})`, type: 'number', value: String(invoice.amount_paid - invoice.amount_refunded - invoice.amount_charged_back) },
    { name: 'credit_policy', label: 'Credit policy', type: 'select', options: ['proportional', 'full', 'unused_only', 'none'] },
    { name: 'reason', label: 'Reason', placeholder: 'Why the money is returned' },
  ], [{
    label: 'Preview refund',
    action: async (v) => {
      const body = { invoice: invoice.id, amount: Number(v.amount), reason: v.reason!, credit_policy: v.credit_policy as 'full' };
      const p = await tally.previewRefund({ body });
      const confirm = h('button', { type: 'button', class: 'danger', id: 'confirm-refund' }, `Refund ${money(p.refund.amount, c)}`);
      confirm.addEventListener('click', async () => {
        confirm.setAttribute('disabled', '');
        const made = await tally.createRefund({ body });
        previewBox.replaceChildren(h('div', { class: 'notice', id: 'refund-done' }, `Refund ${made.id} recorded: ${money(made.amount, c)} returned, `,
          h('strong', { 'data-made': 'credits_revoked' }, credits(made.credits_revoked)), ' credits revoked, ',
          h('strong', { 'data-made': 'credits_shortfall' }, credits(made.credits_shortfall)), ` credits already spent (${made.shortfall}).`));
        // Shows the refund in the invoice's lists a moment later, unless the user has moved on:
        // re-rendering another page would close whatever form is open there.
        const here = location.hash;
        setTimeout(() => { if (location.hash === here) window.dispatchEvent(new HashChangeEvent('hashchange')); }, 1500);
      });
      previewBox.replaceChildren(h('div', { class: 'notice' }, h('h3', {}, 'Preview: nothing is stored yet'),
        h('dl', {},
          h('dt', {}, 'Money returned'), h('dd', { 'data-preview': 'amount' }, money(p.refund.amount, c)),
          h('dt', {}, 'Credits the invoice granted'), h('dd', {}, credits(p.refund.credits_granted)),
          h('dt', {}, 'Credits revoked'), h('dd', { 'data-preview': 'credits_revoked' }, credits(p.refund.credits_revoked)),
          h('dt', {}, 'Already spent (shortfall)'), h('dd', { 'data-preview': 'credits_shortfall' }, `${credits(p.refund.credits_shortfall)} → ${p.refund.shortfall}`)),
        table(['Ledger change', 'Entries'], p.ledger_transactions.map((t) => [t.kind, t.entries.map((e) => `${e.account} ${credits(e.amount)}`).join(' · ')])),
        confirm));
    },
  }]) : null;
  return h('div', {},
    h('h1', {}, `Invoice ${invoice.id}`),
    h('p', { class: 'muted' }, link(`#/customers/${invoice.customer}`, invoice.customer), ` · ${invoice.kind} · `, statusBadge(invoice),
      invoice.period_start ? ` · ${when(invoice.period_start)} → ${when(invoice.period_end)}` : ''),
    h('p', { class: 'muted small', id: 'kind' }, `${invoice.kind[0]!.toUpperCase()}${invoice.kind.slice(1)}: ${kindMeaning[invoice.kind]}.`),
    section('Lines', table(['Type', 'Description', 'Quantity', 'Unit', 'Amount'],
      invoice.lines.map((l) => [l.type, l.description, l.quantity, l.unit_amount, money(l.amount, c)]), 'No lines.'),
    h('dl', { class: 'totals', id: 'totals' }, h('dt', {}, 'Subtotal'), h('dd', {}, money(invoice.subtotal, c)), h('dt', {}, 'Total'), h('dd', {}, money(invoice.total, c)),
      h('dt', {}, 'Balance applied (credit notes)'), h('dd', {}, money(invoice.balance_applied, c)), h('dt', {}, 'Amount due'), h('dd', {}, h('strong', {}, money(invoice.amount_due, c))),
      h('dt', {}, 'Paid'), h('dd', {}, money(invoice.amount_paid, c)), h('dt', {}, 'Still to pay'), h('dd', { 'data-remaining': '' }, money(invoice.amount_remaining, c)),
      h('dt', {}, 'Refunded'), h('dd', {}, money(invoice.amount_refunded, c)), h('dt', {}, 'Charged back'), h('dd', {}, money(invoice.amount_charged_back, c)))),
    collectionSection(invoice, attempts.data),
    section('Payments', table(['Payment', 'Amount', 'Method', 'Provider', 'At'], invoice.payments.map((p) => [p.id, money(p.amount, c), p.method, p.provider ?? '—', when(p.created_at)]), 'No payments.')),
    section('Refunds and chargebacks', table(['Id', 'Kind', 'Amount', 'Policy', 'Credits revoked', 'Shortfall', 'Credit notes taken back', 'Status', 'Reason'],
      returns.map((r) => [link(`#/records/${r.id}`, r.id), r.object, money(r.amount, c), r.credit_policy, credits(r.credits_revoked), credits(r.credits_shortfall),
        // A chargeback takes back the notes that credited this invoice's fee: what was left of them, and what was already spent (shortfall).
        'credit_notes_reversed' in r ? `${money(r.credit_notes_reversed, c)}${r.credit_notes_shortfall > 0 ? ` (${money(r.credit_notes_shortfall, c)} already spent)` : ''}` : '—',
        r.status, r.reason]), 'None.', { id: 'returns' }),
    refundForm ? h('div', {}, h('h3', {}, 'Refund'), refundForm, previewBox) : null),
    section('Credit notes', h('p', { class: 'muted small' }, 'Issued on this invoice (a downgrade credit, a refund to balance, a void), or what its overpayment became.'),
      creditNotesTable(invoiceNotes, false)),
  );
}

/** Why a usage event cost what it did. */
export async function usageEventPage(session: Session, [id]: string[]): Promise<HTMLElement> {
  const e = await session.tally.getUsageEvent({ id: id! });
  const txn = typeof e.transaction === 'object' && e.transaction ? e.transaction : null;
  return h('div', {}, h('h1', {}, `Usage event ${e.id}`),
    h('p', { class: 'muted' }, link(`#/customers/${e.customer}`, e.customer), ` · ${e.type} · ${when(e.timestamp)} · recorded ${when(e.recorded_at)}`),
    section('Charge', h('p', {}, h('strong', {}, `${credits(e.credits)} credits`), e.overage && e.overage !== '0' ? ` (overage ${credits(e.overage)})` : '', e.debt && e.debt !== '0' ? ` (debt ${credits(e.debt)})` : ''),
      table(['Meter', 'Quantity', 'Credits'], e.rating.map((r) => [r.meter, r.quantity, credits(r.credits)]), 'No meter counted this event.'),
      table(['Paid by', 'Credits'], (e.paid_by ?? []).map((p) => [link(`#/records/${p.grant}`, p.grant), credits(p.credits)]), 'Nothing paid from grants.')),
    section('Properties', h('pre', {}, JSON.stringify(e.properties, null, 2))),
    txn ? section('Ledger transaction', h('p', {}, link(`#/records/${txn.id}`, txn.id)), table(['Account', 'Amount'], txn.entries.map((x) => [x.account, credits(x.amount)]))) : null);
}

/** Any record by id, found by its prefix: where the reconciliation's ids lead. */
export async function recordPage(session: Session, [id]: string[]): Promise<HTMLElement> {
  const { tally } = session;
  const ref = id!;
  if (ref.startsWith('cus_')) { location.hash = `#/customers/${ref}`; return h('p', {}, 'Opening the customer…'); }
  if (ref.startsWith('inv_')) { location.hash = `#/invoices/${ref}`; return h('p', {}, 'Opening the invoice…'); }
  if (ref.startsWith('cn_')) { location.hash = `#/credit-notes/${ref}`; return h('p', {}, 'Opening the credit note…'); }
  if (ref.startsWith('prm_')) { location.hash = `#/promotions/${ref}`; return h('p', {}, 'Opening the campaign…'); }
  if (ref.startsWith('whk_')) { location.hash = `#/webhooks/${ref}`; return h('p', {}, 'Opening the webhook endpoint…'); }
  const fetchers: [string, () => Promise<unknown>][] = [
    ['grt_', () => tally.getGrant({ id: ref })], ['txn_', () => tally.getLedgerTransaction({ id: ref })], ['sub_', () => tally.getSubscription({ id: ref })],
    ['hld_', () => tally.getHold({ id: ref })], ['pln_', () => tally.getPlan({ id: ref })], ['cn_', () => tally.getCreditNote({ id: ref })],
    ['prc_', () => tally.getRefund({ id: ref }).catch(() => tally.getChargeback({ id: ref }))],
  ];
  const fetcher = fetchers.find(([prefix]) => ref.startsWith(prefix))?.[1] ?? (() => tally.getUsageEvent({ id: ref }));
  const record = (await fetcher()) as Record<string, unknown>;
  const value = (key: string, v: unknown): Node | string => {
    if (typeof v === 'string' && /^(cus|inv|grt|txn|sub|hld|pln|cn|prc)_/.test(v) && v !== ref) return link(`#/records/${v}`, v);
    if (key === 'event' && typeof v === 'string') return link(`#/usage/${v}`, v);
    return typeof v === 'object' && v !== null ? h('pre', {}, JSON.stringify(v, null, 2)) : String(v ?? '—');
  };
  return h('div', { id: 'record' }, h('h1', {}, `${String(record.object ?? 'record').replace(/_/g, ' ')} ${ref}`),
    table(['Field', 'Value'], Object.entries(record).map(([k, v]) => [k, value(k, v)])));
}
