/**
 * The apps as the quiesce loop sees them (its StackPort): which to stop for a backup,
 * stopping them, and starting again exactly the containers a run stopped. The most
 * safety-critical code of the product: an app left stopped here stays down.
 */
import type { StackPort } from '../quiesce/index.ts';
import type { ContainerInfo, DockerPort } from '../stacks/index.ts';
import { errorMessage } from '../errors.ts';
import type { AppStore } from './store.ts';

export interface QuiesceStacksDeps {
  store: Pick<AppStore, 'list' | 'get'>;
  docker: Pick<DockerPort, 'listContainers' | 'stopProject' | 'startProject' | 'startContainers'>;
}

/** Up as far as a restart is concerned: running, or a one-shot step that finished well. */
const isUp = (c: ContainerInfo) => c.state === 'running' || (c.oneShot && c.exitCode === 0);

/**
 * Apps meant to run and running now; not those stopped for storage (the storage watch
 * owns them). Each is recorded with its containers running now: only those are started
 * again, so a container that was already down (a finished one-shot init step, one the
 * customer's app had stopped) is neither re-run nor counted as a failed restart.
 */
export function createQuiesceStacks({ store, docker }: QuiesceStacksDeps): StackPort {
  /** Starts one app again; true when what should run runs. */
  async function startApp(id: string, recorded: Record<string, string[]> | null): Promise<boolean> {
    const wanted = recorded?.[id];
    let up: boolean;
    if (wanted === undefined) {
      // A run recorded before its containers were: the whole stack, as it was then.
      await docker.startProject(id);
      const all = await docker.listContainers(id);
      up = all.length > 0 && all.every(isUp);
    } else {
      // Started by the names recorded at the stop, without listing first: the apps are
      // down until this call, so every step before it is downtime.
      await docker.startContainers(wanted);
      const running = new Set((await docker.listContainers(id)).filter(isUp).map((c) => c.name));
      up = wanted.every((name) => running.has(name));
    }
    // The storage watch marked it while it was being started: it must not run on a missing mount.
    if (store.get(id)?.stoppedForStorage) await docker.stopProject(id);
    return up;
  }

  return {
    async quiescable() {
      const candidates = store.list().filter((app) => app.status === 'installed' && !app.stoppedForStorage);
      const listed = await Promise.all(
        candidates.map(async (app) => [app.id, (await docker.listContainers(app.id)).filter((c) => c.state === 'running').map((c) => c.name).sort()] as const),
      );
      return Object.fromEntries(listed.filter(([, running]) => running.length > 0).sort(([a], [b]) => a.localeCompare(b)));
    },
    async stop(stacks) {
      const results = await Promise.allSettled(stacks.map((id) => docker.stopProject(id)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${stacks[i]}: ${errorMessage(r.reason)}`] : []));
      if (failed.length > 0) throw new Error(failed.join('; '));
      return results.flatMap((r) => (r.status === 'fulfilled' ? r.value.filter((c) => c.killed).map((c) => c.name) : [])).sort();
    },
    async start(stacks, recorded) {
      const failed: string[] = [];
      await Promise.all(
        stacks.map(async (id) => {
          const app = store.get(id);
          // Uninstalled meanwhile, its storage went away (the storage watch owns it), or
          // the customer stopped it during the backup: nothing to start here.
          if (!app || app.stoppedForStorage || app.desired === 'stopped') return;
          const up = await startApp(id, recorded).catch(() => false);
          if (!up) failed.push(id);
        }),
      );
      return failed.sort();
    },
  };
}
