// Compiled header edits of one route-table level (route config, virtual host, route, weighted
// cluster) and the function that applies an ordered list of levels to a header map. Worker
// side; the HCM/router calls applyHeaderEdits once for the request and once for the response.
//
// Within one level Envoy's HeaderParser::evaluateHeaders removes first, then formats every
// value against the unmodified headers, then applies overwrites, then appends. Empty values are
// skipped unless keep_empty_value is set.
import type { HeaderEditsConfig, HeaderValueOptionConfig } from '../../../config/model/route';
import { HeaderFormatter } from './header-format';
import type { HeaderFormatContext, MutableHeaders } from './route-request';

const APPEND = 0;
const ADD_IF_ABSENT = 1;
const OVERWRITE_OR_ADD = 2;
const OVERWRITE_IF_EXISTS = 3;

const ACTIONS: Readonly<Record<HeaderValueOptionConfig['appendAction'], number>> = {
  APPEND_IF_EXISTS_OR_ADD: APPEND,
  ADD_IF_ABSENT,
  OVERWRITE_IF_EXISTS_OR_ADD: OVERWRITE_OR_ADD,
  OVERWRITE_IF_EXISTS,
};

/** One direction (request or response) of one level's edits. */
export class HeaderEditList {
  private readonly remove: readonly string[];
  private readonly names: string[] = [];
  private readonly formatters: HeaderFormatter[] = [];
  private readonly actions: number[] = [];
  private readonly keepEmpty: boolean[] = [];
  // Scratch space reused on every apply (the worker is single-threaded and apply is synchronous).
  private readonly values: (string | null)[] = [];

  constructor(add: readonly HeaderValueOptionConfig[], remove: readonly string[]) {
    this.remove = remove;
    for (const h of add) {
      this.names.push(h.name);
      this.formatters.push(new HeaderFormatter(h.format));
      this.actions.push(ACTIONS[h.appendAction]);
      this.keepEmpty.push(h.keepEmptyValue);
      this.values.push(null);
    }
  }

  get empty(): boolean {
    return this.remove.length === 0 && this.names.length === 0;
  }

  apply(headers: MutableHeaders, ctx: HeaderFormatContext): void {
    for (let i = 0; i < this.remove.length; i++) headers.remove(this.remove[i]!);
    const n = this.names.length;
    if (n === 0) return;
    const values = this.values;
    for (let i = 0; i < n; i++) {
      const v = this.formatters[i]!.format(ctx);
      let keep = v !== '' || this.keepEmpty[i]!;
      if (keep) {
        const action = this.actions[i]!;
        if (action === ADD_IF_ABSENT) keep = headers.get(this.names[i]!) === undefined;
        else if (action === OVERWRITE_IF_EXISTS) keep = headers.get(this.names[i]!) !== undefined;
      }
      values[i] = keep ? v : null;
    }
    for (let i = 0; i < n; i++) {
      const a = this.actions[i]!;
      if (values[i] !== null && (a === OVERWRITE_OR_ADD || a === OVERWRITE_IF_EXISTS)) headers.set(this.names[i]!, values[i]!);
    }
    for (let i = 0; i < n; i++) {
      const a = this.actions[i]!;
      if (values[i] !== null && (a === APPEND || a === ADD_IF_ABSENT)) headers.add(this.names[i]!, values[i]!);
      values[i] = null;
    }
  }
}

/** Both directions of one level; `null` members when a direction has nothing to do. */
export interface CompiledHeaderEdits {
  readonly request: HeaderEditList | null;
  readonly response: HeaderEditList | null;
}

/** Compiles one level's edits. */
export function compileHeaderEdits(config: HeaderEditsConfig): CompiledHeaderEdits {
  const request = new HeaderEditList(config.requestHeadersToAdd, config.requestHeadersToRemove);
  const response = new HeaderEditList(config.responseHeadersToAdd, config.responseHeadersToRemove);
  return { request: request.empty ? null : request, response: response.empty ? null : response };
}

/** Applies an ordered list of levels (as prepared by the route table) to `headers`. */
export function applyHeaderEdits(levels: readonly HeaderEditList[], headers: MutableHeaders, ctx: HeaderFormatContext): void {
  for (let i = 0; i < levels.length; i++) levels[i]!.apply(headers, ctx);
}
