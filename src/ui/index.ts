/**
 * The UI kit every domain's pages use: rendering pages and htmx fragments in the
 * customer's language, page errors, and form fields. It imports no domain, so pages can
 * depend on it without the web app and the domains depending on each other.
 */
export { createUi, isHtmx, pageError, uiContext, uiLocals, worded, type Ui, type UiContext } from './ui.ts';
export { createViews, type Views } from './views.ts';
export { formBodies, formField, signInForm } from './forms.ts';
