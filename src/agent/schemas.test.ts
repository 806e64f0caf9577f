import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { goldenDir, readGolden } from '../testing/temp.ts';
import type { z } from 'zod';
import * as schema from './schemas.ts';

/** Which schema each golden file is an example of. */
const goldenSchemas: Record<string, z.ZodType> = {
  'storage.json': schema.storageSchema,
  'snapshot.json': schema.snapshotResponseSchema,
  'snapshots.json': schema.snapshotsSchema,
  'snapshot-delete.json': schema.snapshotDeleteSchema,
  'rollback.json': schema.rollbackSchema,
  'backup.json': schema.backupResponseSchema,
  'backup-status.json': schema.backupStatusSchema,
  'backup-status.never.json': schema.backupStatusSchema,
  'backup-status.failed.json': schema.backupStatusSchema,
  'backup-due.json': schema.backupDueSchema,
  'backup-due.not-due.json': schema.backupDueSchema,
  'restore-test-status.json': schema.restoreTestStatusSchema,
  'restore-test-status.never.json': schema.restoreTestStatusSchema,
  'host-metrics.json': schema.hostMetricsSchema,
  'host-metrics.no-sensors.json': schema.hostMetricsSchema,
  'disks.json': schema.disksSchema,
  'disks-assign.json': schema.diskAssignSchema,
  'disks-eject.json': schema.diskEjectSchema,
  'disks-format.json': schema.diskFormatSchema,
  'disks-format.refused.json': schema.errorBodySchema,
  'error.bad-request.json': schema.errorBodySchema,
  'error.conflict.json': schema.errorBodySchema,
  'error.cross-guest.json': schema.errorBodySchema,
  'error.not-found.json': schema.errorBodySchema,
  'error.not-owner.json': schema.errorBodySchema,
  'error.unauthorized.json': schema.errorBodySchema,
  'error.unavailable.json': schema.errorBodySchema,
  'error.unprocessable.json': schema.errorBodySchema,
  'bootstrap.json': schema.bootstrapSchema,
  'snapshot.request.json': schema.snapshotRequestSchema,
  'rollback.request.json': schema.rollbackRequestSchema,
  'backup.request.json': schema.backupRequestSchema,
  'disks-assign.request.json': schema.diskAssignRequestSchema,
  'disks-eject.request.json': schema.diskEjectRequestSchema,
  'disks-format.request.json': schema.diskFormatRequestSchema,
};

const goldens = fs.readdirSync(goldenDir).filter((name) => name.endsWith('.json'));

describe('the contract goldens', () => {
  it('when the fixtures are listed, then every golden has a schema and every schema a golden', () => {
    assert.deepEqual([...goldens].sort(), Object.keys(goldenSchemas).sort());
  });

  for (const name of goldens) {
    it(`when ${name} is parsed, then it matches its schema`, () => {
      const result = goldenSchemas[name]!.safeParse(readGolden(name));
      assert.ok(result.success, result.success ? '' : JSON.stringify(result.error.issues));
    });
  }

  it('when ../shared is beside the project, then the fixture copies are byte-identical to it', (t) => {
    const shared = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'agent-contract');
    if (!fs.existsSync(shared)) {
      // CI always has ../shared beside the clone, so there the copy is always compared.
      assert.notEqual(process.env.CI, 'true', 'CI=true but ../shared/agent-contract is not beside the clone');
      t.skip('../shared/agent-contract is not beside this clone');
      return;
    }
    for (const name of fs.readdirSync(path.join(shared, 'golden'))) {
      assert.deepEqual(fs.readFileSync(path.join(goldenDir, name)), fs.readFileSync(path.join(shared, 'golden', name)), name);
    }
    for (const name of ['conformance.py', 'CONTRACT.md']) {
      assert.deepEqual(fs.readFileSync(path.join(goldenDir, '..', name)), fs.readFileSync(path.join(shared, name)), name);
    }
  });
});

describe('contract tolerance', () => {
  it('when the agent adds fields, then they are tolerated', () => {
    const storage = structuredClone(readGolden('storage.json')) as { mounts: Array<Record<string, unknown>> } & Record<string, unknown>;
    storage.new_top_level = { anything: true };
    storage.mounts[0]!.iops_marker = 'nvme';
    assert.equal(schema.storageSchema.safeParse(storage).success, true);
  });

  it('when a required field is missing or mistyped, then the error names its path', () => {
    const storage = structuredClone(readGolden('storage.json')) as { mounts: Array<Record<string, unknown>> };
    delete storage.mounts[1]!.path;
    storage.mounts[0]!.total_bytes = '200 GB';
    const result = schema.storageSchema.safeParse(storage);
    assert.equal(result.success, false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.'));
    assert.deepEqual(paths.sort(), ['mounts.0.total_bytes', 'mounts.1.path']);
  });
});
