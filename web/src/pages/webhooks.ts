import type { Schemas } from '@tally/sdk';
import type { Session } from '../main.ts';
import { apiForm } from '../forms.ts';
import { h, link, section, table, when } from '../ui.ts';

const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

/** A signing secret, shown once: the API never shows it again. */
function secretNotice(secret: string, what: string): HTMLElement {
  return h('div', { class: 'notice secret', id: 'webhook-secret' },
    h('strong', {}, `${what} Copy the signing secret now: it is shown only this once.`),
    h('pre', { 'data-secret': '' }, secret),
    h('p', { class: 'muted small' }, 'Verify each message with it (Standard Webhooks: the SDK\'s verifyWebhook, or the standardwebhooks package).'));
}

const endpointState = (e: Schemas['WebhookEndpoint']) => e.disabled
  ? h('span', { class: 'badge bad', 'data-state': 'disabled' }, e.disabled_reason === 'failing' ? 'disabled: failing for 5 days' : 'disabled')
  : e.failing_since ? h('span', { class: 'badge warn', 'data-state': 'failing' }, `failing since ${when(e.failing_since)}`)
    : h('span', { class: 'badge good', 'data-state': 'enabled' }, 'enabled');

/** Webhook endpoints: the list, and a form to add one (its secret shown once). */
export async function webhooksPage(session: Session): Promise<HTMLElement> {
  const { tally } = session;
  const endpointsTable = (list: Schemas['WebhookEndpoint'][]) => table(['Endpoint', 'URL', 'Event types', 'State', 'Description', 'Created'],
    list.map((e) => [link(`#/webhooks/${e.id}`, e.id), e.url, e.event_types.join(', '), endpointState(e), e.description ?? '—', when(e.created_at)]),
    'No endpoints yet.', { id: 'webhook-endpoints' });
  const listed = h('div', {}, endpointsTable((await tally.listWebhookEndpoints({ query: { limit: '100' } })).data));
  const created = h('div', {});
  const form = apiForm('endpoint-form', [
    { name: 'url', label: 'URL', placeholder: 'https://example.com/webhooks/tally' },
    { name: 'event_types', label: 'Event types (comma-separated, * for all)', value: '*' },
    { name: 'description', label: 'Description (optional)', placeholder: 'Billing system' },
  ], [{
    label: 'Add endpoint',
    action: async (v) => {
      const types = (v.event_types || '*').split(',').map((t) => t.trim()).filter(Boolean);
      const endpoint = await tally.createWebhookEndpoint({ body: { url: v.url!, event_types: types, ...(v.description ? { description: v.description } : {}) } });
      created.replaceChildren(secretNotice(endpoint.secret, `Endpoint ${endpoint.id} added.`), h('p', {}, link(`#/webhooks/${endpoint.id}`, `Open ${endpoint.url} →`)));
      form.reset();
      listed.replaceChildren(endpointsTable((await tally.listWebhookEndpoints({ query: { limit: '100' } })).data));
    },
  }]);
  return h('div', {}, h('h1', {}, 'Webhooks'),
    h('p', { class: 'muted' }, 'Signed messages (Standard Webhooks) sent to your endpoints when credits, subscriptions, invoices, refunds, credit notes and promotions change. Failed deliveries are retried for 3 days.'),
    section('Endpoints', listed),
    section('Add an endpoint', form, created));
}

/** The outcome of the last attempt, as a person reads it. */
function lastAttempt(d: Schemas['WebhookDelivery']): string {
  const a = d.attempts.at(-1);
  if (!a) return 'not sent yet';
  return `${a.status_code ?? a.error ?? 'no answer'} · ${a.duration_ms} ms · ${when(a.attempted_at)}`;
}

function attemptsTable(d: Schemas['WebhookDelivery']): HTMLElement {
  return table(['#', 'Sent', 'Answer', 'Took', 'Response (first 1 KiB)', 'Next attempt'],
    d.attempts.map((a) => [String(a.attempt), when(a.attempted_at), a.status_code === null ? (a.error ?? 'no answer') : String(a.status_code), `${a.duration_ms} ms`,
      a.response_body ? h('code', { class: 'small' }, a.response_body.slice(0, 200)) : '—', when(a.next_attempt_at)]), 'No attempt yet.');
}

