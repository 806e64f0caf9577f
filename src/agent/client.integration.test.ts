/**
 * The pinned agent client against real TLS servers on loopback: a server that records
 * every byte it receives, and a scripted HTTPS server for the contract's error cases.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, it, type TestContext } from 'node:test';
import { loadOrCreateLeaf, type Leaf } from '../../dev-agent/cert.ts';
import { silentLogger } from '../log.ts';
import { Secret } from '../secret.ts';
import { readGolden, tempDir } from '../testing/temp.ts';
import { AgentClient, type AgentChannel, type ChannelSource } from './client.ts';
import { isAgentError, type AgentError } from './errors.ts';
import { parsePin } from './pin.ts';

const TOKEN = 'flt_0123456789abcdef0123456789abcdef';

async function leaves(t: TestContext): Promise<{ own: Leaf; other: Leaf }> {
  const dir = tempDir(t);
  return { own: await loadOrCreateLeaf(dir, 'own'), other: await loadOrCreateLeaf(dir, 'alternate') };
}

function channelFor(port: number, leaf: Leaf, token = TOKEN): AgentChannel {
  return { endpoint: `https://127.0.0.1:${port}`, pin: parsePin(leaf.fingerprint)!, token: new Secret(token) };
}

/** A channel source whose channel a test can change, as a re-issued bootstrap.json would. */
class TestSource implements ChannelSource {
  channel: AgentChannel | null;
  readonly #onRefresh: (source: TestSource) => void;

  constructor(channel: AgentChannel | null, onRefresh: (source: TestSource) => void = () => {}) {
    this.channel = channel;
    this.#onRefresh = onRefresh;
  }

  current() {
    return this.channel;
  }

  async refresh() {
    this.#onRefresh(this);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** An HTTPS server presenting `leaf` that answers with `handler` and counts connections. */
async function scriptedAgent(t: TestContext, leaf: Leaf, handler: Handler) {
  const seen: Array<{ method: string; url: string; authorization: string | undefined }> = [];
  let connections = 0;
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      res.setHeader('X-Felhom-Agent-Version', '9.9.9');
      handler(req, res, body);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen, connections: () => connections };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function rejected(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isAgentError(error), `expected an AgentError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('when the server presents another certificate than the pin', () => {
  it('then the call fails with pin_mismatch and the server receives nothing but the handshake', async (t) => {
    const { own, other } = await leaves(t);
    const received: Buffer[] = [];
    let connections = 0;
    const server = tls.createServer({ cert: other.certPem, key: other.keyPem }, (socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => {});
    });
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const client = new AgentClient(new TestSource(channelFor(port, own)), { logger: silentLogger(), getRetries: 0 });
    t.after(() => client.close());

    const error = await rejected(client.requestBackup('manual'));
    assert.equal(error.agentCode, 'pin_mismatch');
    assert.equal(error.code, 'pin_mismatch');
    assert.match(error.message, new RegExp(`presented certificate ${other.fingerprint}.*pins ${own.fingerprint}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(connections, 1, 'the client connected and presented a handshake');
    assert.equal(Buffer.concat(received).length, 0, 'no application byte (no path, no token) reached the server');
  });

  it('then a GET is not retried against it either', async (t) => {
    const { own, other } = await leaves(t);
    const agent = await scriptedAgent(t, other, (_req, res) => json(res, 200, readGolden('storage.json')));
    const client = new AgentClient(new TestSource(channelFor(agent.port, own)), { logger: silentLogger(), retryBackoffMs: 1 });
    t.after(() => client.close());
    assert.equal((await rejected(client.getStorage())).agentCode, 'pin_mismatch');
    assert.equal(agent.connections(), 1);
    assert.equal(agent.seen.length, 0);
  });
});

