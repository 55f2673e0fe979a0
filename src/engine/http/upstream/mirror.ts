// Request mirroring (RouteAction.request_mirror_policies): once the request is complete, a copy
// goes to the mirror cluster with "-shadow" appended to the host (unless
// disable_shadow_host_suffix_append), fire and forget — the response is read and dropped and
// never affects the main request (Envoy's shadow writer).
import type { RequestMirrorPolicyConfig } from '../../../config/model/route';
import type { StatsScope } from '../../../stats/stats-store';
import type { ActiveStream } from '../active-stream';
import type { H1MessageHead } from '../h1/h1-message-head';
import type { HeaderMap } from '../header-map';
import type { ResetReason } from '../local-reply';
import { fractionMatches } from '../route/matchers';
import { clusterHttp } from './cluster-http';
import type { UpstreamAttempt } from './h1-conn-pool';
import type { UpstreamStream } from './upstream-stream';

class MirrorAttempt implements UpstreamAttempt {
  private up: UpstreamStream | null = null;
  constructor(
    private readonly method: string,
    private readonly path: string,
    private readonly authority: string,
    private readonly scheme: string,
    private readonly headers: HeaderMap,
    private readonly body: readonly Buffer[],
    private readonly trailers: HeaderMap | null,
  ) {}
  onPoolReady(up: UpstreamStream): void {
    this.up = up;
    const n = this.body.length;
    up.sendHeaders(this.method, this.path, this.authority, this.scheme, this.headers, n === 0 && this.trailers === null, false);
    for (let i = 0; i < n; i++) up.sendData(this.body[i]!, i === n - 1 && this.trailers === null);
    if (this.trailers !== null) up.sendTrailers(this.trailers);
  }
  onPoolFailure(_r: ResetReason): void {}
  onUpstreamHeaders(_h: H1MessageHead): void {}
  onUpstreamData(_c: Buffer): void {}
  onUpstreamComplete(_t: string[] | null): void {
    this.up?.release();
    this.up = null;
  }
  onUpstreamReset(_r: ResetReason): void {
    this.up = null;
  }
  onUpstreamDrain(): void {}
}

function shadowHost(authority: string): string {
  const c = authority.lastIndexOf(':');
  if (c > 0 && authority.indexOf(']') < c && /^\d+$/.test(authority.slice(c + 1))) return `${authority.slice(0, c)}-shadow${authority.slice(c)}`;
  return `${authority}-shadow`;
}

export function sendMirror(s: ActiveStream, p: RequestMirrorPolicyConfig, path: string, authority: string, body: readonly Buffer[], trailers: HeaderMap | null, root: StatsScope): void {
  if (p.runtimeFraction !== undefined && !fractionMatches(p.runtimeFraction.defaultValue, s.random)) return;
  const name = p.cluster !== '' ? p.cluster : (s.requestHeaders.get(p.clusterHeader) ?? '');
  const cluster = name === '' ? undefined : s.runtime.clusters.get(name);
  if (cluster === undefined) return;
  const host = cluster.chooseHost();
  if (host === undefined) return;
  const http = clusterHttp(cluster, root);
  const headers = s.requestHeaders.copy();
  const a = p.disableShadowHostSuffixAppend ? authority : shadowHost(authority);
  headers.set('host', a);
  http.stats.upstreamRqTotal.inc();
  http.h1Pool(host).acquire(new MirrorAttempt(s.method, path, a, s.scheme, headers, body, trailers));
}
