/**
 * An agent that is not ours: an HTTPS server with its own self-signed leaf that answers
 * every read of the contract with the contract's golden JSON, and a bootstrap.json
 * pointing at it. Tests swap a golden (`answer`) to show another documented variant.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { loadOrCreateLeaf } from '../../dev-agent/cert.ts';
import { readGolden, tempDir } from './temp.ts';

const TOKEN = 'flt_golden0123456789abcdef0123456789abcdef0123';

const readGoldens: Record<string, string> = {
  '/storage': 'storage.json',
  '/snapshots': 'snapshots.json',
  '/backup/due': 'backup-due.not-due.json',
  '/backup/status': 'backup-status.json',
  '/restore-test/status': 'restore-test-status.json',
  '/host/metrics': 'host-metrics.json',
  '/disks': 'disks.json',
};

export async function goldenAgent(t: TestContext, options: { locale?: string } = {}) {
  const dir = tempDir(t, 'felhom-golden-agent-');
  const leaf = await loadOrCreateLeaf(dir, 'own');
  const answers = { ...readGoldens };
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const route = new URL(req.url!, 'https://agent').pathname;
    const golden = req.method === 'GET' && req.headers.authorization === `Bearer ${TOKEN}` ? answers[route] : undefined;
    res.setHeader('Content-Type', 'application/json');
    if (!golden) {
      res.statusCode = req.headers.authorization === `Bearer ${TOKEN}` ? 404 : 401;
      res.end(JSON.stringify(readGolden(res.statusCode === 401 ? 'error.unauthorized.json' : 'error.not-found.json')));
      return;
    }
    res.end(JSON.stringify(readGolden(golden)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  const port = (server.address() as { port: number }).port;

  const bootstrap = readGolden('bootstrap.json') as Record<string, Record<string, string>>;
  bootstrap.local_api = { endpoint: `https://127.0.0.1:${port}`, fingerprint: leaf.fingerprint, token: TOKEN };
  if (options.locale) bootstrap.customer!.locale = options.locale;
  const bootstrapPath = path.join(dir, 'bootstrap.json');
  fs.writeFileSync(bootstrapPath, JSON.stringify(bootstrap), { mode: 0o600 });
  return {
    bootstrapPath,
    /** Answers `route` with another golden file from now on. */
    answer(route: keyof typeof readGoldens, golden: string) {
      answers[route] = golden;
    },
  };
}
