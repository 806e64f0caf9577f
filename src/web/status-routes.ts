import { Router } from 'express';
import type { ControllerStatus, StatusService } from '../status/index.ts';
import type { Ui } from '../ui/index.ts';

/** The API speaks snake_case, like the agent contract; nothing secret is in here. */
export function presentStatus(status: ControllerStatus) {
  const { bootstrap, identity, agent, docker, controller } = status;
  return {
    controller: { version: controller.version, started_at: controller.startedAt },
    bootstrap: {
      state: bootstrap.state,
      path: bootstrap.path,
      problem: bootstrap.problem,
      issued_at: bootstrap.issuedAt,
      checked_at: bootstrap.checkedAt,
    },
    identity: identity && {
      guest_id: identity.guestId,
      host_id: identity.hostId,
      hostname: identity.hostname,
      customer_id: identity.customerId,
      hub_url: identity.hubUrl,
    },
    agent: {
      configured: agent.configured,
      endpoint: agent.endpoint,
      fingerprint: agent.fingerprint,
      reachable: agent.reachable,
      pin: agent.pin,
      authorized: agent.authorized,
      version: agent.version,
      error: agent.error && { code: agent.error.code, message: agent.error.message },
      checked_at: agent.checkedAt,
    },
    docker: {
      reachable: docker.reachable,
      version: docker.version,
      api_version: docker.apiVersion,
      error: docker.error,
      checked_at: docker.checkedAt,
    },
  };
}

/**
 * `GET /readyz`, without a token (the container's health check asks it): 200 when ready,
 * 503 when not, with each check's state and nothing more (the reasons are on the
 * signed-in status page and /api/v1/status).
 */
export function readiness(status: Pick<StatusService, 'readiness'>): Router {
  const router = Router();
  router.get('/readyz', async (_req, res) => {
    const { ready, checks } = await status.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}

export function statusApi(status: StatusService): Router {
  const router = Router();
  router.get('/status', async (_req, res) => {
    res.json(presentStatus(await status.get()));
  });
  return router;
}

export function statusPage(status: StatusService, ui: Ui): Router {
  const router = Router();
  router.get('/status', async (_req, res) => {
    const [current, { ready, checks }] = await Promise.all([status.get(), status.readiness()]);
    ui.page(res, 'status', { title: res.locals.ui.t('status.title'), status: presentStatus(current), agentError: current.agent.error?.text ?? null, readiness: { ready, checks } });
  });
  return router;
}
