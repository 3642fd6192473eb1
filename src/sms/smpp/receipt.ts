// Delivery receipts: SMPP 3.4 message_state TLV, or the de-facto text form of Appendix B
// ("id:XXXX sub:001 dlvrd:001 submit date:... done date:... stat:DELIVRD err:000 text:..."). Pure.

import type { ReceiptState } from '../../records/states';

/** SMPP 3.4 section 5.2.28 message_state values. */
const MESSAGE_STATE: Readonly<Record<number, ReceiptState>> = {
  1: 'enroute',
  2: 'delivered',
  3: 'expired',
  4: 'deleted',
  5: 'undeliverable',
  6: 'accepted',
  7: 'unknown',
  8: 'rejected',
};

const STAT_TEXT: Readonly<Record<string, ReceiptState>> = {
  DELIVRD: 'delivered',
  EXPIRED: 'expired',
  DELETED: 'deleted',
  UNDELIV: 'undeliverable',
  ACCEPTD: 'accepted',
  UNKNOWN: 'unknown',
  REJECTD: 'rejected',
  ENROUTE: 'enroute',
};

export interface ParsedReceipt {
  messageId: string;
  state: ReceiptState;
  error: string | null;
}

/**
 * Reads a receipt from the deliver_sm fields; TLVs win over the text. Returns undefined when
 * the PDU carries no message id (it cannot be matched to anything).
 */
export function parseReceipt(fields: { receiptedMessageId?: string; messageState?: number; text?: string; networkErrorCode?: string }): ParsedReceipt | undefined {
  const text = fields.text ?? '';
  const idText = /(?:^|\s)id:(\S+)/i.exec(text)?.[1];
  const statText = /(?:^|\s)stat:(\w+)/i.exec(text)?.[1]?.toUpperCase();
  const errText = /(?:^|\s)err:(\w+)/i.exec(text)?.[1];
  const messageId = (fields.receiptedMessageId || idText || '').trim();
  if (!messageId || messageId.length > 64) return undefined;
  const state =
    (fields.messageState !== undefined ? MESSAGE_STATE[fields.messageState] : undefined) ??
    (statText ? STAT_TEXT[statText] : undefined) ??
    'unknown';
  const error = fields.networkErrorCode ?? (errText && !/^0+$/.test(errText) ? errText : null);
  return { messageId, state, error };
}
