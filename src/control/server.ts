// The control side of a running proxy (Envoy's source/server/): loads the bootstrap, starts the
// workers and the admin API, publishes the static snapshot, keeps server.* stats and the
// server state, and runs drain and shutdown. xDS subscriptions plug in here (xDS issue).
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
import { ClusterWorkers, InProcessWorkers, type Workers } from './workers';
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
  private snapshot: ConfigSnapshot | undefined;
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
    this.workers =
      this.flags.concurrency === 1
        ? new InProcessWorkers(this.stats, this.logs.component('upstream'), this.flags.drainTimeS * 1000)
        : new ClusterWorkers(
            this.flags.concurrency,
            { statsOptions: config.stats, drainTimeMs: this.flags.drainTimeS * 1000, logLevel: this.flags.logLevel, componentLevels: Object.fromEntries(this.flags.componentLogLevels), ...(this.flags.logFormat ? { logFormat: this.flags.logFormat } : {}) },
            this.logs.component('main'),
            join(__dirname, '..', 'worker', 'worker-process.js'),
          );
    if (config.admin) {
      this.admin = new AdminServer(this.adminView(), this.logs.component('admin'));
      const addr = await this.admin.start(config.admin.address);
      this.log.info({ address: addr }, 'admin address');
      if (this.flags.adminAddressPath) writeFileSync(this.flags.adminAddressPath, addr);
    }
    this.snapshot = { generation: 1, listeners: config.staticListeners, routeConfigs: [], clusters: config.staticClusters, endpoints: {}, secrets: [], versions: {} };
    this.bound = await this.workers.apply(this.snapshot);
    g('listener_manager.total_listeners_active').set(config.staticListeners.length);
    g('cluster_manager.active_clusters').set(config.staticClusters.length);
    if (config.dynamicResources.ads || config.dynamicResources.lds || config.dynamicResources.cds) {
      this.log.warn('dynamic_resources are configured but this build does not subscribe to xDS yet; serving static resources only');
    }
    g('listener_manager.workers_started').set(1);
    this.setState('LIVE');
    this.uptimeTimer = setInterval(() => g('server.uptime').set(Math.floor((Date.now() - this.startedAt) / 1000)), 1000);
    this.uptimeTimer.unref();
    this.log.info({ listeners: this.bound }, 'starting main dispatch loop');
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
          skip_deprecated_logs: this.flags.skipDeprecatedLogs,
          service_node: this.flags.serviceNode ?? '',
          service_cluster: this.flags.serviceCluster ?? '',
        },
        node: { id: this.bootstrap.config.node.id, cluster: this.bootstrap.config.node.cluster, metadata: this.bootstrap.config.node.metadata, user_agent_name: 'meshproxy', user_agent_build_version: { version: versionParts(VERSION) } },
      }),
      statsSnapshot: async () => mergeSnapshots([this.stats.snapshot(), ...(await this.workers!.statsSnapshots())]),
      listeners: () => this.bound.map((b) => ({ name: b.name, address: b.address })),
      clusters: () =>
        (this.snapshot?.clusters ?? []).map((c) => ({
          name: c.name,
          hosts: (c.loadAssignment?.localities ?? []).flatMap((l) => l.endpoints.map((e) => ({ address: addressKey(e.address), health: e.healthStatus, weight: e.loadBalancingWeight, cxActive: 0 }))),
        })),
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

  async shutdown(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('shutting down');
    if (this.uptimeTimer) clearInterval(this.uptimeTimer);
    this.admin?.close();
    await this.workers?.shutdown();
    process.exit(code);
  }
}

function versionParts(v: string): { major_number: number; minor_number: number; patch: number } {
  const [a, b, c] = v.split('.').map((x) => parseInt(x, 10));
  return { major_number: a ?? 0, minor_number: b ?? 0, patch: c ?? 0 };
}
