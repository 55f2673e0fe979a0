// The control side of a running proxy (Envoy's source/server/): loads the bootstrap, starts the
// workers and the admin API, publishes the static snapshot, starts xDS (XdsController: ADS ->
// store -> snapshots -> SnapshotPublisher -> workers), keeps server.* stats and the server
// state (INITIALIZING until initial CDS/LDS and their warming completed, then LIVE), and runs
// drain and shutdown.
import { setAccessLogFlushIntervalMs } from '../extensions/access-loggers/log-sink';
import { publishTracingEnvironment, tracingEnvironmentFrom } from '../tracing/tracing-environment';
import { certificatesJson } from '../admin/certs-view';
import { clusterEdsName, clusterSecretRefs, defaultSecretRefs, listenerRdsRefs, listenerSecretRefs } from '../store/dependencies';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flags } from '../config/bootstrap/flags';
import { loadBootstrap, type LoadedBootstrap } from '../config/bootstrap/load-bootstrap';
import type { ConfigSnapshot } from '../config/model/snapshot';
import type { LogRoot } from '../log/logger';
import { AdminServer, type AdminView } from '../admin/admin-server';
import { PrometheusRenderer } from '../stats/render-prometheus';
import { mergeSnapshots } from '../stats/snapshot';
import { StatsStore } from '../stats/stats-store';
import { addressKey } from '../engine/upstream/cluster-runtime';
import type { Msg } from '../config/translate/proto-util';
import type { XdsKind } from '../store/config-store';
import { ClusterWorkers, InProcessWorkers, type Workers } from './workers';
import { createConfigDumpSource } from './config-dump-view';
import { SnapshotPublisher } from './snapshot-publisher';
import { XdsController } from './xds-controller';
import type { BoundListener } from '../worker/worker-engine';
import { VERSION } from './version';

// Envoy's server.state values (pilot-agent parses the number).
const STATE = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 } as const;
type State = keyof typeof STATE;

export class Server {
  private readonly stats: StatsStore;
  private readonly startedAt = Date.now();
  private state: State = 'PRE_INITIALIZING';
  private workers: Workers | undefined;
  private admin: AdminServer | undefined;
  private bound: readonly BoundListener[] = [];
  private publisher: SnapshotPublisher | undefined;
  private xds: XdsController | undefined;
  private uptimeTimer: NodeJS.Timeout | undefined;
  private healthFailed = false;
  private stopping = false;
  private readonly log;

  constructor(
    private readonly flags: Flags,
    private readonly logs: LogRoot,
    private readonly bootstrap: LoadedBootstrap = loadBootstrap(flags),
  ) {
    this.log = logs.component('main');
    this.stats = new StatsStore(bootstrap.config.stats);
  }

