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
  /** False with FELHOM_PULL=never: no registry is asked, as nothing could be downloaded. */
  pullImages: boolean;
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

/**
 * Every digest the engine recorded for `imageId` in the reference's repository: the same
 * image may be known there under several (pushed again, or pulled by another tag whose
 * manifest list differs), and any of them being the registry's means it is up to date.
 */
async function runningDigests(docker: CheckerDocker, imageId: string, reference: string): Promise<string[]> {
  const repository = repositoryOf(reference);
  return (await docker.repoDigests(imageId)).filter((d) => repositoryOf(d) === repository).map((d) => d.slice(d.indexOf('@') + 1));
}

/** A question to the registry, shared by every app of one check run that uses the image. */
export type AskRegistry = (reference: string) => Promise<string>;

/** Asks the registry once per image reference, however many apps and services run it. */
export function sharedRegistryQuestions(deps: Pick<CheckerDeps, 'docker' | 'timeoutMs'>): AskRegistry {
  const asked = new Map<string, Promise<string>>();
  return (reference) => {
    let answer = asked.get(reference);
    if (!answer) {
      answer = deps.docker.remoteDigest(reference, deps.timeoutMs);
      // Unhandled until someone awaits it: a rejection is that app's image error.
      answer.catch(() => {});
      asked.set(reference, answer);
    }
    return answer;
  };
}

/** Checks the image of every service of the app (one container per service is enough). */
export async function checkAppImages(deps: CheckerDeps, appId: string, ask: AskRegistry = sharedRegistryQuestions(deps)): Promise<ImageCheck[]> {
  const containers = await deps.docker.listContainers(appId);
  const seen = new Set<string>();
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
    if (!deps.pullImages) {
      // The box cannot download a newer image anyway: no registry is asked.
      check.error = { key: 'update.pull_off', params: { image: container.image } };
      continue;
    }
    if (deps.offline && needsInternet(container.image, deps.allowedRegistries)) {
      check.error = { key: 'update.needs_internet', params: { image: container.image } };
      continue;
    }
    try {
      const running = await runningDigests(deps.docker, container.imageId, container.image);
      if (running.length === 0) {
        // Built on the guest or loaded from a file: no registry ever gave it a digest.
        check.error = { key: 'update.no_repo_digest', params: { image: container.image } };
        continue;
      }
      check.running = running[0]!;
      check.latest = await ask(container.image);
      // Up to date when the registry's digest is any of those the image is known by.
      if (running.includes(check.latest)) check.running = check.latest;
    } catch (error) {
      check.error = errorText(error);
    }
  }
  return checks;
}
