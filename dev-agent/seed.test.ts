import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newGuest, seedDemoHistory } from './seed.ts';

test('the demo history is never due, at any time of day: its latest backup finished less than a day ago', () => {
  const midnight = Date.parse('2026-12-02T00:00:00Z');
  for (let minute = 0; minute < 24 * 60; minute += 1) {
    const now = midnight + minute * 60_000;
    const guest = newGuest(now - 30 * 86_400_000);
    seedDemoHistory(guest, '101', now);
    const finished = Date.parse(guest.backups.at(-1)!.finished_at!);
    assert.ok(finished <= now && now - finished < 86_400_000, `at ${new Date(now).toISOString()}: finished ${guest.backups.at(-1)!.finished_at}`);
    assert.ok(Date.parse(guest.restore_test.integrity.last_verify_at!) <= now);
  }
});
