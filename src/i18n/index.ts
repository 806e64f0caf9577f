/** The message catalogs' public surface: languages, messages, wording and formatting (messages.ts). */
export type { MessageKey } from './en.ts';
export {
  catalogs,
  formatter,
  inEnglish,
  isLocale,
  loadMessage,
  locales,
  pickLocale,
  storedMessage,
  translator,
  type Format,
  type Locale,
  type Message,
  type Params,
  type Translate,
} from './messages.ts';