/** One endpoint: its settings, secret rotation, disable/enable, replay, and its deliveries with retry. */
export async function webhookEndpointPage(session: Session, [id]: string[], query: URLSearchParams): Promise<HTMLElement> {
  const { tally } = session;
  const after = query.get('after') ?? undefined;
  const [endpoint, deliveries] = await Promise.all([
    tally.getWebhookEndpoint({ id: id! }),
    tally.listWebhookDeliveries({ id: id!, query: { limit: '50', order: 'desc', ...(after ? { starting_after: after } : {}) } }),
  ]);
  const notice = h('div', {});
  const toggle = h('button', { type: 'button', id: 'toggle-endpoint', class: endpoint.disabled ? 'primary' : 'danger', onclick: async () => {
    toggle.setAttribute('disabled', '');
    await tally.updateWebhookEndpoint({ id: endpoint.id, body: { disabled: !endpoint.disabled } });
    rerender();
  } }, endpoint.disabled ? 'Enable' : 'Disable');
  const rotate = h('button', { type: 'button', id: 'rotate-secret', onclick: async () => {
    if (!confirm('Rotate the signing secret? The old secret keeps signing alongside the new one for 24 hours.')) return;
    rotate.setAttribute('disabled', '');
    const rotated = await tally.rotateWebhookSecret({ id: endpoint.id });
    notice.replaceChildren(secretNotice(rotated.secret, `Secret rotated; the previous one signs too until ${when(rotated.previous_secret_expires_at)}.`));
    rotate.removeAttribute('disabled');
  } }, 'Rotate secret…');
  const replay = apiForm('replay-form', [{ name: 'since', label: 'Send again every event since (UTC date)', type: 'date' }], [{
    label: 'Replay', kind: 'plain',
    action: async (v) => {
      const result = await tally.replayWebhooks({ id: endpoint.id, body: { since: v.since ? `${v.since}T00:00:00Z` : '' } });
      notice.replaceChildren(h('div', { class: 'notice' }, `${result.deliveries} deliveries queued since ${when(result.since)}${result.truncated ? ' (more remain: replay again from a later time)' : ''}.`));
    },
  }]);

  const rows = deliveries.data.map((d) => {
    const retry = h('button', { type: 'button', class: 'small', 'data-retry': d.id, onclick: async () => {
      retry.setAttribute('disabled', '');
      try {
        const due = await tally.retryWebhookDelivery({ id: d.id });
        retry.replaceWith(h('span', { class: 'ok small', 'data-retried': d.id }, `Due now (${when(due.next_attempt_at)})`));
      } catch (error) {
        retry.replaceWith(h('span', { class: 'error small' }, error instanceof Error ? error.message : String(error)));
      }
    } }, 'Retry now');
    return [h('details', {}, h('summary', {}, d.id), attemptsTable(d)), d.event_type, h('span', { class: `badge ${d.status === 'succeeded' ? 'good' : d.status === 'failed' ? 'bad' : 'warn'}`, 'data-delivery-status': d.status }, d.status),
      String(d.attempt_count), lastAttempt(d), d.status === 'pending' ? when(d.next_attempt_at) : '—', when(d.created_at), retry];
  });
  return h('div', {}, h('h1', {}, 'Webhook endpoint ', h('span', { class: 'muted small' }, endpoint.id)),
    h('p', {}, h('code', {}, endpoint.url), ' ', endpointState(endpoint)),
    section('Settings', h('dl', {},
      h('dt', {}, 'Event types'), h('dd', {}, endpoint.event_types.join(', ')),
      h('dt', {}, 'Description'), h('dd', {}, endpoint.description ?? '—'),
      h('dt', {}, 'Failing since'), h('dd', {}, when(endpoint.failing_since)),
      h('dt', {}, 'Previous secret signs until'), h('dd', {}, when(endpoint.previous_secret_expires_at)),
      h('dt', {}, 'Created'), h('dd', {}, when(endpoint.created_at)),
      h('dt', {}, 'Updated'), h('dd', {}, when(endpoint.updated_at))),
    h('div', { class: 'buttons' }, toggle, rotate), replay, notice),
    section('Deliveries, newest first', h('p', { class: 'muted small' }, 'One per event sent to this endpoint. Open one for every attempt; “Retry now” sends it again at once, whatever its state.'),
      table(['Delivery', 'Event', 'Status', 'Attempts', 'Last attempt', 'Next attempt', 'Created', ''], rows, 'No deliveries yet.', { id: 'webhook-deliveries' }),
      h('p', { class: 'pager' }, after ? link(`#/webhooks/${endpoint.id}`, '← Newest') : null, ' ',
        deliveries.next_cursor ? link(`#/webhooks/${endpoint.id}?after=${deliveries.next_cursor}`, 'Older deliveries →') : null)));
}
