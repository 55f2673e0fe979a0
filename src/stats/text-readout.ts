// Text readout stats: a string value (Envoy Stats::TextReadout, e.g. `server.version`), shown
// quoted in /stats and as a gauge with a `text_value` label in /stats/prometheus?text_readouts.

export interface TextReadout {
  readonly name: string;
  readonly value: string;
  readonly used: boolean;
  set(v: string): void;
}

export class TextReadoutImpl implements TextReadout {
  value = '';
  used = false;
  constructor(readonly name: string) {}

  set(v: string): void {
    this.value = v;
    this.used = true;
  }
}

export class NullTextReadout implements TextReadout {
  readonly value = '';
  readonly used = false;
  constructor(readonly name: string) {}
  set(): void {}
}
