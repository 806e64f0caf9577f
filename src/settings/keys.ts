/**
 * Every setting the controller keeps, named in one place: the store accepts only these
 * keys, so a typo is a build error instead of a setting nobody reads.
 */
export const SETTING = {
  customerName: 'customer.name',
  customerEmail: 'customer.email',
  /** The UI's language; seeded from the bootstrap, then the customer's choice. */
  locale: 'ui.locale',
} as const;

const BULK_WITHOUT_BACKUP_ACCEPTED = 'alerts.bulk_no_backup.acknowledged:';

/** The customer accepted that nothing backs up this bulk volume (the home page's alert). */
export const bulkWithoutBackupAccepted = (app: string, volume: string) => `${BULK_WITHOUT_BACKUP_ACCEPTED}${app}/${volume}` as const;

const AUTO_UPDATE = 'apps.auto_update:';

/** The customer turned automatic updates on for this app ('on'); unset or 'off' means never (docs/updates.md). */
export const autoUpdate = (app: string) => `${AUTO_UPDATE}${app}` as const;

export type SettingKey = (typeof SETTING)[keyof typeof SETTING] | ReturnType<typeof bulkWithoutBackupAccepted> | ReturnType<typeof autoUpdate>;
