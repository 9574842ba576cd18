import type { Registry } from 'prom-client';
import { perScrape, sourcedCounter, sourcedGauge, type Sample } from '../../platform/metrics.js';
import type { ConfigPublisher } from '../config-publisher.js';
import type { DeviceRecord, DeviceRepository } from '../db/device-repository.js';
import type { IngestCounters } from '../ingest/punch-ingest.js';
import { AttentionReason, liveStateOf, type DeviceLiveState } from '../live/device-state.js';

/**
 * The dashboard's own Prometheus metrics (docs/metrics.md): ingest, acks and config pushes as
 * counters read from the parts that count them, and the fleet (devices online, offline, behind,
 * wanting attention) as gauges computed at scrape time from the device registry, by the same
 * derivation as the console's overview (`liveStateOf`), so that Grafana and the console agree.
 * The HTTP latency histogram is made by `httpMetricsPlugin`.
 */

export interface DashboardMetricSources {
  ingest: () => IngestCounters;
  configs: () => ConfigPublisher['counters'];
  devices: Pick<DeviceRepository, 'list' | 'publishedConfigVersions'>;
  /** Whether the dashboard's own MQTT client is connected (to the embedded or external broker). */
  mqttConnected: () => boolean;
  now: () => Date;
  /** A device whose oldest unsent punch is older than this is `behind` (default 10, as the overview's). */
  behindAfterMinutes?: number;
}

type DeviceLabels = 'device_id' | 'site_id';

interface FleetDevice {
  device: DeviceRecord;
  live: DeviceLiveState;
}

const CONNECTIONS = ['online', 'offline', 'never_connected', 'disabled'] as const;

