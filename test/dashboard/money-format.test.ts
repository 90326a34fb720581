import { describe, expect, it } from 'vitest';
import { currencyExponents } from '../../src/core/money.ts';
import { currencyDigits, money } from '../../web/src/ui.ts';

/**
 * The dashboard shows an amount of minor units with the fraction digits the server bills the
 * currency in (PRODUCT §1: JPY has 0, KWD 3), for every currency the server accepts. Before,
 * it took them from the browser's Intl (CLDR), which has 0 for HUF, COP, IDR, PKR and IQD: an
 * invoice of 123456 minor units of HUF (1,234.56) read 123,456 HUF, and of IQD (123.456) 123,456 IQD.
 */
describe('money in the dashboard', () => {
  it('formats minor units with the currency\'s ISO 4217 exponent, as the server bills it', () => {
    expect(money(123456, 'USD')).toBe('1,234.56 USD');
    expect(money(123456, 'JPY')).toBe('123,456 JPY');
    expect(money(123456, 'KWD')).toBe('123.456 KWD');
    expect(money(123456, 'HUF')).toBe('1,234.56 HUF');
    expect(money(123456, 'IQD')).toBe('123.456 IQD');
    expect(money(-5, 'KWD')).toBe('−0.005 KWD');
    for (const [currency, exponent] of Object.entries(currencyExponents)) {
      expect([currency, currencyDigits[currency] ?? 2]).toEqual([currency, exponent]);
      const shown = money(1, currency);
      expect(shown).toBe(exponent === 0 ? `1 ${currency}` : `0.${'1'.padStart(exponent, '0')} ${currency}`);
    }
  });
});
