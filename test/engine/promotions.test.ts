import { describe, expect, it } from 'vitest';
import { createCustomer } from '../../src/engine/customers.ts';
import { createGrant } from '../../src/engine/grants.ts';
import { createPromotion } from '../../src/engine/promotions.ts';
import { redeemPromotion } from '../../src/engine/redeem-promotion.ts';
import { dialects } from '../support/databases.ts';
import { must, useEngine } from '../support/engine.ts';
import { reconcileBothWays } from '../support/reconcile-sliced.ts';

/** The promotion_grants_linked reconciliation check against stored facts (PRODUCT §15), both databases. */
describe.each(dialects)('promotion grant links on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('is clean for redemptions and direct grants, and names a redemption whose grant disagrees or is missing', async () => {
    const engine = ctx.engine;
    const promotion = must(await createPromotion(engine, { code: 'LINKS', credits: '5', max_per_customer: 2 }));
    const a = must(await createCustomer(engine, { currency: 'USD' }));
    const one = must(await redeemPromotion(engine, { code: 'links', customer: a.id }));
    const two = must(await redeemPromotion(engine, { code: 'LINKS', customer: a.id }));
    // An operator's direct promotional grant (PRODUCT §4) belongs to no campaign and is not judged.
    must(await createGrant(engine, { customer: a.id, credits: '1', category: 'promotional', source: 'promotion' }));
    const clean = await reconcileBothWays(engine);
    expect(clean.ok, JSON.stringify(clean.discrepancies)).toBe(true);

    const c = engine.store.read.c;
    await c.run(`UPDATE promotion_redemptions SET credits = credits + 1 WHERE id = ?`, [one.redemption.id]);
    await c.run(`UPDATE promotion_redemptions SET grant_id = ? WHERE id = ?`, ['grt_gone', two.redemption.id]);
    const found = (await reconcileBothWays(engine)).discrepancies.filter((d) => d.check === 'promotion_grants_linked');
    expect(found.map((d) => d.ids)).toEqual(expect.arrayContaining([
      [one.grant.id, one.redemption.id],
      [two.grant.id, two.redemption.id],
      [two.redemption.id, 'grt_gone'],
    ]));
    expect(found.find((d) => d.ids[1] === one.redemption.id)!.message).toMatch(/5 credits, redemption .* says 5.000001/);
    void promotion;
  });
});
