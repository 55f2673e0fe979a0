// Unreferenced one-shot timers for the HTTP data path: stream, request and retry timers never
// keep a worker alive on their own (open sockets do), so shutdown is not held up by a timeout
// that no longer matters.
export function timer(fn: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}
