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
      error: agent.error,
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
    ui.page(res, 'status', { title: res.locals.ui.t('status.title'), status: presentStatus(await status.get()) });
  });
  return router;
}
