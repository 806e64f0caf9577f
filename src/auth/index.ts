export { createApiTokens, type ApiTokens, type ApiTokenInfo } from './api-tokens.ts';
