import { createTally, TallyError, type Tally } from '@tally/sdk';
import { h, link } from './ui.ts';
import { apiForm } from './forms.ts';
import { customersPage, customerPage, invoicePage, usageEventPage, recordPage } from './pages/customers.ts';
import { reportsPage, reconciliationPage } from './pages/finance.ts';
import { creditNotePage, creditNotesPage } from './pages/credit-notes.ts';
import { webhookEndpointPage, webhooksPage } from './pages/webhooks.ts';
import { stripePage } from './pages/stripe.ts';
import { promotionPage, promotionsPage, referralsPage } from './pages/promotions.ts';

/**
 * The dashboard: a hash router over a handful of pages, each built from a few SDK calls. The API
 * key lives in sessionStorage only (gone when the tab closes); a portal token is confined to its
 * customer's page here, and the server refuses it everything else anyway.
 */
export interface Session {
  tally: Tally;
  scopes: string[];
  /** Set for a portal token: the one customer it may see. */
  customer: string | null;
}

const keyName = 'tally.key';
const root = document.getElementById('app')!;

function client(key: string): Tally {
  return createTally({ baseUrl: location.origin, apiKey: key, maxRetries: 1 });
}

/** The session of the key in sessionStorage, asked of the server once per key (not per page). */
let known: { key: string; session: Session } | null = null;

async function restore(): Promise<Session | null> {
  const key = sessionStorage.getItem(keyName);
  if (!key) return null;
  if (known?.key === key) return known.session;
  try {
    const tally = client(key);
    const me = await tally.getSession();
    known = { key, session: { tally, scopes: me.scopes, customer: me.customer } };
    return known.session;
  } catch {
    sessionStorage.removeItem(keyName);
    return null;
  }
}

function signInPage(): HTMLElement {
  const form = apiForm('sign-in', [{ name: 'key', label: 'API key', type: 'password', placeholder: 'An API key or a customer portal token' }], [{
    label: 'Sign in',
    action: async ({ key }) => {
      if (!key) throw new Error('Enter an API key.');
      const me = await client(key).getSession().catch((error: unknown) => {
        throw error instanceof TallyError && error.status === 401 ? new Error('This key is not valid, or it was revoked.') : error;
      });
      sessionStorage.setItem(keyName, key);
      location.hash = me.customer ? `#/customers/${me.customer}` : '#/customers';
      await render();
    },
  }]);
  return h('main', { class: 'sign-in' }, h('h1', {}, 'Tally'), h('p', { class: 'muted' }, 'Credits and billing, for finance and support.'), form,
    h('p', { class: 'muted small' }, 'The key stays in this browser tab only.'));
}

function layout(session: Session, content: HTMLElement): HTMLElement {
  const nav = session.customer
    ? [link(`#/customers/${session.customer}`, 'My account')]
    : [link('#/customers', 'Customers'), link('#/credit-notes', 'Credit notes'), link('#/promotions', 'Promotions'), link('#/referrals', 'Referrals'),
      link('#/reports', 'Reports'), link('#/reconciliation', 'Reconciliation'), link('#/webhooks', 'Webhooks'), link('#/stripe', 'Stripe')];
  const signOut = h('button', { class: 'link', type: 'button', onclick: () => { sessionStorage.removeItem(keyName); location.hash = ''; void render(); } }, 'Sign out');
  return h('div', { class: 'shell' },
    h('header', {}, h('strong', { class: 'brand' }, 'Tally'), h('nav', {}, nav), h('span', { class: 'who muted' }, session.customer ? `portal · ${session.customer}` : session.scopes.join(', ')), signOut),
    h('main', {}, content));
}

type Route = (session: Session, params: string[], query: URLSearchParams) => Promise<HTMLElement>;

const routes: [RegExp, Route][] = [
  [/^\/customers\/?$/, customersPage],
  [/^\/customers\/([^/]+)$/, customerPage],
  [/^\/invoices\/([^/]+)$/, invoicePage],
  [/^\/usage\/([^/]+)$/, usageEventPage],
  [/^\/records\/([^/]+)$/, recordPage],
  [/^\/reports\/?$/, reportsPage],
  [/^\/reconciliation\/?$/, reconciliationPage],
  [/^\/credit-notes\/?$/, creditNotesPage],
  [/^\/credit-notes\/([^/]+)$/, creditNotePage],
  [/^\/webhooks\/?$/, webhooksPage],
  [/^\/webhooks\/([^/]+)$/, webhookEndpointPage],
  [/^\/promotions\/?$/, promotionsPage],
  [/^\/promotions\/([^/]+)$/, promotionPage],
  [/^\/referrals\/?$/, referralsPage],
  [/^\/stripe\/?$/, stripePage],
];

/** Pages a portal token may open besides its customer's: records the server confines to that customer. */
const portalPages = new Set<Route>([usageEventPage, invoicePage, recordPage, creditNotePage]);

let rendering = 0;

export async function render(): Promise<void> {
  const ticket = ++rendering;
  const session = await restore();
  if (ticket !== rendering) return;
  if (!session) {
    root.replaceChildren(signInPage());
    return;
  }
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const fallback = session.customer ? `/customers/${session.customer}` : '/customers';
  const match = routes.map(([pattern, page]) => [pattern.exec(path || fallback), page] as const).find(([m]) => m);
  root.replaceChildren(layout(session, h('p', { class: 'muted' }, 'Loading…')));
  let content: HTMLElement;
  if (!match) content = h('p', {}, 'No such page. ', link('#/customers', 'Customers'));
  else {
    const params = match[0]!.slice(1).map(decodeURIComponent);
    if (session.customer && !(params[0] === session.customer || portalPages.has(match[1]))) {
      content = h('p', { class: 'error', 'data-error': 'forbidden' }, 'This page is not available to a customer portal token.');
    } else {
      content = await match[1](session, params, new URLSearchParams(search)).catch((error: unknown) => errorPage(error));
    }
  }
  if (ticket === rendering) root.replaceChildren(layout(session, content));
}

function errorPage(error: unknown): HTMLElement {
  if (error instanceof TallyError) return h('div', { class: 'card' }, h('h1', {}, error.status === 404 ? 'Not found' : 'Something went wrong'), h('p', { class: 'error', 'data-error': error.code }, `${error.message} (${error.code})`));
  return h('p', { class: 'error' }, String(error));
}

window.addEventListener('hashchange', () => void render());
void render();
