import { parsePhoneNumberWithError, type CountryCode, type NumberType } from 'libphonenumber-js/max';

export type PhoneCheck =
  | { ok: true; e164: string }
  | { ok: false; code: 'invalid_phone_number' | 'phone_number_refused'; message: string };

/** Number types that can receive an SMS code. `FIXED_LINE_OR_MOBILE`: plans such as the US's. */
const ACCEPTED: ReadonlySet<NumberType> = new Set<NumberType>(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

const REFUSED_BECAUSE: Partial<Record<NonNullable<NumberType>, string>> = {
  PREMIUM_RATE: 'premium-rate numbers are refused (texting them costs money and invites abuse)',
  VOIP: 'VoIP numbers are refused (they can be made in bulk); use a mobile number',
  TOLL_FREE: 'toll-free numbers cannot receive the code; use a mobile number',
  SHARED_COST: 'shared-cost numbers cannot receive the code; use a mobile number',
  FIXED_LINE: 'this is a landline number; use a mobile number',
  PAGER: 'pager numbers cannot receive the code; use a mobile number',
  PERSONAL_NUMBER: 'personal (forwarding) numbers are refused; use a mobile number',
  UAN: 'this is a company number; use a mobile number',
  VOICEMAIL: 'voicemail numbers cannot receive the code; use a mobile number',
};

/**
 * Parses and checks a phone number with libphonenumber-js (full metadata, so the number type is
 * known). Accepts valid mobile numbers (and "fixed line or mobile" where a plan does not tell
 * them apart); refuses premium-rate, VoIP and every other type with a reason a person can act
 * on. Returns the E.164 form, the only form the caller hashes. Neither the input nor the number
 * appears in any message: callers may show or log them.
 */
export function checkPhoneNumber(input: string, country?: string): PhoneCheck {
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(input, {
      defaultCountry: country as CountryCode | undefined,
      // The whole input must be the number: no text around it.
      extract: false,
    });
  } catch {
    return {
      ok: false,
      code: 'invalid_phone_number',
      message: country
        ? 'not a phone number: use the international format (+…) or a national number of the chosen country'
        : 'not a phone number: use the international format, e.g. +44 7400 123456, or choose a country',
    };
  }
  if (!parsed.isValid()) {
    return { ok: false, code: 'invalid_phone_number', message: 'this is not a valid phone number' };
  }
  const type = parsed.getType();
  if (type === undefined || !ACCEPTED.has(type)) {
    return {
      ok: false,
      code: 'phone_number_refused',
      message:
        (type && REFUSED_BECAUSE[type]) ??
        'the type of this number is unknown; only mobile numbers can receive the code',
    };
  }
  return { ok: true, e164: parsed.number };
}