describe('when the server presents the pinned certificate', () => {
  it('then the call carries the token and the answer is parsed, and calls share one kept-alive connection', async (t) => {
    const { own } = await leaves(t);
    const agent = await scriptedAgent(t, own, (_req, res) => json(res, 200, readGolden('storage.json')));
    const client = new AgentClient(new TestSource(channelFor(agent.port, own)), { logger: silentLogger() });
    t.after(() => client.close());
    for (let i = 0; i < 6; i++) {
      const storage = await client.getStorage();
      assert.equal(storage.mounts[0]!.id, 'local-fast');
    }
    assert.equal(agent.seen[0]!.authorization, `Bearer ${TOKEN}`);
    assert.ok(agent.connections() <= 2, `6 calls opened ${agent.connections()} connections`);
    assert.equal(client.agentVersion, '9.9.9');
  });

  it('then each contract error status becomes a typed error with the agent message and a hint', async (t) => {
    const { own } = await leaves(t);
    const answers: Record<string, [number, string]> = {
      '/storage': [401, 'error.unauthorized.json'],
      '/snapshots': [403, 'error.cross-guest.json'],
      '/backup': [409, 'error.conflict.json'],
      '/host/metrics': [503, 'error.unavailable.json'],
      '/disks/format': [403, 'disks-format.refused.json'],
      '/disks/assign': [422, 'error.unprocessable.json'],
      '/backup/status?id=bk-101-20200101T000000': [404, 'error.not-found.json'],
      '/snapshots/agent-pre-controller-0-39-0': [403, 'error.not-owner.json'],
    };
    const agent = await scriptedAgent(t, own, (req, res) => {
      const [status, golden] = answers[req.url!]!;
      json(res, status, readGolden(golden));
    });
    const client = new AgentClient(new TestSource(channelFor(agent.port, own)), {
      logger: silentLogger(),
      getRetries: 0,
    });
    t.after(() => client.close());

    const unauthorized = await rejected(client.getStorage());
    assert.equal(unauthorized.agentCode, 'unauthorized');
    assert.equal(unauthorized.agentStatus, 401);
    assert.match(unauthorized.message, /GET \/storage: missing or unknown token \(the agent does not accept the controller token/);

    assert.equal((await rejected(client.listSnapshots())).agentCode, 'cross_guest');

    const conflict = await rejected(client.requestBackup('scheduled'));
    assert.equal(conflict.agentCode, 'conflict');
    assert.equal(conflict.code, 'conflict');
    assert.equal(conflict.backupId, 'bk-101-20261122T030000');
    assert.match(conflict.message, /already in flight/);

    const unavailable = await rejected(client.getHostMetrics());
    assert.equal(unavailable.agentCode, 'unavailable');
    assert.equal(unavailable.httpStatus, 503);

    const refused = await rejected(client.formatDisk({ disk: 'usb-9f3a27c1', filesystem: 'ext4', fs_label: 'x' }));
    assert.equal(refused.agentCode, 'pending_signature');
    assert.match(refused.message, /holds data .* operator-signed/);

    assert.equal((await rejected(client.assignDisk({ disk: 'usb-2b77e0d4', label: 'x', class: 'slow', role: 'bulk-data' }))).agentCode, 'unprocessable');
    assert.equal((await rejected(client.getBackupStatus('bk-101-20200101T000000'))).agentCode, 'not_found');
    assert.equal((await rejected(client.deleteSnapshot('agent-pre-controller-0-39-0'))).agentCode, 'not_owner');
  });

  it('then a body that breaks the contract is a bad_response naming the field, and extra fields pass', async (t) => {
    const { own } = await leaves(t);
    const status = structuredClone(readGolden('backup-status.json')) as { backup: Record<string, unknown> } & Record<string, unknown>;
    status.future_field = [1, 2, 3];
    let broken = false;
    const agent = await scriptedAgent(t, own, (_req, res) => {
      if (!broken) return json(res, 200, status);
      const copy = structuredClone(status);
      delete copy.backup.updated_at;
      json(res, 200, copy);
    });
    const client = new AgentClient(new TestSource(channelFor(agent.port, own)), { logger: silentLogger(), getRetries: 0 });
    t.after(() => client.close());
    assert.equal((await client.getBackupStatus()).backup?.phase, 'snapshotted');
    broken = true;
    const error = await rejected(client.getBackupStatus());
    assert.equal(error.agentCode, 'bad_response');
    assert.match(error.message, /backup\.updated_at/);
  });

  it('then an agent that never answers times out within the bound', async (t) => {
    const { own } = await leaves(t);
    const agent = await scriptedAgent(t, own, () => {
      /* hang: never answer */
    });
    const client = new AgentClient(new TestSource(channelFor(agent.port, own)), { logger: silentLogger(), timeoutMs: 300, getRetries: 0 });
    t.after(() => client.close());
    const started = performance.now();
    const error = await rejected(client.getBackupDue());
    const elapsed = performance.now() - started;
    assert.equal(error.agentCode, 'timeout');
    assert.equal(error.code, 'agent_unreachable');
    assert.match(error.message, /no answer within 300 ms/);
    assert.ok(elapsed < 2_000, `gave up after ${elapsed} ms`);
  });

  it('then a GET is retried with backoff after a 503, and a POST is never retried', async (t) => {
    const { own } = await leaves(t);
    let failuresLeft = 2;
    const agent = await scriptedAgent(t, own, (req, res) => {
      if (failuresLeft > 0 || req.method === 'POST') {
        failuresLeft--;
        return json(res, 503, readGolden('error.unavailable.json'));
      }
      json(res, 200, readGolden('backup-due.json'));
    });
    const client = new AgentClient(new TestSource(channelFor(agent.port, own)), { logger: silentLogger(), getRetries: 2, retryBackoffMs: 5 });
    t.after(() => client.close());
    assert.equal((await client.getBackupDue()).due, true);
    assert.equal(agent.seen.filter((r) => r.method === 'GET').length, 3);
    assert.equal((await rejected(client.requestBackup('manual'))).agentCode, 'unavailable');
    assert.equal(agent.seen.filter((r) => r.method === 'POST').length, 1);
  });

  it('then after a 401 the client re-reads its channel once and repeats the call with the new token', async (t) => {
    const { own } = await leaves(t);
    const agent = await scriptedAgent(t, own, (req, res) => {
      if (req.headers.authorization === 'Bearer flt_reminted_token_0000000000000') return json(res, 202, readGolden('backup.json'));
      json(res, 401, readGolden('error.unauthorized.json'));
    });
    const source = new TestSource(channelFor(agent.port, own), (self) => {
      self.channel = channelFor(agent.port, own, 'flt_reminted_token_0000000000000');
    });
    const client = new AgentClient(source, { logger: silentLogger() });
    t.after(() => client.close());
    const backup = await client.requestBackup('manual');
    assert.equal(backup.phase, 'queued');
    assert.deepEqual(
      agent.seen.map((r) => r.authorization),
      [`Bearer ${TOKEN}`, 'Bearer flt_reminted_token_0000000000000'],
    );
  });

  it('then when the re-minted token was picked up while the call was in flight, the call is repeated with it', async (t) => {
    const { own } = await leaves(t);
    const reminted = 'flt_reminted_token_1111111111111';
    let source: TestSource;
    const agent = await scriptedAgent(t, own, (req, res) => {
      if (req.headers.authorization === `Bearer ${reminted}`) return json(res, 200, readGolden('storage.json'));
      // The file watcher re-reads bootstrap.json while this request is in flight.
      source.channel = channelFor(agent.port, own, reminted);
      json(res, 401, readGolden('error.unauthorized.json'));
    });
    source = new TestSource(channelFor(agent.port, own));
    const client = new AgentClient(source, { logger: silentLogger() });
    t.after(() => client.close());
    assert.equal((await client.getStorage()).guest_id, '101');
    assert.deepEqual(agent.seen.map((r) => r.authorization), [`Bearer ${TOKEN}`, `Bearer ${reminted}`]);
  });

  it('then a 401 that a re-read does not cure is reported, after one re-read and no retry', async (t) => {
    const { own } = await leaves(t);
    let refreshes = 0;
    const agent = await scriptedAgent(t, own, (_req, res) => json(res, 401, readGolden('error.unauthorized.json')));
    const client = new AgentClient(new TestSource(channelFor(agent.port, own), () => refreshes++), { logger: silentLogger() });
    t.after(() => client.close());
    assert.equal((await rejected(client.requestBackup('manual'))).agentCode, 'unauthorized');
    assert.equal(refreshes, 1);
    assert.equal(agent.seen.length, 1);
  });

  it('then with no channel configured the call fails as not_configured without any connection', async () => {
    const client = new AgentClient(new TestSource(null), { logger: silentLogger() });
    const error = await rejected(client.getStorage());
    assert.equal(error.agentCode, 'not_configured');
    assert.match(error.message, /bootstrap\.json has not been ingested/);
  });

  it('then a port that speaks plain HTTP is reported as no TLS, in words', async (t) => {
    const { own } = await leaves(t);
    const http = await import('node:http');
    const plain = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    t.after(() => plain.close());
    const client = new AgentClient(new TestSource(channelFor((plain.address() as AddressInfo).port, own)), { logger: silentLogger(), getRetries: 0 });
    t.after(() => client.close());
    const error = await rejected(client.getStorage());
    assert.equal(error.agentCode, 'unreachable');
    assert.match(error.message, /did not complete a TLS handshake \(is it a plain http:\/\/ port\?\)/);
    assert.doesNotMatch(error.message, /openssl|deps\//);
  });

  it('then a closed port is reported unreachable, not as a crash', async (t) => {
    const { own } = await leaves(t);
    const agent = await scriptedAgent(t, own, () => {});
    const port = agent.port;
    const client = new AgentClient(new TestSource(channelFor(port === 1 ? 2 : 1, own)), { logger: silentLogger(), getRetries: 0 });
    t.after(() => client.close());
    const error = await rejected(client.getStorage());
    assert.equal(error.agentCode, 'unreachable');
  });
});
