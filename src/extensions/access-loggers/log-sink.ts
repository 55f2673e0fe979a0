// Buffered access log output per destination (file path, stdout, stderr), shared by every
// logger of the process that writes there. Lines are collected and written in one write when
// the buffer passes 64 KiB or on the flush interval (Envoy --file-flush-interval-msec, default
// 10 s; the worker sets it with setAccessLogFlushIntervalMs), and synchronously at exit.
import * as fs from 'node:fs';

const FLUSH_BYTES = 64 * 1024;
// Envoy's default 10 s until the process sets --file-flush-interval-msec (control side at start,
// workers from their WorkerInit).
let flushIntervalMs = 10_000;
const sinks = new Map<string, LogSink>();

/** Sets the flush interval for sinks created from now on and reschedules existing ones. */
export function setAccessLogFlushIntervalMs(ms: number): void {
  flushIntervalMs = Math.max(1, ms);
  for (const s of sinks.values()) s.reschedule();
}

export class LogSink {
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private fd = -1;

  constructor(private readonly target: string) {}

  write(line: string): void {
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, flushIntervalMs);
      this.timer.unref();
    }
  }

  reschedule(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = setTimeout(this.onTimer, flushIntervalMs);
      this.timer.unref();
    }
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  /** Writes everything buffered. `sync` at exit. */
  flush(sync = false): void {
    if (this.lines.length === 0) return;
    const data = this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    if (this.target === 'stdout' && !sync) {
      process.stdout.write(data);
      return;
    }
    if (this.target === 'stderr' && !sync) {
      process.stderr.write(data);
      return;
    }
    try {
      const fd = this.target === 'stdout' ? 1 : this.target === 'stderr' ? 2 : this.open();
      if (sync) fs.writeSync(fd, data);
      else fs.write(fd, data, () => {});
    } catch {
      // A log file we cannot write is not a reason to break traffic (Envoy keeps going too).
    }
  }

  private open(): number {
    if (this.fd < 0) this.fd = fs.openSync(this.target, 'a');
    return this.fd;
  }
}

export function logSink(target: string): LogSink {
  let s = sinks.get(target);
  if (s === undefined) {
    s = new LogSink(target);
    sinks.set(target, s);
  }
  return s;
}

/** Flushes every sink now (tests, shutdown). */
export function flushAccessLogs(sync = false): void {
  for (const s of sinks.values()) s.flush(sync);
}

process.once('exit', () => flushAccessLogs(true));
