// What a "+CMS ERROR: <err>" from AT+CMGS means for the text (3GPP TS 27.005 §3.2.5). Pure.
//
// Codes that say "not now" (network out of order, congestion, temporary failure, no network,
// network timeout, SMSC busy, unknown error, vendor codes 512+, SIM busy or SIM state lost)
// return `retry`; SIM-state errors (310-318) and "operation not allowed" (302: the modem lost its
// PDU-mode setting) also re-run the init. The rest (unassigned number, barred, invalid PDU, ...)
// return `failed`. Names look like "CMS_38_network_out_of_order".

const CMS_NAMES: Readonly<Record<number, string>> = {
  1: 'unassigned_number',
  8: 'operator_determined_barring',
  10: 'call_barred',
  21: 'short_message_transfer_rejected',
  27: 'destination_out_of_service',
  28: 'unidentified_subscriber',
  29: 'facility_rejected',
  30: 'unknown_subscriber',
  38: 'network_out_of_order',
  41: 'temporary_failure',
  42: 'congestion',
  47: 'resources_unavailable',
  50: 'requested_facility_not_subscribed',
  69: 'requested_facility_not_implemented',
  81: 'invalid_short_message_transfer_reference',
  95: 'invalid_message',
  96: 'invalid_mandatory_information',
  97: 'message_type_nonexistent',
  98: 'message_not_compatible',
  99: 'information_element_nonexistent',
  111: 'protocol_error',
  127: 'interworking_unspecified',
  128: 'telematic_interworking_not_supported',
  129: 'short_message_type_0_not_supported',
  130: 'cannot_replace_short_message',
  143: 'unspecified_tp_pid_error',
  144: 'data_coding_scheme_not_supported',
  145: 'message_class_not_supported',
  159: 'unspecified_tp_dcs_error',
  160: 'command_cannot_be_actioned',
  161: 'command_unsupported',
  175: 'unspecified_tp_command_error',
  176: 'tpdu_not_supported',
  192: 'sc_busy',
  193: 'no_sc_subscription',
  194: 'sc_system_failure',
  195: 'invalid_sme_address',
  196: 'destination_sme_barred',
  197: 'sm_rejected_duplicate_sm',
  198: 'tp_vpf_not_supported',
  199: 'tp_vp_not_supported',
  208: 'sim_sms_storage_full',
  209: 'no_sms_storage_capability_in_sim',
  210: 'error_in_ms',
  211: 'memory_capacity_exceeded',
  212: 'sim_application_toolkit_busy',
  213: 'sim_data_download_error',
  255: 'unspecified_error_cause',
  300: 'me_failure',
  301: 'sms_service_of_me_reserved',
  302: 'operation_not_allowed',
  303: 'operation_not_supported',
  304: 'invalid_pdu_mode_parameter',
  305: 'invalid_text_mode_parameter',
  310: 'sim_not_inserted',
  311: 'sim_pin_required',
  312: 'ph_sim_pin_required',
  313: 'sim_failure',
  314: 'sim_busy',
  315: 'sim_wrong',
  316: 'sim_puk_required',
  317: 'sim_pin2_required',
  318: 'sim_puk2_required',
  320: 'memory_failure',
  321: 'invalid_memory_index',
  322: 'memory_full',
  330: 'smsc_address_unknown',
  331: 'no_network_service',
  332: 'network_timeout',
  340: 'no_cnma_acknowledgement_expected',
  500: 'unknown_error',
  515: 'device_busy',
};

/** "Not now": the same text may well go through later. */
const CMS_TRANSIENT = new Set([38, 41, 42, 47, 192, 194, 212, 300, 302, 310, 311, 312, 313, 314, 316, 317, 318, 330, 331, 332, 500]);
/** The modem or SIM lost its state: run the init again. */
const CMS_REINIT = new Set([302, 310, 311, 312, 313, 316, 317, 318]);

export interface CmsError {
  code: number | undefined;
  /** "CMS_38_network_out_of_order" */
  name: string;
  transient: boolean;
  reinit: boolean;
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}
const CMS_BY_SLUG = new Map(Object.entries(CMS_NAMES).map(([code, name]) => [name, Number(code)]));

/** What a "+CMS ERROR: <err>" means for the text: numeric codes, or the verbose text some modems give. */
export function cmsError(err: string | number): CmsError {
  const text = String(err).trim();
  const code: number | undefined = /^\d+$/.test(text) ? Number(text) : CMS_BY_SLUG.get(slug(text));
  if (code === undefined) {
    // An unknown verbose text: say what it said and try again later rather than lose the text.
    return { code, name: `CMS_${slug(text) || 'unknown'}`, transient: true, reinit: false };
  }
  const name = CMS_NAMES[code] ?? (code >= 512 ? 'manufacturer_specific' : 'unknown');
  return { code, name: `CMS_${code}_${name}`, transient: CMS_TRANSIENT.has(code) || code >= 512, reinit: CMS_REINIT.has(code) };
}