  async start(): Promise<void> {
    const { config } = this.bootstrap;
    for (const w of this.bootstrap.warnings) this.log.warn(w);
    const g = (n: string) => this.stats.gauge(n, 'NeverImport');
    g('server.state').set(STATE.PRE_INITIALIZING);
    g('server.concurrency').set(this.flags.concurrency);
    g('server.live').set(1);
    g('listener_manager.workers_started').set(0);
    g('server.version').set(0);
    this.setState('INITIALIZING');
    // Process-wide settings of the data path, set here for in-process workers and passed to
    // worker processes in their WorkerInit.
    const tracing = tracingEnvironmentFrom(config);
    publishTracingEnvironment(tracing);
    setAccessLogFlushIntervalMs(this.flags.fileFlushIntervalMsec);
    const localCluster = { locality: config.node.locality, ...(config.localClusterName ? { clusterName: config.localClusterName } : {}) };
    this.workers =
      this.flags.concurrency === 1
        ? new InProcessWorkers(this.stats, this.logs.component('upstream'), this.flags.drainTimeS * 1000, localCluster)
        : new ClusterWorkers(
            this.flags.concurrency,
            { statsOptions: config.stats, tracing, localCluster, fileFlushIntervalMs: this.flags.fileFlushIntervalMsec, drainTimeMs: this.flags.drainTimeS * 1000, logLevel: this.flags.logLevel, componentLevels: Object.fromEntries(this.flags.componentLogLevels), ...(this.flags.logFormat ? { logFormat: this.flags.logFormat } : {}) },
            this.logs.component('main'),
            join(__dirname, '..', 'worker', 'worker-process.js'),
          );
    if (config.admin) {
      this.admin = new AdminServer(this.adminView(), this.logs.component('admin'));
      const addr = await this.admin.start(config.admin.address);
      this.log.info({ address: addr }, 'admin address');
      if (this.flags.adminAddressPath) writeFileSync(this.flags.adminAddressPath, addr);
    }
    this.publisher = new SnapshotPublisher(this.workers, this.logs.component('config'), (_snap, bound) => {
      this.bound = bound;
    });
    const staticSnapshot: ConfigSnapshot = { generation: 1, listeners: config.staticListeners, routeConfigs: [], clusters: config.staticClusters, endpoints: {}, secrets: config.staticSecrets, versions: {} };
    await this.publisher.applyNow(staticSnapshot);
    g('listener_manager.total_listeners_active').set(config.staticListeners.length);
    g('cluster_manager.active_clusters').set(config.staticClusters.length);
    g('server.hot_restart_epoch').set(this.flags.restartEpoch);
    g('server.parent_connections').set(0);
    const tick = () => {
      g('server.uptime').set(Math.floor((Date.now() - this.startedAt) / 1000));
      // Envoy reports the allocator's figures; ours are V8's heap and the process RSS (control side).
      const m = process.memoryUsage();
      g('server.memory_allocated').set(m.heapUsed);
      g('server.memory_heap_size').set(m.heapTotal);
      g('server.memory_physical_size').set(m.rss);
    };
    tick();
    this.uptimeTimer = setInterval(tick, 1000);
    this.uptimeTimer.unref();
    const dyn = config.dynamicResources;
    // Static listeners and clusters that load secrets from an SDS source (sds-grpc, a file),
    // static EDS clusters and static listeners with RDS (from ADS or their own api_config_source)
    // need the xDS side too, even without dynamic listeners or clusters.
    const staticSds = [...config.staticListeners.flatMap((l) => listenerSecretRefs(l, defaultSecretRefs)), ...config.staticClusters.flatMap((c) => clusterSecretRefs(c, defaultSecretRefs))].some((r) => r.source !== 'other');
    const staticXds = staticSds || config.staticClusters.some((c) => clusterEdsName(c) !== undefined) || config.staticListeners.some((l) => listenerRdsRefs(l).length > 0);
    if (dyn.ads || dyn.lds || dyn.cds || staticXds) {
      const publisher = this.publisher;
      this.xds = new XdsController({
        bootstrap: config,
        node: this.nodeMessage(),
        stats: this.stats,
        log: this.logs.component('config'),
        historySize: this.flags.configHistorySize,
        publish: (p) => publisher.publish(p),
        generation: staticSnapshot.generation,
      });
      this.xds.start();
      // Initialization continues in the background: start() returns with the admin up and the
      // server INITIALIZING, as Envoy's does while its init manager waits for xDS.
      void this.finishInit(this.xds, publisher);
    } else {
      this.goLive();
    }
    this.log.info({ listeners: this.bound }, 'starting main dispatch loop');
  }

  private async finishInit(xds: XdsController, publisher: SnapshotPublisher): Promise<void> {
    await xds.initialized;
    if (this.stopping) return;
    // Publish the initialized set now (no debounce) and go LIVE once every worker applied it.
    xds.builder.publishNow();
    await publisher.idle();
    if (this.stopping) return;
    this.goLive();
  }

  private goLive(): void {
    this.stats.gauge('listener_manager.workers_started', 'NeverImport').set(1);
    if (this.state === 'INITIALIZING') this.setState('LIVE');
  }

  /** The bootstrap's node with --service-node/--service-cluster applied, as sent on xDS streams. */
  private nodeMessage(): Msg {
    const base = (this.bootstrap.message.node ?? {}) as Msg;
    // Keep the message's prototype so the ADS client takes it as an envoy.config.core.v3.Node.
    const node = Object.assign(Object.create(Object.getPrototypeOf(base) as object) as Msg, base);
    node.id = this.bootstrap.config.node.id;
    node.cluster = this.bootstrap.config.node.cluster;
    return node;
  }

  /** The xDS controller (tests and admin views). */
  get xdsController(): XdsController | undefined {
    return this.xds;
  }

  /** Current server state (Envoy's server.state). */
  get serverState(): State {
    return this.state;
  }

  private setState(s: State): void {
    this.state = s;
    this.stats.gauge('server.state', 'NeverImport').set(STATE[s]);
  }

  listeners(): readonly BoundListener[] {
    return this.bound;
  }

