import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

export interface Views {
  render(name: string, data: Record<string, unknown>): string;
}

/** Templates live in views/ at the project root (the same from src/ and from dist/). */
export function createViews(directory = fileURLToPath(new URL('../../views', import.meta.url))): Views {
  const eta = new Eta({ views: directory, cache: true, autoEscape: true, autoTrim: false });
  return {
    render: (name, data) => eta.render(`./${name}`, data),
  };
}
