// Counter stats: monotonically increasing numbers (Envoy Stats::Counter). The engine resolves a
// counter once at config time and keeps the reference; `inc()` on the request path is two field
// writes. A stat rejected by the stats matcher is a NullCounter: same shape, no effect, not stored.

export interface Counter {
  readonly name: string;
  /** Current value (0 for a null counter). */
  readonly value: number;
  /** True once written (Envoy's used() flag, for `usedonly`). */
  readonly used: boolean;
  inc(n?: number): void;
  add(n: number): void;
}

/** A counter's value and used flag; the subclass says where its name comes from. */
export abstract class CounterValue implements Counter {
  abstract readonly name: string;
  value = 0;
  used = false;

  inc(n = 1): void {
    this.value += n;
    this.used = true;
  }

  add(n: number): void {
    this.value += n;
    this.used = true;
  }

  /** /reset_counters: value back to zero; the used flag stays, as in Envoy. */
  reset(): void {
    this.value = 0;
  }
}

export class CounterImpl extends CounterValue {
  constructor(readonly name: string) {
    super();
  }
}

export class NullCounter implements Counter {
  readonly value = 0;
  readonly used = false;
  constructor(readonly name: string) {}
  inc(): void {}
  add(): void {}
}
