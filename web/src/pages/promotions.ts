import type { Schemas } from '@tally/sdk';
import type { Session } from '../main.ts';
import { credits, fromMicro, h, link, section, table, toMicro, when } from '../ui.ts';

const customerLink = (id: string | null) => (id ? link(`#/customers/${id}`, id) : '—');

function codeOf(p: Schemas['Promotion']): string {
  if (p.code) return p.code;
  return p.codes ? `${p.codes.count} single-use codes${p.codes.prefix ? ` (${p.codes.prefix}…)` : ''}` : '—';
}

function validity(p: Schemas['Promotion']): string {
  if (!p.valid_from && !p.valid_until) return 'always';
  return `${p.valid_from ? when(p.valid_from) : '…'} → ${p.valid_until ? when(p.valid_until) : '…'}`;
}

const activeBadge = (p: Schemas['Promotion']) => h('span', { class: `badge ${p.active ? 'good' : 'plain'}` }, p.active ? 'active' : `stopped ${when(p.deactivated_at)}`);

/** Campaigns: their codes, the credits one redemption grants, and how far their limits are used. */
export async function promotionsPage(session: Session, _params: string[], query: URLSearchParams): Promise<HTMLElement> {
  const after = query.get('after') ?? undefined;
  const page = await session.tally.listPromotions({ query: { limit: '50', ...(after ? { starting_after: after } : {}) } });
  return h('div', {}, h('h1', {}, 'Promotions'),
    h('p', { class: 'muted' }, 'Each redemption is a promotional grant of credits, linked to its campaign and code. ', link('#/referrals', 'Referrals →')),
    section('Campaigns', table(['Campaign', 'Name', 'Code', 'Credits each', 'Redemptions', 'Per customer', 'Valid', 'State'],
      page.data.map((p) => [link(`#/promotions/${p.id}`, p.id), p.name ?? '—', codeOf(p), credits(p.credits),
        `${p.redemptions}${p.max_redemptions === null ? '' : ` of ${p.max_redemptions}`}`, String(p.max_per_customer), validity(p), activeBadge(p)]),
      'No campaigns yet.', { id: 'promotions' }),
    h('p', { class: 'pager' }, after ? link('#/promotions', '← First page') : null, ' ', page.next_cursor ? link(`#/promotions?after=${page.next_cursor}`, 'Next page →') : null)));
}

/** One campaign: its terms and every redemption, each linked to its customer and grant. */
export async function promotionPage(session: Session, [id]: string[], query: URLSearchParams): Promise<HTMLElement> {
  const { tally } = session;
  const after = query.get('after') ?? undefined;
  const [p, redemptions] = await Promise.all([
    tally.getPromotion({ id: id! }),
    tally.listPromotionRedemptions({ query: { promotion: id!, limit: '100', ...(after ? { starting_after: after } : {}) } }),
  ]);
  const granted = redemptions.data.reduce((total, r) => total + toMicro(r.credits), 0n);
  return h('div', {}, h('h1', {}, p.name ?? p.id, ' ', h('span', { class: 'muted small' }, p.id)),
    h('p', {}, h('code', {}, codeOf(p)), ' ', activeBadge(p)),
    section('Terms', h('dl', {},
      h('dt', {}, 'Credits per redemption'), h('dd', {}, credits(p.credits)),
      h('dt', {}, 'Grant expires'), h('dd', {}, p.grant_expires_in === null ? 'never' : `${Math.round(p.grant_expires_in / 86400)} days after redemption`),
      h('dt', {}, 'Valid'), h('dd', {}, validity(p)),
      h('dt', {}, 'Redemptions'), h('dd', { 'data-redemptions': '' }, `${p.redemptions}${p.max_redemptions === null ? ' (no limit)' : ` of ${p.max_redemptions}`}`),
      h('dt', {}, 'Per customer'), h('dd', {}, String(p.max_per_customer)),
      h('dt', {}, 'New customers only'), h('dd', {}, p.new_customers_only ? 'yes' : 'no'),
      h('dt', {}, 'Plans'), h('dd', {}, p.plans.length ? p.plans.join(', ') : 'any'),
      h('dt', {}, 'Created'), h('dd', {}, when(p.created_at)))),
    section('Redemptions', h('p', { class: 'muted small' }, `${redemptions.data.length} on this page, ${credits(fromMicro(granted))} credits granted.`),
      table(['When', 'Code', 'Customer', 'Grant', 'Credits', 'Grant expires'],
        redemptions.data.map((r) => [when(r.created_at), r.code, customerLink(r.customer), link(`#/records/${r.grant}`, r.grant), credits(r.credits), when(r.grant_expires_at)]),
        'Not redeemed yet.', { id: 'redemptions' }),
      h('p', { class: 'pager' }, after ? link(`#/promotions/${p.id}`, '← First page') : null, ' ',
        redemptions.next_cursor ? link(`#/promotions/${p.id}?after=${redemptions.next_cursor}`, 'Next page →') : null)));
}

/** Referrals: who referred whom, the rewards once the first invoice is paid, and claw-backs. */
export async function referralsPage(session: Session, _params: string[], query: URLSearchParams): Promise<HTMLElement> {
  const after = query.get('after') ?? undefined;
  const page = await session.tally.listReferrals({ query: { limit: '50', ...(after ? { starting_after: after } : {}) } });
  const clawed = (r: Schemas['Referral']) => r.claw_backs.length
    ? r.claw_backs.map((c) => h('div', {}, `${credits(c.credits)} from `, customerLink(c.customer), ' by ', link(`#/records/${c.return}`, c.return)))
    : '—';
  return h('div', {}, h('h1', {}, 'Referrals'),
    h('p', { class: 'muted' }, 'Rewards are promotional grants made when the referred customer\'s first invoice is paid with money (not only from the balance); a refund or lost chargeback of that invoice within 60 days takes back what is unspent.'),
    section('Referrals', table(['Created', 'Referrer', 'Referred', 'Reward', 'Referred gets', 'Status', 'First paid invoice', 'Rewarded', 'Clawed back'],
      page.data.map((r) => [when(r.created_at), customerLink(r.referrer), customerLink(r.referred), credits(r.reward_credits), r.referred_credits === null ? '—' : credits(r.referred_credits),
        h('span', { class: `badge ${r.status === 'rewarded' ? 'good' : 'warn'}`, title: r.id }, r.status), r.invoice ? link(`#/invoices/${r.invoice}`, r.invoice) : '—', when(r.rewarded_at), clawed(r)]),
      'No referrals yet.', { id: 'referrals' }),
    h('p', { class: 'pager' }, after ? link('#/referrals', '← First page') : null, ' ', page.next_cursor ? link(`#/referrals?after=${page.next_cursor}`, 'Next page →') : null)));
}
