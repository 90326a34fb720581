import type { Engine } from '../engine/context.ts';
import { parseArgs } from './args.ts';
import { createPromotion, type CreatePromotionInput } from '../engine/promotions.ts';
import { promotionsReport } from '../engine/promotion-report.ts';
import { rowsToCsv } from '../server/report-views.ts';
import { promotionCodeView, promotionsReportColumns, promotionsReportView, promotionView } from '../server/promotion-views.ts';

export const promotionsUsage = `  promotions create (--code CODE | --codes N [--prefix P]) --credits C [--name NAME] [--expires-in SECONDS]
                    [--valid-from ISO] [--valid-until ISO] [--max-redemptions N] [--max-per-customer N]
                    [--new-customers-only] [--plan CODE]... [--priority N]
                        create a campaign; prints it as JSON
  promotions codes <promotion id>
                        print every code of a campaign as CSV (for export)
  promotions report [--from ISO] [--to ISO] [--customer ID] [--csv]
                        per campaign and per referrer: redemptions, credits granted/consumed/expired/revoked, revenue after
`;

const valued = ['code', 'codes', 'prefix', 'credits', 'name', 'expires-in', 'valid-from', 'valid-until', 'max-redemptions', 'max-per-customer', 'plan', 'priority', 'from', 'to', 'customer'];

const parse = (args: readonly string[]) => parseArgs(args, valued);

const integer = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));

/** `tally promotions create|codes|report` over the engine (PRODUCT §15). */
export async function promotionsCommand(engine: Engine, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { options, flags, positional, bad } = parse(rest);
  const one = (name: string): string | undefined => options.get(name)?.[0];
  if (bad) {
    console.error(bad);
    return 2;
  }
  if (sub === 'create') {
    const unknown = [...flags].find((f) => f !== 'new-customers-only');
    if (unknown) {
      console.error(`unknown option --${unknown}`);
      return 2;
    }
    const input: CreatePromotionInput = {
      name: one('name'),
      code: one('code'),
      codes: one('codes') === undefined ? undefined : { count: Number(one('codes')), prefix: one('prefix') },
      credits: one('credits') ?? '',
      grant_expires_in: integer(one('expires-in')),
      valid_from: one('valid-from'),
      valid_until: one('valid-until'),
      max_redemptions: integer(one('max-redemptions')),
      max_per_customer: integer(one('max-per-customer')),
      new_customers_only: flags.has('new-customers-only') || undefined,
      plans: options.get('plan'),
      priority: integer(one('priority')),
    };
    const outcome = await createPromotion(engine, input);
    if (!outcome.ok) {
      console.error(`${outcome.error.code}: ${outcome.error.message}`);
      for (const f of outcome.error.fields ?? []) console.error(`  ${f.field}: ${f.code} (${f.message})`);
      return 2;
    }
    console.log(JSON.stringify(promotionView(outcome.value), null, 2));
    return 0;
  }
  if (sub === 'codes' && positional.length === 1) {
    const promotion = await engine.store.read.promotions.get(positional[0]!);
    if (!promotion) {
      console.error(`promotion_not_found: no campaign ${positional[0]}`);
      return 2;
    }
    const all = await engine.store.read.promotions.codes(promotion.id, { limit: Math.max(promotion.codeCount, 1) });
    process.stdout.write(rowsToCsv(all.data.map(promotionCodeView), ['code', 'promotion', 'single_use', 'redemptions', 'created_at']));
    return 0;
  }
  if (sub === 'report') {
    const outcome = await promotionsReport(engine, { from: one('from'), to: one('to'), customer: one('customer') });
    if (!outcome.ok) {
      console.error(`${outcome.error.code}: ${outcome.error.message}`);
      return 2;
    }
    const view = promotionsReportView(outcome.value);
    process.stdout.write(flags.has('csv') ? rowsToCsv(view.rows, promotionsReportColumns) : `${JSON.stringify(view, null, 2)}\n`);
    return 0;
  }
  console.error(`usage:\n${promotionsUsage}`);
  return 2;
}
