// The words of a text-back: the business's template filled with what we know of the caller.
// Values from the PBX are sanitized data, never template syntax.

import type { EndedCall } from '../calls/types';
import type { BusinessConfig } from '../config/types';
import { firstNameFromCallerId, renderTemplate, sanitizeValue } from '../messages/template';

/** Longest caller-ID name we look at; CNAM is 15 characters, SIP display names rarely over 64. */
const MAX_CALLER_NAME = 64;

export function templateValues(business: BusinessConfig, call: Pick<EndedCall, 'callerName' | 'number'>): Record<string, string> {
  return {
    'business.name': business.name,
    'contact.first_name': firstNameFromCallerId(sanitizeValue(call.callerName, MAX_CALLER_NAME)),
    'caller.number': call.number ?? '',
  };
}

export function composeTextBack(business: BusinessConfig, call: Pick<EndedCall, 'callerName' | 'number'>): string {
  return renderTemplate(business.message, templateValues(business, call));
}
