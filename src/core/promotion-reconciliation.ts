import { formatCredits } from './decimal.ts';
import type { Discrepancy } from './reconciliation.ts';

/**
 * The promotion_grants_linked rule (PRODUCT §15): a grant a redemption or a referral made links
 * both ways and agrees with it (customer, credits, promotional, its source), and no redemption or
 * rewarded referral points at a grant that does not exist. A grant whose issuing transaction names
 * a redemption or referral that does not link back is a discrepancy. Grants of these sources made
 * directly by an operator (`POST /v1/grants`, PRODUCT §4) name neither and are not part of a
 * campaign or referral: the promotions report leaves them out and this check does not judge them.
 */
export interface LinkedGrantFacts {
  grantId: string;
  customerId: string;
  creditsMicro: bigint;
  category: string;
  source: string;
  refs: Record<string, string>;
  redemption: { id: string; customerId: string; creditsMicro: bigint } | null;
  referral: { id: string; customerId: string; creditsMicro: bigint } | null;
}

const check = 'promotion_grants_linked' as const;

export function promotionGrantProblems(g: LinkedGrantFacts): Discrepancy[] {
  const out: Discrepancy[] = [];
  const link = g.source === 'promotion' ? g.redemption : g.referral;
  const claimed = g.source === 'promotion' ? g.refs.redemption : g.refs.referral;
  const kind = g.source === 'promotion' ? 'redemption' : 'referral';
  if (!link) {
    if (claimed) out.push({ check, message: `Grant ${g.grantId} was issued for ${kind} ${claimed}, which does not link to it.`, ids: [g.grantId, claimed] });
    return out;
  }
  if (claimed !== link.id) out.push({ check, message: `Grant ${g.grantId} is linked from ${kind} ${link.id} but its issuing transaction names ${claimed ?? 'none'}.`, ids: [g.grantId, link.id] });
  if (link.customerId !== g.customerId) out.push({ check, message: `Grant ${g.grantId} belongs to ${g.customerId}, but ${kind} ${link.id} is for ${link.customerId}.`, ids: [g.grantId, link.id] });
  if (link.creditsMicro !== g.creditsMicro) {
    out.push({ check, message: `Grant ${g.grantId} has ${formatCredits(g.creditsMicro)} credits, ${kind} ${link.id} says ${formatCredits(link.creditsMicro)}.`, ids: [g.grantId, link.id] });
  }
  if (g.category !== 'promotional') out.push({ check, message: `Grant ${g.grantId} of ${kind} ${link.id} is ${g.category}, not promotional.`, ids: [g.grantId, link.id] });
  return out;
}

export function missingPromotionGrant(m: { linkId: string; grantId: string | null }): Discrepancy {
  return { check, message: `${m.linkId} links to grant ${m.grantId ?? '(none)'}, which does not exist.`, ids: m.grantId ? [m.linkId, m.grantId] : [m.linkId] };
}