  private adminView(): AdminView {
    const prometheus = new PrometheusRenderer(this.bootstrap.config.stats);
    return {
      logs: this.logs,
      prometheus,
      state: () => (this.healthFailed && this.state === 'LIVE' ? 'DRAINING' : this.state),
      serverInfo: () => ({
        version: VERSION,
        state: this.state,
        hot_restart_version: 'disabled',
        uptime_current_epoch: `${Math.floor((Date.now() - this.startedAt) / 1000)}s`,
        uptime_all_epochs: `${Math.floor((Date.now() - this.startedAt) / 1000)}s`,
        command_line_options: {
          base_id: String(this.flags.baseId),
          concurrency: this.flags.concurrency,
          config_path: this.flags.configPath ?? '',
          config_yaml: this.flags.configYaml ?? '',
          allow_unknown_static_fields: this.flags.allowUnknownStaticFields,
          reject_unknown_dynamic_fields: this.flags.rejectUnknownDynamicFields,
          log_level: this.flags.logLevel,
          component_log_level: [...this.flags.componentLogLevels].map(([k, v]) => `${k}:${v}`).join(','),
          log_format: this.flags.logFormat ?? '',
          local_address_ip_version: this.flags.localAddressIpVersion,
          drain_time: `${this.flags.drainTimeS}s`,
          drain_strategy: this.flags.drainStrategy === 'immediate' ? 'Immediate' : 'Gradual',
          parent_shutdown_time: `${this.flags.parentShutdownTimeS}s`,
          mode: this.flags.mode === 'serve' ? 'Serve' : this.flags.mode === 'validate' ? 'Validate' : 'InitOnly',
          disable_hot_restart: this.flags.disableHotRestart,
          restart_epoch: this.flags.restartEpoch,
          file_flush_interval: `${this.flags.fileFlushIntervalMsec / 1000}s`,
          service_node: this.flags.serviceNode ?? '',
          service_cluster: this.flags.serviceCluster ?? '',
        },
        node: { id: this.bootstrap.config.node.id, cluster: this.bootstrap.config.node.cluster, metadata: this.bootstrap.config.node.metadata, user_agent_name: 'meshproxy', user_agent_build_version: { version: versionParts(VERSION) } },
      }),
      statsSnapshot: async () => mergeSnapshots([this.stats.snapshot(), ...(await this.workers!.statsSnapshots())]),
      statsParts: async () => [this.stats.snapshot(), ...(await this.workers!.statsSnapshots())],
      statsOptions: this.bootstrap.config.stats,
      certs: () => certificatesJson(this.publisher?.current),
      listeners: () => this.bound.map((b) => ({ name: b.name, address: b.address })),
      clusters: () => {
        const snap = this.publisher?.current;
        return (snap?.clusters ?? []).map((c) => ({
          name: c.name,
          hosts: ((c.type === 'EDS' ? snap?.endpoints[c.edsServiceName ?? c.name] : c.loadAssignment)?.localities ?? []).flatMap((l) =>
            l.endpoints.map((e) => ({ address: addressKey(e.address), health: e.healthStatus, weight: e.loadBalancingWeight, cxActive: 0 })),
          ),
        }));
      },
      // Live state pulled from the workers (merged as worker/cluster-status-merge.ts says);
      // added_via_api is false only for the bootstrap's static clusters.
      clusterStatuses: async () => {
        const statics = new Set(this.bootstrap.config.staticClusters.map((c) => c.name));
        return (await this.workers!.clusterStatuses()).map((c) => ({ ...c, addedViaApi: !statics.has(c.name) }));
      },
      listenerStatuses: () =>
        this.bound.map((b) => ({ name: b.name, localAddress: b.address ?? b.configuredAddress, ...(b.additionalAddresses ? { additionalLocalAddresses: b.additionalAddresses } : {}) })),
      configDump: () => createConfigDumpSource(this.bootstrap, this.startedAt, () => this.xds?.store),
      configHistory: (type) => {
        const kinds: readonly string[] = ['lds', 'rds', 'cds', 'eds', 'sds'];
        if (type !== undefined && !kinds.includes(type)) return { error: `unknown type '${type}'; one of ${kinds.join(', ')}` };
        const h = this.xds?.history;
        return { history_size: this.flags.configHistorySize, total_updates: h?.total ?? 0, updates: h?.entries(type as XdsKind | undefined) ?? [] };
      },
      runtime: () => ({ ...this.bootstrap.config.runtime }),
      drainListeners: ({ inboundOnly, skipExit }) => {
        this.workers?.drain(inboundOnly);
        this.setState('DRAINING');
        if (!skipExit) {
          const t = setTimeout(() => void this.shutdown(0), this.flags.drainTimeS * 1000);
          t.unref();
        }
      },
      setHealthcheckFailed: (f) => {
        this.healthFailed = f;
      },
      resetCounters: () => this.stats.resetCounters(),
      quit: () => void this.shutdown(0),
    };
  }

  /** Stops xDS, the admin and the workers without exiting the process. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('shutting down');
    if (this.uptimeTimer) clearInterval(this.uptimeTimer);
    this.xds?.stop();
    this.admin?.close();
    await this.workers?.shutdown();
  }

  async shutdown(code: number): Promise<void> {
    if (this.stopping) return;
    await this.stop();
    process.exit(code);
  }
}

function versionParts(v: string): { major_number: number; minor_number: number; patch: number } {
  const [a, b, c] = v.split('.').map((x) => parseInt(x, 10));
  return { major_number: a ?? 0, minor_number: b ?? 0, patch: c ?? 0 };
}
