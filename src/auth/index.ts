export { createApiTokens, type ApiTokens, type ApiTokenInfo } from './api-tokens.ts';
export { createAccount, type Account } from './account.ts';
export { createSessions, SESSION_IDLE_MS, type Session, type Sessions } from './sessions.ts';
export { issueSetupCode, removeSetupCodeFile, SETUP_CODE_FILE, type SetupCode } from './setup-code.ts';
export { passwordProblem, PASSWORD_MIN_LENGTH } from './passwords.ts';
