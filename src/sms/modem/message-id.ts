// Message ids of texts sent through the modem, and finding them again from a status report.
//
// TP-MR is one octet that the modem counts up and wraps at 255 (and may restart after a reboot),
// so the id is "mr:<mr>:<yyyymmdd>:<h>": the MR, the UTC day of the submit, and 8 hex digits of a
// SHA-256 of the recipient's digits (not the number itself: ids are logged). A status report
// carries the MR, the recipient and the SMSC's time of the submit, so the same id is rebuilt from
// it; within one run the id handed out at submit is looked up by MR and recipient first, so SMSC
// clock or number-format quirks only matter for reports that arrive after a daemon restart. Two
// texts get the same id only when the same number is sent two texts with the same MR on the same
// UTC day (256 texts apart, or across a modem that reset its MR).

import { createHash } from 'node:crypto';
import type { StatusReportPdu } from './pdu';

const SENT_KEEP_MS = 7 * 24 * 3600_000;

interface SentRecord {
  id: string;
  digits: string;
  at: number;
}

/** "mr:<mr>:<yyyymmdd UTC>:<8 hex of sha256(recipient digits)>" — see the header comment. */
export function messageId(mr: number, submittedAt: Date, recipientDigits: string): string {
  const day = submittedAt.toISOString().slice(0, 10).replace(/-/g, '');
  const h = createHash('sha256').update(recipientDigits.replace(/\D/g, '')).digest('hex').slice(0, 8);
  return `mr:${mr}:${day}:${h}`;
}

/** The ids handed out in this run, by MR. */
export class SentTexts {
  private readonly sent = new Map<number, SentRecord[]>();

  /** The id for a submit the modem numbered `mr`; kept so its status report finds the same id. */
  remember(mr: number, to: string, now = Date.now()): string {
    const digits = to.replace(/\D/g, '');
    const id = messageId(mr, new Date(now), digits);
    const list = (this.sent.get(mr) ?? []).filter((s) => now - s.at < SENT_KEEP_MS && s.id !== id);
    list.push({ id, digits, at: now });
    this.sent.set(mr, list.slice(-8));
    return id;
  }

  /** The id a status report belongs to: the one handed out for that MR and recipient, else rebuilt. */
  receiptId(sr: StatusReportPdu): string {
    const digits = sr.recipient.replace(/\D/g, '');
    const list = this.sent.get(sr.mr) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (sameNumber(s.digits, digits)) {
        if (sr.final) list.splice(i, 1);
        return s.id;
      }
    }
    return messageId(sr.mr, Number.isNaN(sr.submittedAt.getTime()) ? new Date() : sr.submittedAt, digits);
  }
}

/** Same number written two ways ("+14155550123" / "4155550123"): equal, or one ends with the other (7+ digits). */
function sameNumber(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 7 && long.endsWith(short);
}
