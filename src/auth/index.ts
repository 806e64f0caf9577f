export { createApiTokens, type ApiTokens, type ApiTokenInfo } from './api-tokens.ts';
export { createAccount, type Account } from './account.ts';
export { createSessions, SESSION_IDLE_MS, type Session, type Sessions } from './sessions.ts';
export { issueSetupCode, removeSetupCodeFile, SETUP_CODE_FILE, type SetupCode } from './setup-code.ts';
export { checkFormToken, endSession, formToken, loadSession, readCookie, requireCsrf, requireSignIn, safeNext, SESSION_COOKIE, startSession } from './session.ts';
export { authPages } from './pages.ts';
export { passwordProblem, PASSWORD_MIN_LENGTH } from './passwords.ts';
