/**
 * Images through the engine: pulling one with progress the customer can follow, and
 * asking a registry which digest a tag points at without pulling it. The engine talks
 * to the registry, so its settings (mirrors, insecure registries) apply; it keeps no
 * registry logins, and no X-Registry-Auth is sent, so a registry that needs a login is
 * not supported yet (docs/operations.md).
 *
 * A registry that hangs would hold an engine pull forever: every call here is bounded,
 * a pull by how long it may go without any progress, a digest question by a deadline.
 */
import type Docker from 'dockerode';
import { AppError, errorMessage } from '../errors.ts';
import type { Engine } from './engine.ts';
import { statusOf, unless } from './engine.ts';

/** Where a pull stands, summed over the image's layers. */
export interface PullProgress {
  image: string;
  layers: number;
  layersDone: number;
  /** Compressed bytes to download, of the layers whose size the engine has said so far. */
  bytes: number;
  bytesDone: number;
}

export interface PullOptions {
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /** How long the pull may go without a word from the engine before it is given up. */
  stallMs: number;
}

/** One line of the engine's pull stream (`POST /images/create`). */
interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

/** The engine's per-layer statuses that mean the layer is in place. */
const LAYER_DONE = new Set(['Pull complete', 'Already exists']);
/** Statuses that name a layer (the others name the tag or the whole image). */
const LAYER_STATUSES = new Set(['Pulling fs layer', 'Waiting', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete', 'Already exists']);

/** Folds the engine's pull events into one running total. */
export class PullTally {
  readonly #image: string;
  readonly #layers = new Map<string, { total: number; done: number; complete: boolean }>();

  constructor(image: string) {
    this.#image = image;
  }

  /** Takes one event; throws the engine's error when the event is one. */
  add(event: PullEvent): void {
    if (event.error) throw new AppError('unavailable', { key: 'error.pull_failed', params: { image: this.#image, cause: event.error } });
    if (!event.id || !event.status || !LAYER_STATUSES.has(event.status)) return;
    const layer = this.#layers.get(event.id) ?? { total: 0, done: 0, complete: false };
    if (event.status === 'Downloading' && event.progressDetail) {
      layer.total = event.progressDetail.total ?? layer.total;
      layer.done = event.progressDetail.current ?? layer.done;
    }
    if (event.status === 'Download complete' || event.status === 'Extracting' || LAYER_DONE.has(event.status)) layer.done = layer.total;
    if (LAYER_DONE.has(event.status)) layer.complete = true;
    this.#layers.set(event.id, layer);
  }

  get progress(): PullProgress {
    const layers = [...this.#layers.values()];
    return {
      image: this.#image,
      layers: layers.length,
      layersDone: layers.filter((l) => l.complete).length,
      bytes: layers.reduce((sum, l) => sum + l.total, 0),
      bytesDone: layers.reduce((sum, l) => sum + l.done, 0),
    };
  }
}

/**
 * Pulls `image` and resolves when the engine has it. Fails with the engine's reason,
 * or when nothing was heard for `stallMs` (the request is then dropped, which ends
 * the engine's pull too), or when `signal` aborts.
 */
export async function pullImage(engine: Engine, image: string, options: PullOptions): Promise<PullProgress> {
  const tally = new PullTally(image);
  const dropped = new AbortController();
  const signals = options.signal ? AbortSignal.any([options.signal, dropped.signal]) : dropped.signal;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      dropped.abort();
    }, options.stallMs);
  };
  const stalledError = () =>
    new AppError('unavailable', { key: 'error.pull_stalled', params: { image, seconds: Math.round(options.stallMs / 1000) } });

  watch();
  try {
    const stream = (await engine.stream.pull(image, { abortSignal: signals })) as NodeJS.ReadableStream;
    let rest = '';
    for await (const chunk of stream) {
      watch();
      rest += chunk.toString();
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        tally.add(JSON.parse(line) as PullEvent);
        options.onProgress?.(tally.progress);
      }
    }
    if (rest.trim()) tally.add(JSON.parse(rest) as PullEvent);
    if (stalled) throw stalledError();
    return tally.progress;
  } catch (error) {
    if (stalled) throw stalledError();
    options.signal?.throwIfAborted();
    if (error instanceof AppError) throw error;
    throw new AppError('unavailable', { key: 'error.pull_failed', params: { image, cause: engineReason(error) } }, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The digest the registry holds for `image`'s tag, asked through the engine without
 * pulling (`GET /distribution/{name}/json`). Bounded by `timeoutMs`.
 */
export async function remoteDigest(engine: Engine, image: string, timeoutMs: number): Promise<string> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const answer = (await dial(engine.stream, { path: `/distribution/${image}/json`, method: 'GET', statusCodes: { 200: true, 401: 'unauthorized or not found', 403: 'forbidden', 404: 'not found', 500: 'server error' }, abortSignal: deadline })) as {
      Descriptor?: { digest?: string };
    };
    const digest = answer.Descriptor?.digest;
    if (!digest) throw new Error('the engine answered without a digest');
    return digest;
  } catch (error) {
    if (deadline.aborted) throw new AppError('unavailable', { key: 'error.registry_timeout', params: { image, seconds: Math.round(timeoutMs / 1000) } }, { cause: error });
    throw new AppError('unavailable', { key: 'error.registry_no_answer', params: { image, cause: engineReason(error) } }, { cause: error });
  }
}

/** The `repo@sha256:…` digests the engine recorded for an image when it was pulled or pushed. */
export async function repoDigests(engine: Engine, imageIdOrRef: string): Promise<string[]> {
  const image = await unless([404], engine.quick.getImage(imageIdOrRef).inspect());
  return image?.RepoDigests ?? [];
}

/** The image id a reference points at in the engine, or null when the engine lacks it. */
export async function imageIdOf(engine: Engine, reference: string): Promise<string | null> {
  return (await unless([404], engine.quick.getImage(reference).inspect()))?.Id ?? null;
}

/** Points `reference` (repo:tag) at the image `imageId` again. */
export async function tagImage(engine: Engine, imageId: string, reference: string): Promise<void> {
  const at = reference.lastIndexOf(':');
  const hasTag = at > reference.lastIndexOf('/');
  await engine.quick.getImage(imageId).tag({ repo: hasTag ? reference.slice(0, at) : reference, tag: hasTag ? reference.slice(at + 1) : 'latest' });
}

function dial(docker: Docker, options: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options as never, (error: unknown, data: unknown) => (error ? reject(error) : resolve(data)));
  });
}

/** The engine's own words, without dockerode's "(HTTP code 404) unexpected - " prefix. */
function engineReason(error: unknown): string {
  const json = (error as { json?: { message?: string } } | null)?.json;
  if (json?.message) return json.message.trim();
  const status = statusOf(error);
  const text = errorMessage(error).trim();
  return status ? text.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '') : text;
}
