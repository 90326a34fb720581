/** Small DOM helpers, formatting and charts for the dashboard: no framework, no dependency. */

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(key, '');
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const link = (href: string, ...children: Child[]) => h('a', { href }, ...children);

/** A table from column headers and rows; `empty` when there are no rows. */
export function table(headers: string[], rows: Child[][], empty = 'Nothing yet.', attrs: Attrs = {}): HTMLElement {
  if (rows.length === 0) return h('p', { ...attrs, class: 'muted' }, empty);
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

export const section = (title: string, ...children: Child[]) => h('section', { class: 'card' }, h('h2', {}, title), ...children);

/** A date-time as `2026-05-01 10:00 UTC` (finance reads UTC, as the ledger records it). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * Fraction digits of the currencies whose minor unit is not a hundredth, as the server bills them
 * (ISO 4217; src/core/money.ts, `currencyExponents`, which a test keeps this list equal to). Not
 * the browser's `Intl` digits: CLDR shows HUF, COP, IDR and PKR without decimals and IQD with
 * none where ISO 4217 has 2 and 3, which showed 1000 minor units of HUF as 1,000 HUF (10.00).
 */
export const currencyDigits: Readonly<Record<string, number>> = Object.freeze({
  ...Object.fromEntries(['JPY', 'KRW', 'CLP', 'ISK', 'VND', 'XAF', 'XOF', 'UGX', 'PYG', 'RWF', 'XPF', 'KMF', 'GNF', 'DJF', 'VUV', 'BIF'].map((c) => [c, 0])),
  ...Object.fromEntries(['KWD', 'BHD', 'JOD', 'OMR', 'TND', 'IQD', 'LYD'].map((c) => [c, 3])),
});

const fractionDigits = (currency: string): number => currencyDigits[currency] ?? 2;

function group(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Minor units as money, exactly (string arithmetic, no floating point): 123456 USD → "1,234.56 USD". */
export function money(minor: number | null | undefined, currency = ''): string {
  if (minor === null || minor === undefined) return '—';
  const digits = currency ? fractionDigits(currency) : 2;
  const negative = minor < 0;
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const integer = text.slice(0, text.length - digits);
  const fraction = digits ? `.${text.slice(text.length - digits)}` : '';
  return `${negative ? '−' : ''}${group(integer)}${fraction}${currency ? ` ${currency}` : ''}`;
}

/** A decimal string of credits with thousands separators, unchanged otherwise. */
export function credits(value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const negative = value.startsWith('-');
  const [integer, fraction] = value.replace(/^-/, '').split('.');
  return `${negative ? '−' : ''}${group(integer ?? '0')}${fraction ? `.${fraction}` : ''}`;
}

/** Exact sums of credits in the browser: decimal strings to micro-credits and back (BigInt only). */
export function toMicro(value: string): bigint {
  const negative = value.startsWith('-');
  const [whole, fraction = ''] = value.replace('-', '').split('.');
  const amount = BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
  return negative ? -amount : amount;
}

export function fromMicro(value: bigint): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const fraction = (magnitude % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${magnitude / 1_000_000n}${fraction ? `.${fraction}` : ''}`;
}

/** Decimal strings to numbers for drawing only (bar heights), never for amounts shown. */
const magnitude = (value: string | number): number => (typeof value === 'number' ? value : Number(value));

const palette = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];

/** A grouped bar chart in SVG: one group per label, one bar per series. */
export function barChart(labels: string[], series: { name: string; values: (string | number)[] }[], unit: string): HTMLElement {
  if (labels.length === 0 || series.length === 0) return h('p', { class: 'muted' }, 'No data in this period.');
  const width = 720;
  const height = 200;
  // The scale is drawn from numbers; the value shown as the maximum is the exact string it came from.
  const all = series.flatMap((s) => s.values);
  const peak = all.reduce<string | number>((best, v) => (magnitude(v) > magnitude(best) ? v : best), all[0] ?? 0);
  const max = Math.max(1e-9, magnitude(peak));
  const groupWidth = width / labels.length;
  const barWidth = Math.min(48, Math.max(2, (groupWidth * 0.8) / series.length));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 24}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  series.forEach((s, si) => s.values.forEach((value, li) => {
    const barHeight = (magnitude(value) / max) * height;
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', String(li * groupWidth + (groupWidth - barWidth * series.length) / 2 + si * barWidth));
    rect.setAttribute('y', String(height - barHeight));
    rect.setAttribute('width', String(barWidth));
    rect.setAttribute('height', String(Math.max(barHeight, 0)));
    rect.setAttribute('fill', palette[si % palette.length]!);
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${s.name} · ${labels[li]}: ${value} ${unit}`;
    rect.appendChild(title);
    svg.appendChild(rect);
  }));
  const step = Math.ceil(labels.length / 8);
  labels.forEach((label, li) => {
    if (li % step !== 0) return;
    const text = document.createElementNS(ns, 'text');
    text.setAttribute('x', String(li * groupWidth + groupWidth / 2));
    text.setAttribute('y', String(height + 16));
    text.setAttribute('text-anchor', 'middle');
    text.setAttribute('class', 'axis');
    text.textContent = label;
    svg.appendChild(text);
  });
  const legend = h('div', { class: 'legend' }, series.map((s, si) => h('span', {}, h('i', { style: `background:${palette[si % palette.length]}` }), s.name)),
    h('span', { class: 'muted' }, `highest bar ${typeof peak === 'string' ? credits(peak) : peak} ${unit}`));
  const box = h('div', { class: 'chart-box' });
  box.appendChild(svg);
  box.appendChild(legend);
  return box;
}
