/**
 * Cuts a stream of text chunks into lines. A chunk may end mid-line, so the rest waits
 * for the next one. `\r` also ends a line: progress output redraws a line with it.
 * Empty lines carry nothing for our readers and are dropped.
 */
export interface LineSplitter {
  push(chunk: string): void;
  end(): void;
}

export function lineSplitter(onLine: (line: string) => void): LineSplitter {
  let rest = '';
  const emit = (line: string) => {
    if (line.trim() !== '') onLine(line);
  };
  return {
    push(chunk) {
      const parts = (rest + chunk).split(/\r\n|\r|\n/);
      rest = parts.pop() ?? '';
      parts.forEach(emit);
    },
    end() {
      emit(rest);
      rest = '';
    },
  };
}
