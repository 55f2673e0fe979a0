// Result and configuration-error types shared by every translator (config/translate, bootstrap).
// Config errors are data, not exceptions: each carries the field path (proto field names, as
// users write them in YAML/JSON) and a reason, so a NACK or a `--mode validate` run can list
// every problem at once.

/** One problem found in a config resource: where (field path) and why. */
export interface ConfigError {
  /** Field path in proto field names, e.g. `filter_chains[0].filters[1].typed_config`. */
  readonly path: string;
  readonly reason: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly ConfigError[] };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(errors: readonly ConfigError[]): Result<T> {
  return { ok: false, errors };
}

/** Joins a parent path and a child segment: joinPath('a', 'b') = 'a.b'; joinPath('a', '[0]') = 'a[0]'. */
export function joinPath(parent: string, child: string): string {
  if (!parent) return child;
  if (!child) return parent;
  return child.startsWith('[') ? parent + child : `${parent}.${child}`;
}

/**
 * Collects errors while a translator walks a resource. `at(path)` gives a view that prefixes
 * every error it records; all views share one list.
 */
export class ErrorSink {
  private constructor(
    private readonly list: ConfigError[],
    private readonly prefix: string,
  ) {}

  static create(prefix = ''): ErrorSink {
    return new ErrorSink([], prefix);
  }

  at(path: string): ErrorSink {
    return new ErrorSink(this.list, joinPath(this.prefix, path));
  }

  add(path: string, reason: string): void {
    this.list.push({ path: joinPath(this.prefix, path), reason });
  }

  addAll(errors: readonly ConfigError[], under = ''): void {
    for (const e of errors) this.list.push({ path: joinPath(joinPath(this.prefix, under), e.path), reason: e.reason });
  }

  get errors(): readonly ConfigError[] {
    return this.list;
  }

  get failed(): boolean {
    return this.list.length > 0;
  }

  /** Ok(value) if nothing was recorded, else the recorded errors. */
  result<T>(value: T): Result<T> {
    return this.list.length === 0 ? ok(value) : fail(this.list.slice());
  }
}

/** Renders errors one per line as `path: reason` (path omitted when empty). */
export function formatErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.reason}` : e.reason)).join('\n');
}
