/**
 * Customer-facing text comes from the message catalogs here: English is the reference,
 * and the Hungarian catalog is typed against it, so a missing key fails the build.
 */
import { en, type MessageKey } from './en.ts';
import { hu } from './hu.ts';

export const locales = ['en', 'hu'] as const;
export type Locale = (typeof locales)[number];
/** A parameter may itself be a message (a cause, a reason): it is worded in the same language. */
export type Params = { [name: string]: string | number | Message };
export type Translate = (key: MessageKey, params?: Params) => string;

export const catalogs: Record<Locale, Record<MessageKey, string>> = { en, hu };

/**
 * A text for a person, kept as its catalog key and parameters so that it is rendered in
 * the reader's language where it is read: the customer's in the UI, English in the API
 * and the log.
 */
export interface Message {
  key: MessageKey;
  params?: Params;
}

export const inEnglish = (message: Message): string => translator('en')(message.key, message.params);

/** A message as two columns (`…key`, `…params`), and back: how a stored text keeps its parameters. */
export const storedMessage = (message: Message | null) => ({ key: message?.key ?? null, params: message?.params ? JSON.stringify(message.params) : null });
export const loadMessage = (key: MessageKey | null, params: string | null): Message | null =>
  key ? { key, ...(params ? { params: JSON.parse(params) as Params } : {}) } : null;

/** `hu-HU`, `hu_HU.UTF-8`, `HU` → `hu`; anything unknown → English. */
export function pickLocale(value: string | null | undefined): Locale {
  const language = (value ?? '').toLowerCase().split(/[-_.]/)[0];
  return locales.find((locale) => locale === language) ?? 'en';
}

export function isLocale(value: unknown): value is Locale {
  return locales.includes(value as Locale);
}

export function translator(locale: Locale): Translate {
  const catalog = catalogs[locale];
  const translate: Translate = (key, params) => {
    const text = catalog[key] ?? en[key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
      if (!Object.hasOwn(params, name)) return whole;
      const value = params[name]!;
      return typeof value === 'object' ? translate(value.key, value.params) : String(value);
    });
  };
  return translate;
}

export interface Format {
  bytes(value: number | null | undefined): string;
  percent(fraction: number | null | undefined): string;
  number(value: number | null | undefined, digits?: number): string;
  dateTime(iso: string | null | undefined): string;
  duration(ms: number | null | undefined): string;
}

const intlLocale: Record<Locale, string> = { en: 'en-GB', hu: 'hu-HU' };

export function formatter(locale: Locale, t: Translate): Format {
  const tag = intlLocale[locale];
  const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' });
  const na = t('common.na');
  const number = (value: number | null | undefined, digits = 1) =>
    value === null || value === undefined || !Number.isFinite(value) ? na : new Intl.NumberFormat(tag, { maximumFractionDigits: digits }).format(value);
  return {
    number,
    bytes(value) {
      if (value === null || value === undefined) return na;
      const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
      let scaled = value;
      let unit = 0;
      while (scaled >= 1000 && unit < units.length - 1) {
        scaled /= 1000;
        unit += 1;
      }
      return `${number(scaled, scaled < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
    },
    percent: (fraction) => (fraction === null || fraction === undefined ? na : `${number(fraction * 100, 0)} %`),
    dateTime: (iso) => (iso ? dateTime.format(new Date(iso)) : na),
    duration(ms) {
      if (ms === null || ms === undefined) return na;
      const seconds = Math.round(ms / 1000);
      if (seconds < 60) return t('common.seconds', { n: seconds });
      const minutes = Math.floor(seconds / 60);
      if (minutes < 60) return t('common.minutes_seconds', { m: minutes, s: seconds % 60 });
      const hours = Math.floor(minutes / 60);
      if (hours < 48) return t('common.hours_minutes', { h: hours, m: minutes % 60 });
      return t('common.days_hours', { d: Math.floor(hours / 24), h: hours % 24 });
    },
  };
}
