/**
 * Whether a newer image exists for what an app runs, without pulling anything: the
 * digest the registry holds now for each container's tag, against the digest the engine
 * recorded for the image the container actually runs (the tag may have moved locally
 * since, by a pull that was not followed by a deploy). Whatever cannot be told is said
 * per image, with the reason; one registry's trouble never fails the whole check.
 */
import { needsInternet } from '../apps/index.ts';
import { errorText } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { DockerPort } from '../stacks/index.ts';

export type CheckerDocker = Pick<DockerPort, 'listContainers' | 'repoDigests' | 'remoteDigest'>;

export interface CheckerDeps {
  docker: CheckerDocker;
  /** FELHOM_REGISTRIES: the registries on the guest's network. */
  allowedRegistries: string[];
  /** FELHOM_OFFLINE: only `allowedRegistries` may be asked. */
  offline: boolean;
  /** How long one registry question may take. */
  timeoutMs: number;
}

/** What one service's image check found; `error` says why a digest is missing. */
export interface ImageCheck {
  service: string;
  image: string;
  /** The registry digest (`sha256:…`) of the image the container runs. */
  running: string | null;
  /** The digest the registry holds now for the image's tag. */
  latest: string | null;
  error: Message | null;
}

/** A newer image exists when both digests are known and differ. */
export const updateAvailable = (images: ImageCheck[]): boolean => images.some((i) => i.running !== null && i.latest !== null && i.running !== i.latest);

/**
 * The repository of a reference, as the engine writes it in RepoDigests: without tag or
 * digest, and Docker Hub's names in their short form (`docker.io/library/nginx` → `nginx`).
 */
export function repositoryOf(reference: string): string {
  let name = reference.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  name = name.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  return name.replace(/^library\/(?=[^/]+$)/, '');
}

/** The digest the engine recorded for `imageId` in the reference's repository, or null. */
async function runningDigest(docker: CheckerDocker, imageId: string, reference: string): Promise<string | null> {
  const repository = repositoryOf(reference);
  const entry = (await docker.repoDigests(imageId)).find((d) => repositoryOf(d) === repository);
  return entry ? entry.slice(entry.indexOf('@') + 1) : null;
}

/** Checks the image of every service of the app (one container per service is enough). */
export async function checkAppImages(deps: CheckerDeps, appId: string): Promise<ImageCheck[]> {
  const containers = await deps.docker.listContainers(appId);
  const seen = new Set<string>();
  // One registry question per image, however many services run it.
  const asked = new Map<string, Promise<string>>();
  const checks: ImageCheck[] = [];
  for (const container of containers.toSorted((a, b) => a.service.localeCompare(b.service))) {
    if (seen.has(container.service)) continue;
    seen.add(container.service);
    const check: ImageCheck = { service: container.service, image: container.image, running: null, latest: null, error: null };
    checks.push(check);
    if (container.image.includes('@')) {
      // Pinned by digest: the tag cannot move under it.
      check.error = { key: 'update.pinned', params: { image: container.image } };
      continue;
    }
    if (deps.offline && needsInternet(container.image, deps.allowedRegistries)) {
      check.error = { key: 'update.needs_internet', params: { image: container.image } };
      continue;
    }
    try {
      check.running = await runningDigest(deps.docker, container.imageId, container.image);
      if (check.running === null) {
        // Built on the guest or loaded from a file: no registry ever gave it a digest.
        check.error = { key: 'update.no_repo_digest', params: { image: container.image } };
        continue;
      }
      let latest = asked.get(container.image);
      if (!latest) {
        latest = deps.docker.remoteDigest(container.image, deps.timeoutMs);
        asked.set(container.image, latest);
      }
      check.latest = await latest;
    } catch (error) {
      check.error = errorText(error);
    }
  }
  return checks;
}
