/**
 * Whether a catalog app can be installed from where the box stands: its images are in
 * the engine, or in a registry the box reaches. On an offline box (FELHOM_OFFLINE) an
 * image from anywhere but the listed registries needs the internet, and so does one the
 * listed registry lacks. A box with internet is not second-guessed: no badge.
 *
 * The store shows this beside each app, so it must be cheap: the images are read from
 * the compose file's text (no compose run), a registry is asked once per image and the
 * answers are kept for a while.
 */
import { parseDocument } from 'yaml';
import type { Clock } from '../clock.ts';
import type { DockerPort } from '../stacks/index.ts';
import { needsInternet } from './policy/index.ts';
import type { Availability } from './store-view.ts';

export interface AvailabilityDeps {
  docker: Pick<DockerPort, 'hasImage' | 'remoteDigest'>;
  clock: Clock;
  offline: boolean;
  allowedRegistries: string[];
  /** How long a registry's answer about an image is trusted. */
  maxAgeMs?: number;
  /** How long one registry question may take. */
  timeoutMs?: number;
}

/**
 * The images a compose file names, as written; `${VAR:-default}` is read as its default
 * (how a catalog file pins a version that an operator may override).
 */
export function imagesOfComposeText(text: string): string[] {
  const services = (parseDocument(text, { merge: true }).toJS({ maxAliasCount: 100 }) as { services?: Record<string, { image?: unknown }> } | null)?.services ?? {};
  const images = Object.values(services)
    .map((service) => service?.image)
    .filter((image): image is string => typeof image === 'string')
    .map((image) => image.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, '$1'));
  return [...new Set(images)];
}

/** Answers for many images, each registry question asked at most once per `maxAgeMs`. */
export function createAvailability(deps: AvailabilityDeps): (images: string[]) => Promise<Availability> {
  const maxAgeMs = deps.maxAgeMs ?? 5 * 60_000;
  const timeoutMs = deps.timeoutMs ?? 5_000;
  const answers = new Map<string, { at: number; inRegistry: Promise<boolean> }>();

  const inRegistry = (image: string): Promise<boolean> => {
    const now = deps.clock.now().getTime();
    const known = answers.get(image);
    if (known && now - known.at < maxAgeMs) return known.inRegistry;
    const asked = deps.docker.remoteDigest(image, timeoutMs).then(
      () => true,
      () => false,
    );
    answers.set(image, { at: now, inRegistry: asked });
    return asked;
  };

  const imageReady = async (image: string): Promise<boolean> => {
    if (await deps.docker.hasImage(image)) return true;
    if (needsInternet(image, deps.allowedRegistries)) return false;
    return inRegistry(image);
  };

  return async (images) => {
    if (!deps.offline) return null;
    const ready = await Promise.all(images.map(imageReady));
    return ready.every(Boolean) ? 'ready' : 'needs_internet';
  };
}
