/**
 * The credit-notes report (PRODUCT §14): the notes issued in a window, and per currency how the
 * customers' money balance moved, so that opening + issued − applied − paid out − reversed = closing
 * exactly (reversed: what chargebacks took back of notes, less what won ones restored).
 */
export interface NoteRow {
  id: string;
  customerId: string;
  currency: string;
  source: string;
  reason: string;
  refundable: boolean;
  invoiceId: string | null;
  refundId: string | null;
  amountMinor: bigint;
  createdAtMs: number;
}

export interface NoteUse {
  creditNoteId: string;
  currency: string;
  kind: 'applied' | 'refunded' | 'reversed' | 'restored';
  amountMinor: bigint;
  createdAtMs: number;
}

export interface CreditNoteTotal {
  currency: string;
  openingMinor: bigint;
  issuedMinor: bigint;
  appliedMinor: bigint;
  refundedMinor: bigint;
  reversedMinor: bigint;
  closingMinor: bigint;
}

/** `notes` and `uses` are everything created before the window's end; rows are the notes issued in it. */
export function creditNoteReport(notes: readonly NoteRow[], uses: readonly NoteUse[], fromMs: number): { rows: NoteRow[]; totals: CreditNoteTotal[] } {
  const totals = new Map<string, CreditNoteTotal>();
  const totalFor = (currency: string): CreditNoteTotal => {
    let t = totals.get(currency);
    if (!t) {
      t = { currency, openingMinor: 0n, issuedMinor: 0n, appliedMinor: 0n, refundedMinor: 0n, reversedMinor: 0n, closingMinor: 0n };
      totals.set(currency, t);
    }
    return t;
  };
  const rows: NoteRow[] = [];
  for (const n of notes) {
    const t = totalFor(n.currency);
    if (n.createdAtMs < fromMs) t.openingMinor += n.amountMinor;
    else {
      t.issuedMinor += n.amountMinor;
      rows.push(n);
    }
  }
  for (const u of uses) {
    const t = totalFor(u.currency);
    // A restore gives back to the balance what a reversal took from it.
    const minor = u.kind === 'restored' ? -u.amountMinor : u.amountMinor;
    if (u.createdAtMs < fromMs) t.openingMinor -= minor;
    else if (u.kind === 'applied') t.appliedMinor += minor;
    else if (u.kind === 'refunded') t.refundedMinor += minor;
    else t.reversedMinor += minor;
  }
  for (const t of totals.values()) t.closingMinor = t.openingMinor + t.issuedMinor - t.appliedMinor - t.refundedMinor - t.reversedMinor;
  return { rows, totals: [...totals.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1)) };
}
