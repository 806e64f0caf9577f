/** The controller's own settings: the store and the one registry of their keys. */
export { createSettings, type Setting, type Settings, type SettingSource } from './store.ts';
export { autoUpdate, bulkWithoutBackupAccepted, SETTING, type SettingKey } from './keys.ts';
