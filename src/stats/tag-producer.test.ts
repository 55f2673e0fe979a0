// Tag extraction against Envoy's default extractors (well_known_names.cc comments and Envoy's
// tag_extractor_impl tests describe the expected names and tags) and custom specifiers.
import { DEFAULT_TAG_NAMES } from './default-tags';
import { TagProducer } from './tag-producer';
import { ENVOY_DEFAULT_TAG_NAMES } from '../config/model/stats';

const defaults = new TagProducer({ statsTags: [], useAllDefaultTags: true });

function tagsOf(p: TagProducer, name: string): [string, Record<string, string>] {
  const e = p.produceTags(name);
  return [e.extractedName, Object.fromEntries(e.tags.map((t) => [t.name, t.value]))];
}

describe('TagProducer with Envoy default tags', () => {
  it('extracts cluster name and response code class', () => {
    expect(tagsOf(defaults, 'cluster.ratings.upstream_rq_2xx')).toEqual([
      'cluster.upstream_rq_xx',
      { 'envoy.cluster_name': 'ratings', 'envoy.response_code_class': '2' },
    ]);
    expect(tagsOf(defaults, 'cluster.ratings.upstream_rq_503')).toEqual([
      'cluster.upstream_rq',
      { 'envoy.cluster_name': 'ratings', 'envoy.response_code': '503' },
    ]);
  });

  it('extracts listener addresses but never "admin"', () => {
    expect(tagsOf(defaults, 'listener.0.0.0.0_15006.downstream_cx_total')).toEqual([
      'listener.downstream_cx_total',
      { 'envoy.listener_address': '0.0.0.0_15006' },
    ]);
    expect(tagsOf(defaults, 'listener.[__1]_443.downstream_cx_total')[1]).toEqual({ 'envoy.listener_address': '[__1]_443' });
    expect(tagsOf(defaults, 'listener.admin.downstream_cx_total')).toEqual(['listener.admin.downstream_cx_total', {}]);
  });

  it('extracts the HTTP connection manager prefix and worker ids', () => {
    expect(tagsOf(defaults, 'http.ingress_http.downstream_rq_total')).toEqual([
      'http.downstream_rq_total',
      { 'envoy.http_conn_manager_prefix': 'ingress_http' },
    ]);
    expect(tagsOf(defaults, 'listener.127.0.0.1_80.http.ingress.downstream_rq_5xx')).toEqual([
      'listener.http.downstream_rq_xx',
      { 'envoy.response_code_class': '5', 'envoy.http_conn_manager_prefix': 'ingress', 'envoy.listener_address': '127.0.0.1_80' },
    ]);
    expect(tagsOf(defaults, 'listener_manager.worker_1.dispatcher.loop_duration_us')).toEqual([
      // Envoy removes only the id: the family is listener_manager_worker_dispatcher_...
      'listener_manager.worker_dispatcher.loop_duration_us',
      { 'envoy.worker_id': '1' },
    ]);
  });

  it('applies token patterns with ** and a leading $', () => {
    expect(tagsOf(defaults, 'vhost.vh1.route.r1.upstream_rq_total')).toEqual([
      'vhost.route.upstream_rq_total',
      { 'envoy.virtual_host': 'vh1', 'envoy.route': 'r1' },
    ]);
    expect(tagsOf(defaults, 'tcp.inbound_tcp.downstream_cx_total')).toEqual(['tcp.downstream_cx_total', { 'envoy.tcp_prefix': 'inbound_tcp' }]);
    expect(tagsOf(defaults, 'myprefix.http_local_rate_limit.rate_limited')).toEqual([
      'http_local_rate_limit.rate_limited',
      { 'envoy.local_http_ratelimit_prefix': 'myprefix' },
    ]);
    expect(tagsOf(defaults, 'http.rds_http.rds.my.route.config.update_success')).toEqual([
      'http.rds.update_success',
      { 'envoy.http_conn_manager_prefix': 'rds_http', 'envoy.rds_route_config': 'my.route.config' },
    ]);
  });

  it('leaves names without tags alone', () => {
    expect(tagsOf(defaults, 'server.state')).toEqual(['server.state', {}]);
    expect(tagsOf(defaults, 'cluster_manager.cds.update_success')).toEqual(['cluster_manager.cds.update_success', {}]);
  });

  it('keeps the default tag names in step with the config model', () => {
    expect([...DEFAULT_TAG_NAMES].sort()).toEqual([...ENVOY_DEFAULT_TAG_NAMES].sort());
  });
});

describe('TagProducer with custom specifiers', () => {
  it('uses group 1 for removal and group 2 for the value; fixed values on every stat', () => {
    const p = new TagProducer({
      useAllDefaultTags: false,
      statsTags: [
        { tagName: 'cluster_name', ecmaRegex: '^cluster(\\.(.+);)', fixedValue: undefined },
        { tagName: 'zone', ecmaRegex: undefined, fixedValue: 'z1' },
        { tagName: 'one_group', ecmaRegex: '(\\.only)$', fixedValue: undefined },
      ],
    });
    expect(tagsOf(p, 'cluster.outbound|80||a.b.svc.cluster.local;.upstream_cx_total.only')).toEqual([
      'cluster.upstream_cx_total',
      { cluster_name: 'outbound|80||a.b.svc.cluster.local', zone: 'z1', one_group: '.only' },
    ]);
  });

  it('adds only the first match when several extractors share a tag name', () => {
    const p = new TagProducer({
      useAllDefaultTags: false,
      statsTags: [
        { tagName: 'code', ecmaRegex: '_rq(_(\\d{3}))$', fixedValue: undefined },
        { tagName: 'code', ecmaRegex: '_rq_((\\d{2}))\\d$', fixedValue: undefined },
      ],
    });
    const e = p.produceTags('x.upstream_rq_200');
    expect(e.tags).toEqual([{ name: 'code', value: '200' }]);
    expect(e.extractedName).toBe('x.upstream_rq');
  });

  it('uses the default extractors of a name given without regex, and rejects unknown ones', () => {
    const p = new TagProducer({ useAllDefaultTags: false, statsTags: [{ tagName: 'envoy.cluster_name', ecmaRegex: undefined, fixedValue: undefined }] });
    expect(tagsOf(p, 'cluster.c1.upstream_rq_200')).toEqual(['cluster.upstream_rq_200', { 'envoy.cluster_name': 'c1' }]);
    expect(() => new TagProducer({ useAllDefaultTags: false, statsTags: [{ tagName: 'nope', ecmaRegex: undefined, fixedValue: undefined }] })).toThrow(
      /no default regex/,
    );
  });

  it('caches per name', () => {
    const p = new TagProducer({ useAllDefaultTags: true, statsTags: [] });
    const a = p.cached('cluster.c.upstream_rq_total');
    expect(p.cached('cluster.c.upstream_rq_total')).toBe(a);
    expect(p.cacheSize).toBe(1);
    p.clearCache();
    expect(p.cacheSize).toBe(0);
  });
});
