import { divRound } from './decimal.ts';

/**
 * How many credits a refund or chargeback claws back (PRODUCT §8). `grantedMicro` is what the
 * invoice granted, `leftMicro` what is still unspent of it, and the refunded share is
 * `amount / total` of the invoice.
 *
 * - proportional: the refunded share of what was granted; what is already spent of that share is
 *   the shortfall.
 * - full: everything granted; the spent part is the shortfall.
 * - unused_only: the refunded share, but only from what is unspent; never a shortfall.
 * - none: nothing (the invoice still records the refund, so revenue is not counted twice).
 */
export type CreditPolicy = 'proportional' | 'full' | 'unused_only' | 'none';

export interface ClawBack {
  targetMicro: bigint;
  revokeMicro: bigint;
  shortfallMicro: bigint;
}

export function clawBack(policy: CreditPolicy, grantedMicro: bigint, leftMicro: bigint, amountMinor: bigint, invoiceTotalMinor: bigint): ClawBack {
  const share = invoiceTotalMinor > 0n ? divRound(grantedMicro * amountMinor, invoiceTotalMinor) : 0n;
  const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
  switch (policy) {
    case 'none':
      return { targetMicro: 0n, revokeMicro: 0n, shortfallMicro: 0n };
    case 'full': {
      const revoke = min(grantedMicro, leftMicro);
      return { targetMicro: grantedMicro, revokeMicro: revoke, shortfallMicro: grantedMicro - revoke };
    }
    case 'unused_only': {
      return { targetMicro: share, revokeMicro: min(share, leftMicro), shortfallMicro: 0n };
    }
    case 'proportional': {
      const revoke = min(share, leftMicro);
      return { targetMicro: share, revokeMicro: revoke, shortfallMicro: share - revoke };
    }
  }
}
