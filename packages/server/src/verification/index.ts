export { BlindSigner, BlindSignError, BLIND_RSA_KEY_NAME, BLIND_RSA_MODULUS_BITS } from './blind-rsa.js';
export { checkPhoneNumber, type PhoneCheck } from './phone.js';
export { PhoneNumberKeys, YearKey, type Rotation, type StoredYearKey } from './phone-keys.js';
export {
  defaultPhoneSecretFile,
  LEGACY_PHONE_SECRET_FILE_NAME,
  PhoneHasher,
  readPhoneSecret,
  type PhoneSecret,
  type PhoneSecretLocation,
  type PhoneSecretSettings,
} from './phone-secret.js';
export {
  ConsoleSmsProvider,
  createSmsProvider,
  HttpSmsProvider,
  SmsDeliveryError,
  type HttpSmsProviderOptions,
  type SmsMessage,
  type SmsProvider,
} from './sms.js';
export { DEFAULT_VERIFICATION_SETTINGS, VerificationService, type VerificationSettings } from './service.js';
export { VerificationStore } from './store.js';
