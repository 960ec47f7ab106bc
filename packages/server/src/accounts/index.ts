export { Accounts, riskMessage, type AccountsOptions, type GateResult } from './accounts.js';
export {
  AccountStore,
  SESSION_TTL_MS,
  STEP_UP_TTL_MS,
  toAccountUser,
  type AccountUser,
} from './account-store.js';
export { AuthCookies } from './cookies.js';
export { hostingEntitlement } from './entitlement.js';
export { meBody } from './http.js';
export { PASSWORD_SCRYPT, PasswordHasher } from './passwords.js';
export {
  adminAuthEvents,
  adminPhoneKeyStatus,
  adminRotatePhoneKeys,
  adminSetPlan,
  adminSetRole,
  type PhoneKeyStatus,
} from './admin.js';
