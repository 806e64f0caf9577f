import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { activityPeriods } from '../audit/pages.ts';
import { chartRanges } from '../host/history.ts';
import { CATALOG_CATEGORIES } from '../apps/catalog.ts';
import { deploySteps } from '../apps/operations.ts';
import { phases } from '../quiesce/machine.ts';
import { en } from './en.ts';
import { catalogs, formatter, locales, pickLocale, translator, type MessageKey } from './index.ts';

const root = path.join(import.meta.dirname, '..', '..');
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const keys = Object.keys(en) as MessageKey[];

function filesUnder(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => pattern.test(f)).map((f) => path.join(dir, f));
}

describe('message catalogs', () => {
  for (const locale of locales) {
    test(`when the ${locale} catalog is read, then it has every key, none empty, with the same placeholders as English`, () => {
      const catalog = catalogs[locale];
      assert.deepEqual(Object.keys(catalog).sort(), [...keys].sort());
      for (const key of keys) {
        assert.ok(catalog[key].trim().length > 0, `${locale} ${key} is empty`);
        assert.deepEqual(placeholders(catalog[key]), placeholders(en[key]), `${locale} ${key} placeholders`);
      }
    });
  }

  test('when Hungarian is compared with English, then it is a translation, not a copy', () => {
    const same = keys.filter((key) => catalogs.hu[key] === en[key] && !/^(Docker|SMART|English|Magyar)$/.test(en[key]) && !/^\{/.test(en[key]));
    assert.ok(same.length <= 5, `untranslated: ${same.join(', ')}`);
  });

  test('when a template or module names a message, then the message exists', () => {
    const sources = [...filesUnder(path.join(root, 'views'), /\.eta$/), ...filesUnder(path.join(root, 'src'), /(?<!\.test)\.ts$/)];
    const missing: string[] = [];
    for (const file of sources) {
      const text = fs.readFileSync(file, 'utf8');
      for (const [, key] of text.matchAll(/\bt\('([a-z_]+\.[a-z_-]+)'/g)) {
        if (!key!.endsWith('_') && !(key! in en)) missing.push(`${path.relative(root, file)}: ${key}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('when a template builds a key from a value, then every value has its message', () => {
    const dynamic = [
      ...['installing', 'failed', 'stopped_for_storage', 'running', 'unhealthy', 'partial', 'stopped', 'missing', 'unknown'].map((s) => `state.${s}`),
      ...phases.map((p) => `phase.${p}`),
      ...['succeeded', 'failed', 'unknown'].map((o) => `outcome.${o}`),
      ...['scheduled', 'manual'].map((o) => `trigger.${o}`),
      ...['install', 'update', 'start', 'stop', 'restart', 'uninstall', 'rollback', 'resume-install'].map((k) => `operation.${k}`),
      ...['running', 'succeeded', 'failed'].map((s) => `operation_state.${s}`),
      ...deploySteps.map((s) => `deploy_step.${s}`),
      ...['ok', 'failed', 'refused'].map((s) => `audit_outcome.${s}`),
      ...['hot', 'bulk'].map((c) => `class.${c}`),
      ...['guest', 'own', 'none'].map((b) => `volumes.backup_${b}`),
      ...['fast', 'slow'].map((c) => `disks.class_${c}`),
      ...['assigned', 'ejected', 'formatted'].map((d) => `disks.done_${d}`),
      ...['start', 'stop', 'restart', 'update', 'rollback'].map((d) => `app.done_${d}`),
      ...['start', 'stop', 'restart', 'update'].map((d) => `app.${d}`),
      ...['password', 'token_revoked'].map((d) => `settings.done_${d}`),
      ...['pass', 'fail', 'running'].map((r) => `backups.restore_result_${r}`),
      ...Object.keys(chartRanges).map((r) => `host.range_${r}`),
      ...Object.keys(activityPeriods).map((p) => `activity.period_${p}`),
      ...locales.map((l) => `language.${l}`),
      ...CATALOG_CATEGORIES.map((c) => `category.${c}`),
      ...['password_too_short', 'password_too_long', 'password_mismatch'].map((p) => `auth.${p}`),
    ];
    assert.deepEqual(dynamic.filter((key) => !(key in en)), []);
  });
});

describe('language choice and formatting', () => {
  test('when the bootstrap says hu-HU or hu_HU.UTF-8, then Hungarian; anything unknown, then English', () => {
    assert.equal(pickLocale('hu-HU'), 'hu');
    assert.equal(pickLocale('hu_HU.UTF-8'), 'hu');
    assert.equal(pickLocale('de-DE'), 'en');
    assert.equal(pickLocale(null), 'en');
  });

  test('when a message has placeholders, then they are filled, and unknown ones are left visible', () => {
    const t = translator('en');
    assert.equal(t('home.open_app', { app: 'Jellyfin' }), 'Open Jellyfin');
    assert.equal(t('home.open_app'), 'Open {app}');
  });

  test('when a parameter is itself a message, then it is worded in the same language', () => {
    const cause = { key: 'error.target_disk_not_connected', params: { disk: 'WD' } } as const;
    assert.equal(translator('en')('bulk_reason.target_gone', { disk: 'WD', reason: cause }), translator('en')('bulk_reason.target_gone', { disk: 'WD', reason: 'the target disk WD is not connected' }));
    assert.ok(translator('hu')('bulk_reason.target_gone', { disk: 'WD', reason: cause }).includes('a céllemez (WD) nincs csatlakoztatva'));
  });

  test('when numbers are formatted, then each language uses its own conventions and null reads n/a', () => {
    const en = formatter('en', translator('en'));
    const hu = formatter('hu', translator('hu'));
    assert.equal(en.bytes(1_500_000_000), '1.5 GB');
    assert.equal(hu.bytes(1_500_000_000), '1,5 GB');
    assert.equal(en.number(null), 'n/a');
    assert.equal(en.duration(95_000), '1 min 35 s');
    assert.equal(en.percent(0.456), '46 %');
  });
});
