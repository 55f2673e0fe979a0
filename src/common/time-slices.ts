// Running long control-side work (decoding and translating 10,000 resources, building 10,000
// cluster runtimes) in time slices: the work is a generator that yields between items; the
// async driver gives the event loop a turn (setImmediate) whenever a slice has used up its
// budget, so I/O and other updates (an EDS response, a connection) are served in between. The
// sync driver runs the same generator to completion in one go.

/** Runs `steps` to completion without yielding; returns its result. */
export function runToEnd<R>(steps: Generator<void, R>): R {
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/** Default slice budget: short enough that an arriving update waits a few ms at most. */
export const DEFAULT_SLICE_MS = 3;

/** Runs `steps`, yielding to the event loop after every `sliceMs` of work; resolves with its result. */
export async function runInSlices<R>(steps: Generator<void, R>, sliceMs = DEFAULT_SLICE_MS): Promise<R> {
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
