export { createWebApp, type WebDeps } from './app.ts';
