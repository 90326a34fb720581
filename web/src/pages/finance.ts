import type { Session } from '../main.ts';
import { barChart, h, link, section, table } from '../ui.ts';

const reports = ['revenue', 'usage', 'overage', 'refunds', 'promotional', 'deferred_revenue', 'credit_notes'] as const;
type ReportName = (typeof reports)[number];
const operation = {
  revenue: 'getRevenueReport', usage: 'getUsageReport', overage: 'getOverageReport', refunds: 'getRefundsReport',
  promotional: 'getPromotionalReport', deferred_revenue: 'getDeferredRevenueReport', credit_notes: 'getCreditNotesReport',
} as const;
/** The column each report charts, and the column that labels its bars. */
const chartOf: Record<ReportName, [string, string, string]> = {
  revenue: ['net', 'period_start', 'minor units'], usage: ['credits', 'meter', 'credits'], overage: ['amount', 'period_start', 'minor units'],
  refunds: ['amount', 'created_at', 'minor units'], promotional: ['credits_consumed', 'source', 'credits'], deferred_revenue: ['closing_deferred', 'grant', 'minor units'],
  credit_notes: ['amount', 'created_at', 'minor units'],
};

const cell = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Reports: choose one, a date window, see its table and chart, download it as CSV. */
export async function reportsPage(session: Session, _params: string[], query: URLSearchParams): Promise<HTMLElement> {
  const name = (reports as readonly string[]).includes(query.get('name') ?? '') ? (query.get('name') as ReportName) : 'revenue';
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const filter = { ...(from ? { from: `${from}T00:00:00Z` } : {}), ...(to ? { to: `${to}T00:00:00Z` } : {}) };
  const report = await session.tally[operation[name]]({ query: filter });
  const rows = report.rows;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const form = h('form', { class: 'filters', id: 'report-filters' },
    h('label', {}, 'Report ', h('select', { name: 'name' }, reports.map((r) => h('option', { value: r, selected: r === name }, r.replace(/_/g, ' '))))),
    h('label', {}, 'From ', h('input', { type: 'date', name: 'from', value: from })),
    h('label', {}, 'To ', h('input', { type: 'date', name: 'to', value: to })),
    h('button', { type: 'submit', class: 'primary' }, 'Run'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const params = new URLSearchParams();
    for (const key of ['name', 'from', 'to']) if (data.get(key)) params.set(key, String(data.get(key)));
    location.hash = `#/reports?${params}`;
  });
  const download = h('button', { type: 'button', id: 'download-csv', onclick: async () => {
    const csv = await session.tally.reportCsv(name, filter);
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `${name}${from ? `-from-${from}` : ''}${to ? `-to-${to}` : ''}.csv` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  } }, 'Download CSV');
  const [valueKey, labelKey, unit] = chartOf[name];
  const charted = rows.filter((r) => r[valueKey] !== undefined).slice(0, 40);
  return h('div', {}, h('h1', {}, 'Reports'), form,
    section(`${name.replace(/_/g, ' ')}${from || to ? ` · ${from || '…'} → ${to || '…'}` : ''}`,
      barChart(charted.map((r) => cell(r[labelKey]).slice(0, 10)), [{ name: valueKey.replace(/_/g, ' '), values: charted.map((r) => r[valueKey] as string | number) }], unit),
      h('p', {}, download),
      table(columns, rows.map((r) => columns.map((c) => cell(r[c]))), 'No rows in this window.', { id: 'report-rows' }),
      h('h3', {}, 'Totals'), h('pre', { id: 'report-totals' }, JSON.stringify(report.totals, null, 2))));
}

/** Reconciliation: every check, and every discrepancy linked to the records it names. */
export async function reconciliationPage(session: Session): Promise<HTMLElement> {
  const r = await session.tally.getReconciliation();
  return h('div', {}, h('h1', {}, 'Reconciliation'),
    h('p', { class: r.ok ? 'ok' : 'error', id: 'reconciliation-status' }, r.ok ? 'Credits and money reconcile.' : `${r.discrepancies.length} discrepanc${r.discrepancies.length === 1 ? 'y' : 'ies'} found.`),
    section('Checks', table(['Check', 'Result'], r.checks.map((c) => [c.name.replace(/_/g, ' '), h('span', { class: c.ok ? 'ok' : 'error' }, c.ok ? '✓ ok' : '✗ failed')]))),
    section('Discrepancies', table(['Check', 'What disagrees', 'Records'], r.discrepancies.map((d) => [d.check.replace(/_/g, ' '), d.message,
      h('span', { class: 'ids' }, d.ids.map((id) => [link(`#/records/${encodeURIComponent(id.replace(/^grant:/, ''))}`, id), ' ']))]), 'None: every check passes.', { id: 'discrepancies' })));
}
