/**
 * What `GET /api/v1/status` and the status page show: is the controller configured
 * from bootstrap.json, does the pinned agent answer, does Docker answer. Probes are
 * cached briefly so a page load never waits on more than one probe of each.
 *
 * Readiness, from the same probes, is what the container's health check asks: can the
 * controller do its work (its database answers, a bootstrap was applied, Docker
 * answers). The agent channel is not part of it: an agent that is away or restarting is
 * the agent's to fix, and an unhealthy controller would be rolled back for it.
 */
import { isAgentError, type AgentClient } from '../agent/index.ts';
import type { BootstrapReport, BootstrapService } from '../bootstrap/index.ts';
import { rfc3339, type Clock } from '../clock.ts';
import { cachedProbe } from '../cached.ts';
import { errorMessage, errorText } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { DockerPort } from '../stacks/index.ts';

export type PinState = 'verified' | 'mismatch' | 'unknown';

export interface AgentStatus {
  configured: boolean;
  endpoint: string | null;
  fingerprint: string | null;
  reachable: boolean;
  pin: PinState;
  authorized: boolean | null;
  version: string | null;
  /** `message` in English; `text` the same as a catalog message, for the status page. */
  error: { code: string; message: string; text: Message } | null;
  checkedAt: string | null;
}

export interface DockerStatus {
  reachable: boolean;
  version: string | null;
  apiVersion: string | null;
  error: string | null;
  checkedAt: string;
}

export interface ControllerStatus {
  controller: { version: string; startedAt: string };
  bootstrap: BootstrapReport;
  identity: ReturnType<BootstrapService['identity']>;
  agent: AgentStatus;
  docker: DockerStatus;
}

/** One readiness check: whether it passes, and a short word on its state. */
export interface ReadinessCheck {
  ok: boolean;
  state: string;
}

export interface Readiness {
  ready: boolean;
  checks: { database: ReadinessCheck; bootstrap: ReadinessCheck; docker: ReadinessCheck };
}

/** The container's health check gives up after 3 s: a Docker that hangs longer is not ready. */
const READINESS_DOCKER_WAIT_MS = 2_000;

export interface StatusDeps {
  version: string;
  /** Throws when the controller's database cannot be read (closed, its disk gone). */
  checkDatabase(): void;
  bootstrap: BootstrapService;
  agent: AgentClient;
  docker: DockerPort;
  clock: Clock;
  maxAgeMs?: number;
}

export interface StatusService {
  get(): Promise<ControllerStatus>;
  agentStatus(): Promise<AgentStatus>;
  readiness(): Promise<Readiness>;
}

function databaseCheck(check: () => void): ReadinessCheck {
  try {
    check();
    return { ok: true, state: 'open' };
  } catch {
    return { ok: false, state: 'unreadable' };
  }
}

export function createStatusService(deps: StatusDeps): StatusService {
  const startedAt = rfc3339(deps.clock.now());
  const maxAgeMs = deps.maxAgeMs ?? 10_000;
  // A new channel (a re-issued bootstrap) makes the last agent probe stale at once.
  const channelKey = () => {
    const channel = deps.bootstrap.current();
    return channel ? `${channel.endpoint} ${channel.pin.toString('hex')} ${channel.token.reveal()}` : '';
  };
  const agent = cachedProbe(deps.clock, maxAgeMs, channelKey, () => probeAgent(deps));
  const docker = cachedProbe(deps.clock, maxAgeMs, () => '', () => probeDocker(deps));
  return {
    agentStatus: agent,
    async readiness() {
      const dockerStatus = await Promise.race([docker(), new Promise<null>((resolve) => setTimeout(resolve, READINESS_DOCKER_WAIT_MS, null).unref())]);
      const bootstrap = deps.bootstrap.report().state;
      const checks = {
        database: databaseCheck(deps.checkDatabase),
        // `degraded` keeps working with the channel it had; `setup` has none at all.
        bootstrap: { ok: bootstrap !== 'setup', state: bootstrap },
        docker: { ok: dockerStatus?.reachable === true, state: dockerStatus === null ? 'no_answer' : dockerStatus.reachable ? 'reachable' : 'unreachable' },
      };
      return { ready: Object.values(checks).every((check) => check.ok), checks };
    },
    async get() {
      const [agentStatus, dockerStatus] = await Promise.all([agent(), docker()]);
      return {
        controller: { version: deps.version, startedAt },
        bootstrap: deps.bootstrap.report(),
        identity: deps.bootstrap.identity(),
        agent: agentStatus,
        docker: dockerStatus,
      };
    },
  };
}

async function probeAgent(deps: StatusDeps): Promise<AgentStatus> {
  const channel = deps.bootstrap.current();
  const base = {
    configured: channel !== null,
    endpoint: channel?.endpoint ?? null,
    fingerprint: channel ? `sha256:${channel.pin.toString('hex')}` : null,
    checkedAt: rfc3339(deps.clock.now()),
  };
  if (!channel) {
    return { ...base, reachable: false, pin: 'unknown', authorized: null, version: null, error: null };
  }
  try {
    await deps.agent.probe();
    return { ...base, reachable: true, pin: 'verified', authorized: true, version: deps.agent.agentVersion, error: null };
  } catch (error) {
    const code = isAgentError(error) ? error.agentCode : 'internal';
    const failure = { code, message: errorMessage(error), text: errorText(error) };
    if (code === 'pin_mismatch') {
      return { ...base, reachable: true, pin: 'mismatch', authorized: null, version: null, error: failure };
    }
    if (code === 'timeout' || code === 'unreachable' || code === 'internal') {
      return { ...base, reachable: false, pin: 'unknown', authorized: null, version: null, error: failure };
    }
    // The agent answered through a verified connection, but not with success.
    return {
      ...base,
      reachable: true,
      pin: 'verified',
      authorized: code !== 'unauthorized',
      version: deps.agent.agentVersion,
      error: failure,
    };
  }
}

async function probeDocker(deps: StatusDeps): Promise<DockerStatus> {
  const checkedAt = rfc3339(deps.clock.now());
  try {
    const info = await deps.docker.info();
    return { reachable: true, version: info.version, apiVersion: info.apiVersion, error: null, checkedAt };
  } catch (error) {
    return { reachable: false, version: null, apiVersion: null, error: errorMessage(error), checkedAt };
  }
}
