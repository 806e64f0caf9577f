const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * A value that must never reach a log, a page or an API response (the agent token).
 * Every way of turning it into text yields "[redacted]"; only `reveal()` gives the
 * value, so each place that needs it is easy to find.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: Secret | null | undefined): boolean {
    return other !== null && other !== undefined && other.#value === this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect](): string {
    return 'Secret([redacted])';
  }
}
