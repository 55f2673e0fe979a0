// File-based xDS (Envoy's path_config_source / path): a file holding a DiscoveryResponse in
// proto3 JSON or YAML (as in Envoy's dynamic-config-fs example), read at start and again whenever
// it changes. Tools update such files by writing a new file and renaming it over the old one
// (Envoy watches for that move); we poll the path's stat (inode, size, mtime), which sees both
// renames and in-place writes. Each successful read is one state-of-the-world update through the
// same store path as ADS; a bad file or bad resources are rejected with the reason in the log,
// stats and /config_history, and the last good config keeps serving (there is no server to NACK).
import { readFileSync, statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { fromProtoJson } from '../config/bootstrap/proto-json';
import { lookupType } from '../gen/proto-root';
import type { AdsUpdate, AdsUpdateResult } from '../xds/ads-types';
import { decodeSotwResources } from '../xds/resource-decoder';

/** How often the file's stat is checked. */
export const FILE_SOURCE_POLL_MS = 200;

export interface FileSourceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export class FileSource {
  /** Names the last accepted file held (SotW: a wildcard type's missing names are removals). */
  private held = new Set<string>();
  private lastKey = '';
  private started = false;

  constructor(
    readonly path: string,
    readonly typeUrl: string,
    private readonly wildcard: boolean,
    private readonly onUpdate: (u: AdsUpdate) => AdsUpdateResult,
    private readonly log: FileSourceLogger,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.check();
    watchFile(this.path, { interval: FILE_SOURCE_POLL_MS, persistent: false }, this.onStat);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    unwatchFile(this.path, this.onStat);
  }

  private readonly onStat = (): void => this.check();

  private check(): void {
    let st: Stats;
    try {
      st = statSync(this.path);
    } catch (err) {
      if (this.lastKey !== 'missing') this.log.warn({ path: this.path, err: (err as NodeJS.ErrnoException).code }, 'xds file: cannot stat config file; keeping the last good config');
      this.lastKey = 'missing';
      return;
    }
    const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.load();
  }

  /** Reads, parses and applies the file once. Exposed for tests. */
  load(): AdsUpdateResult {
    let json: unknown;
    try {
      const text = readFileSync(this.path, 'utf8');
      json = extname(this.path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
    } catch (err) {
      return this.reject(`cannot read or parse ${this.path}: ${(err as Error).message.split('\n')[0]}`);
    }
    let response: { versionInfo?: string; resources?: { typeUrl?: string; value?: Uint8Array }[] };
    try {
      response = fromProtoJson(lookupType('envoy.service.discovery.v3.DiscoveryResponse'), json ?? {}) as typeof response;
    } catch (err) {
      return this.reject(`${this.path} is not a DiscoveryResponse: ${(err as Error).message}`);
    }
    const decoded = decodeSotwResources(this.typeUrl, response.resources ?? []);
    const removed = this.wildcard ? [...this.held].filter((n) => !decoded.presentNames.has(n)) : [];
    const update: AdsUpdate = {
      typeUrl: this.typeUrl,
      versionInfo: String(response.versionInfo ?? ''),
      nonce: '',
      resources: decoded.resources,
      invalid: decoded.invalid,
      removed,
      sotw: true,
    };
    const result = this.onUpdate(update);
    const errors = [...decoded.invalid, ...result.errors];
    if (errors.length) this.log.warn({ path: this.path, errors }, 'xds file: resources rejected; the last good ones keep serving');
    else this.log.info({ path: this.path, version: update.versionInfo, resources: decoded.resources.length }, 'xds file: applied');
    this.held = decoded.presentNames;
    return { errors };
  }

  private reject(reason: string): AdsUpdateResult {
    this.log.warn({ path: this.path, reason }, 'xds file: update rejected; keeping the last good config');
    // An empty, invalid update still counts as a rejected attempt in stats and history.
    this.onUpdate({ typeUrl: this.typeUrl, versionInfo: '', nonce: '', resources: [], invalid: [{ name: this.path, reason }], removed: [], sotw: true });
    return { errors: [{ name: this.path, reason }] };
  }
}
