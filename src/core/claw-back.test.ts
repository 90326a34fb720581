import { describe, expect, it } from 'vitest';
import { clawBack } from './claw-back.ts';

const c = (n: number) => BigInt(n) * 1_000_000n;

describe('claw-back policies: invoice of 100.00 that granted 1000 credits, refunded 50.00', () => {
  it('with 400 spent (600 left)', () => {
    expect(clawBack('proportional', c(1000), c(600), 5000n, 10000n)).toEqual({ targetMicro: c(500), revokeMicro: c(500), shortfallMicro: 0n });
    expect(clawBack('full', c(1000), c(600), 5000n, 10000n)).toEqual({ targetMicro: c(1000), revokeMicro: c(600), shortfallMicro: c(400) });
    expect(clawBack('unused_only', c(1000), c(600), 5000n, 10000n)).toEqual({ targetMicro: c(500), revokeMicro: c(500), shortfallMicro: 0n });
    expect(clawBack('none', c(1000), c(600), 5000n, 10000n)).toEqual({ targetMicro: 0n, revokeMicro: 0n, shortfallMicro: 0n });
  });

  it('with 900 spent (100 left)', () => {
    expect(clawBack('proportional', c(1000), c(100), 5000n, 10000n)).toEqual({ targetMicro: c(500), revokeMicro: c(100), shortfallMicro: c(400) });
    expect(clawBack('unused_only', c(1000), c(100), 5000n, 10000n)).toEqual({ targetMicro: c(500), revokeMicro: c(100), shortfallMicro: 0n });
  });
});