export class DashboardMetrics {
  constructor(
    readonly registry: Registry,
    sources: DashboardMetricSources,
  ) {
    sourcedCounter(registry, { name: 'punchgate_dashboard_ingest_punches_total', help: 'Punches in batches from gateways, by verdict: accepted (stored, or already stored: re-sends count again) and rejected (refused, told to the gateway in the ack)', labelNames: ['result'] }, () => {
      const counters = sources.ingest();
      return [
        [{ result: 'accepted' }, counters.accepted],
        [{ result: 'rejected' }, counters.rejected],
      ];
    });
    sourcedCounter(registry, { name: 'punchgate_dashboard_ingest_batches_total', help: 'Punch batches from gateways: stored (committed and acknowledged), malformed (not JSON or no batch envelope: nobody to answer) and failed (the database refused the commit: not acknowledged, the gateway sends it again)', labelNames: ['result'] }, () => {
      const counters = sources.ingest();
      return [
        [{ result: 'stored' }, counters.batches],
        [{ result: 'malformed' }, counters.malformed],
        [{ result: 'failed' }, counters.failed],
      ];
    });
    sourcedCounter(registry, { name: 'punchgate_dashboard_acks_published_total', help: 'Acks published to gateways after a commit: ok (the broker confirmed it) and error (the publish failed; the gateway sends the batch again)', labelNames: ['result'] }, () => {
      const counters = sources.ingest();
      return [
        [{ result: 'ok' }, counters.acksPublished],
        [{ result: 'error' }, counters.ackErrors],
      ];
    });
    sourcedCounter(registry, { name: 'punchgate_dashboard_config_pushes_total', help: 'Device configs: pushed (by the console\'s config push), pinned (published whole through the API), unchanged (push skipped: same content, or the device is pinned) and failed', labelNames: ['result'] }, () => {
      const counters = sources.configs();
      return [
        [{ result: 'pushed' }, counters.pushed],
        [{ result: 'pinned' }, counters.pinned],
        [{ result: 'unchanged' }, counters.unchanged],
        [{ result: 'failed' }, counters.failed],
      ];
    });
    sourcedGauge(registry, { name: 'punchgate_dashboard_mqtt_connected', help: '1 while the dashboard\'s own MQTT client (ingest, acks, config push) is connected to the broker, else 0' }, () => [[{}, sources.mqttConnected() ? 1 : 0]]);

    // One read of the registry per scrape, shared by every fleet gauge below.
    const fleet = perScrape(async (): Promise<FleetDevice[]> => {
      const [devices, published] = await Promise.all([sources.devices.list(), sources.devices.publishedConfigVersions()]);
      const now = sources.now();
      return devices.map((device) => {
        const version = published.get(device.id);
        const applied = device.status?.configVersion ?? null;
        const config = version
          ? { deviceId: device.id, siteId: device.siteId, published: version.version, publishedAt: version.publishedAt, applied, pending: (applied ?? 0) < version.version, queued: false, configError: device.status?.configError ?? null }
          : undefined;
        return { device, live: liveStateOf(device, config, { now, behindAfterMinutes: sources.behindAfterMinutes ?? 10 }) };
      });
    });
    /** Per-device series: for enabled devices only (a disabled device is meant to be off, as in the overview). */
    const perDevice = async (value: (entry: FleetDevice) => number | null): Promise<Array<Sample<DeviceLabels>>> => {
      const samples: Array<Sample<DeviceLabels>> = [];
      for (const entry of await fleet()) {
        if (!entry.device.enabled) continue;
        const measured = value(entry);
        if (measured !== null) samples.push([{ device_id: entry.device.id, site_id: entry.device.siteId }, measured]);
      }
      return samples;
    };

    sourcedGauge(registry, { name: 'punchgate_dashboard_devices', help: 'Registered devices by connection: online, offline (connected before, not now), never_connected, disabled (in the console; not counted in the others)', labelNames: ['connection'] }, async () => {
      const counts: Record<(typeof CONNECTIONS)[number], number> = { online: 0, offline: 0, never_connected: 0, disabled: 0 };
      for (const { device, live } of await fleet()) {
        if (!device.enabled) counts.disabled += 1;
        else counts[live.connection === 'never-connected' ? 'never_connected' : live.connection] += 1;
      }
      return CONNECTIONS.map((connection) => [{ connection }, counts[connection]] as const);
    });
    sourcedGauge(registry, { name: 'punchgate_dashboard_devices_attention', help: 'Devices wanting attention, by reason (as on the console\'s overview; a device may have several): offline, never-connected, backlog, behind (oldest unsent punch older than the threshold), clock-unsynced, config-pending, config-error, reader-fault, alarm, disabled', labelNames: ['reason'] }, async () => {
      const counts = new Map<string, number>(AttentionReason.options.map((reason) => [reason, 0]));
      for (const { live } of await fleet()) for (const reason of live.attention) counts.set(reason, (counts.get(reason) ?? 0) + 1);
      return [...counts].map(([reason, count]) => [{ reason }, count] as const);
    });

    sourcedGauge(registry, { name: 'punchgate_dashboard_device_online', help: '1 when the device is connected to the broker (its retained status says online), 0 when not; enabled devices only', labelNames: ['device_id', 'site_id'] }, () =>
      perDevice(({ live }) => (live.connection === 'online' ? 1 : 0)),
    );
    sourcedGauge(registry, { name: 'punchgate_dashboard_device_backlog_punches', help: 'Punches the device has not yet had acknowledged, as of its last status (kept while it is offline); absent until it reports one', labelNames: ['device_id', 'site_id'] }, () =>
      perDevice(({ live }) => live.backlog.pending),
    );
    sourcedGauge(registry, { name: 'punchgate_dashboard_device_oldest_unsent_age_seconds', help: 'Now minus the time of the device\'s oldest unsent punch as of its last status (0 with no backlog): grows while an offline device holds punches', labelNames: ['device_id', 'site_id'] }, () =>
      perDevice(({ live }) => (live.backlog.pending === 0 ? 0 : live.backlog.behindSeconds)),
    );
    sourcedGauge(registry, { name: 'punchgate_dashboard_device_last_seen_timestamp_seconds', help: 'When the device was last heard from (a status or a punch batch), Unix seconds; absent if never', labelNames: ['device_id', 'site_id'] }, () =>
      perDevice(({ live }) => (live.lastSeen === null ? null : Date.parse(live.lastSeen) / 1000)),
    );
    sourcedGauge(registry, { name: 'punchgate_dashboard_device_config_pending', help: '1 when a config was published to the device and it has not reported applying it, else 0', labelNames: ['device_id', 'site_id'] }, () =>
      perDevice(({ live }) => (live.config.pending ? 1 : 0)),
    );
    sourcedGauge(
      registry,
      { name: 'punchgate_dashboard_device_attention', help: 'One series (value 1) per device and reason it wants attention now; a device with none has no series', labelNames: ['device_id', 'site_id', 'reason'] },
      async () => {
        const samples: Array<Sample<DeviceLabels | 'reason'>> = [];
        for (const { device, live } of await fleet()) {
          for (const reason of live.attention) samples.push([{ device_id: device.id, site_id: device.siteId, reason }, 1]);
        }
        return samples;
      },
    );
  }
}
