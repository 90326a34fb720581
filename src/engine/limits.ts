import { accountBalanceMaxMicro } from '../core/ledger.ts';

/** Every bound the engine enforces, named once. The README and OpenAPI document quote them. */
export const limits = {
  eventsPerBatchMax: 1000,
  eventIdLengthMax: 255,
  eventTypeLengthMax: 100,
  customerRefLengthMax: 255,
  propertiesCountMax: 100,
  propertiesBytesMax: 8192,
  /** Nesting of event properties and metadata: the object itself is level 1 (PRODUCT §16). */
  jsonDepthMax: 8,
  /** Every id (ours or the caller's) is at most this long, and usable in every path. */
  idLengthMax: 255,
  /**
   * The longest raw (percent-encoded) path segment the router accepts: a 255-character id of
   * 3-byte UTF-8 characters encodes to 255 × 9 characters. Longer segments are 414 uri_too_long.
   */
  pathSegmentLengthMax: 2304,
  metadataKeysMax: 50,
  /** A metadata key, a meter filter's property name, a plan's rate key (a meter code): 1 to this many characters. */
  recordKeyLengthMax: 100,
  metadataValueLengthMax: 500,
  nameLengthMax: 255,
  codeLengthMax: 100,
  pageSizeMax: 100,
  pageSizeDefault: 20,
  holdSecondsMax: 7 * 24 * 60 * 60,
  /** How long an Idempotency-Key record is kept (PRODUCT §12); the scheduler deletes older ones. */
  idempotencyRetentionMs: 7 * 24 * 60 * 60_000,
  // Single-use codes one campaign may generate in one request (all written in its transaction).
  promotionCodesPerCampaignMax: 10_000,
  promotionCodeLengthMax: 64,
  promotionCodePrefixLengthMax: 20,
  promotionPlansMax: 20,
  // Ten years: a redemption grant's lifetime, in seconds.
  promotionGrantSecondsMax: 10 * 366 * 24 * 60 * 60,
  /**
   * The times a request may set on anything kept: a test clock's time, a subscription's start, a
   * grant's, a purchase's or a promotion's times, from 0100-01-01T00:00:00Z to 9899-12-31T23:59:59.999Z.
   * Times derived from them reach at most about eleven years later (periods, due dates, payment
   * retries, promotion grants' expiry) or a few months earlier (a usage series' default window, a
   * late event's 35 days), so every time Tally keeps or answers keeps RFC 3339's four-digit year.
   * Filters (`from`, `to`, `since`) take any RFC 3339 time.
   */
  keptTimeMinMs: Date.UTC(100, 0, 1),
  keptTimeMaxMs: Date.UTC(9900, 0, 1) - 1,
  /** How far one test clock advance may move its clock: ten years (a clock goes further in several). */
  testClockAdvanceMsMax: 10 * 366 * 24 * 60 * 60_000,
  // 10^12 credits: the largest one amount (a grant, a charge, a hold, a period's running total).
  creditsMaxMicro: 10n ** 18n,
  /**
   * 9 × 10^12 credits: the most any one ledger account may hold, either side of zero. The balances
   * a customer's accounts accumulate over its lifetime (`issued:<source>`, `consumed:<meter>`,
   * `expired`, `revoked`, `invoiced:overage`, `overage`, `debt`) grow by one amount at a time past
   * any single bound; a posting that would take one beyond this is refused whole
   * (`balance_out_of_range`), so every balance, and every sum of one account's entries, stays
   * inside a signed 64-bit column (2^63 − 1 ≈ 9.22 × 10^18 micro-credits) on both databases.
   */
  accountBalanceMaxMicro,
} as const;
