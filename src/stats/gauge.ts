// Gauge stats: values that go up and down (Envoy Stats::Gauge). Import mode decides how the
// control side combines the per-process values (see snapshot.ts): Accumulate gauges are summed
// over the control side and every worker (connection counts, for example); NeverImport gauges
// are process-wide facts owned by one process (server.state, workers_started), never summed.

export type GaugeImportMode = 'Accumulate' | 'NeverImport';

export interface Gauge {
  readonly name: string;
  readonly value: number;
  readonly used: boolean;
  readonly importMode: GaugeImportMode;
  set(v: number): void;
  add(n: number): void;
  sub(n: number): void;
  inc(): void;
  dec(): void;
}

/** A gauge's value, used flag and import mode; the subclass says where its name comes from. */
export abstract class GaugeValue implements Gauge {
  abstract readonly name: string;
  value = 0;
  used = false;
  constructor(readonly importMode: GaugeImportMode) {}

  /** Marks the gauge used even when the value does not change: `server.state` set to 0 (LIVE)
   *  must show under `usedonly`, which is what pilot-agent's readiness probe asks for. */
  set(v: number): void {
    this.value = v;
    this.used = true;
  }

  add(n: number): void {
    this.value += n;
    this.used = true;
  }

  sub(n: number): void {
    this.value -= n;
    this.used = true;
  }

  inc(): void {
    this.value += 1;
    this.used = true;
  }

  dec(): void {
    this.value -= 1;
    this.used = true;
  }
}

export class GaugeImpl extends GaugeValue {
  constructor(
    readonly name: string,
    importMode: GaugeImportMode,
  ) {
    super(importMode);
  }
}

export class NullGauge implements Gauge {
  readonly value = 0;
  readonly used = false;
  constructor(
    readonly name: string,
    readonly importMode: GaugeImportMode,
  ) {}
  set(): void {}
  add(): void {}
  sub(): void {}
  inc(): void {}
  dec(): void {}
}
