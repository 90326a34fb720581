import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/databases.ts';
import { createEngine } from '../../src/engine/create-engine.ts';
import { tallyInProcess } from '../support/cli.ts';
import { redeemPromotion } from '../../src/engine/redeem-promotion.ts';
import { createCustomer } from '../../src/engine/customers.ts';

/** A `tally` command in this process against a database URL, as `npx tally` runs it (test/support/cli.ts). */
const tally = (url: string, args: string[]) => tallyInProcess(url, ...args);

describe('tally promotions', () => {
  it('creates a campaign of single-use codes, exports them as CSV, and reports its redemptions', async () => {
    const database = await freshDatabase('sqlite');
    try {
      const created = await tally(database.url, ['promotions', 'create', '--codes', '3', '--prefix', 'cli', '--credits', '12.5', '--expires-in', '86400']);
      expect(created.code, created.stderr).toBe(0);
      const promotion = JSON.parse(created.stdout);
      expect(promotion).toMatchObject({ object: 'promotion', codes: { count: 3, prefix: 'CLI' }, credits: '12.5', grant_expires_in: 86400 });

      const codes = await tally(database.url, ['promotions', 'codes', promotion.id]);
      expect(codes.code, codes.stderr).toBe(0);
      const lines = codes.stdout.trim().split('\r\n');
      expect(lines[0]).toBe('code,promotion,single_use,redemptions,created_at');
      expect(lines).toHaveLength(4);
      const first = lines[1]!.split(',')[0]!;

      const engine = await createEngine(database.db);
      const customer = await createCustomer(engine, { currency: 'USD', external_id: 'cli_customer' });
      expect(customer.ok).toBe(true);
      expect((await redeemPromotion(engine, { code: first, customer: 'cli_customer' })).ok).toBe(true);

      const report = await tally(database.url, ['promotions', 'report', '--csv']);
      expect(report.code, report.stderr).toBe(0);
      expect(report.stdout.trim().split('\r\n')[1]).toBe(`campaign,${promotion.id},,,1,1,1,12.5,0,0,0,12.5`);
      const refused = await tally(database.url, ['promotions', 'create', '--code', 'X', '--credits', '-1']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('validation_failed');
    } finally {
      await database.drop();
    }
  });
});
