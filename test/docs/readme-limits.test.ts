import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { limits } from '../../src/engine/limits.ts';

/**
 * The README's limits paragraph quotes the bounds of src/engine/limits.ts (PRODUCT §16: bounds are
 * named and documented): each sentence below must read the value the engine enforces.
 */
const readme = readFileSync(join(resolve(import.meta.dirname, '../..'), 'README.md'), 'utf8').replace(/\s+/g, ' ');
const grouped = (n: number) => n.toLocaleString('en-US');

describe('README limits', () => {
  it('quotes every bound the engine enforces with its value', () => {
    const quoted = [
      `${grouped(limits.eventsPerBatchMax)} events per ingest request`,
      `ids up to ${limits.idLengthMax} characters`,
      `names up to ${limits.nameLengthMax} characters`,
      `meter codes and event types up to ${limits.codeLengthMax}`,
      `promotion codes up to ${limits.promotionCodeLengthMax} (a generated code's prefix up to ${limits.promotionCodePrefixLengthMax})`,
      `nested at most ${limits.jsonDepthMax} levels`,
      `${limits.propertiesCountMax} properties and ${limits.propertiesBytesMax / 1024} KiB of properties per event`,
      `${limits.metadataKeysMax} metadata keys of 1 to ${limits.recordKeyLengthMax} characters`,
      `values are strings of up to ${limits.metadataValueLengthMax}`,
      `page size 1 to ${limits.pageSizeMax} (default ${limits.pageSizeDefault};`,
      `holds up to ${limits.holdSecondsMax / 86_400} days`,
      `one path segment up to ${grouped(limits.pathSegmentLengthMax)} characters`,
      `At most ${grouped(limits.promotionCodesPerCampaignMax)} codes a campaign`,
      `Idempotency records are kept ${limits.idempotencyRetentionMs / 86_400_000} days`,
      `One ledger account holds at most ${grouped(Number(limits.accountBalanceMaxMicro / 1_000_000n))} credits either side of zero`,
    ];
    expect(limits.eventTypeLengthMax).toBe(limits.codeLengthMax);
    expect(quoted.filter((sentence) => !readme.includes(sentence))).toEqual([]);
  });
});
