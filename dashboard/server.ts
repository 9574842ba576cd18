import { disableNagle } from '../platform/no-delay.js';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { allDevicesTopic } from '../core/topics.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import { Database } from '../platform/sqlite.js';
import { SYSTEM_ACTOR } from './auth/audit.js';
import { createAuth, defaultAuthSettings, type Auth, type AuthSettings } from './auth/index.js';
import { EmbeddedBroker, INTERNAL_USERNAME } from './broker/embedded-broker.js';
import type { DashboardConfig } from './config.js';
import { CommandSender } from './command-sender.js';
import { ConfigPublisher } from './config-publisher.js';
import { BeaconSightingRepository } from './db/beacon-sighting-repository.js';
import { openCentralDb } from './db/central-db.js';
import { DeviceRepository } from './db/device-repository.js';
import { PunchRepository } from './db/punch-repository.js';
import { SiteRepository } from './db/site-repository.js';
import { ConfigPush } from './config-push/config-push.js';
import { DepartmentRepository } from './employees/department-repository.js';
import { EmployeeService } from './employees/employee-service.js';
import { EmployeeSync } from './employees/employee-sync.js';
import { LinkedAccounts } from './employees/linked-accounts.js';
import { EnrolmentBundles } from './enrolment/enrolment-bundles.js';
import { buildDashboardHttp } from './http/app.js';
import { DashboardMetrics } from './metrics/dashboard-metrics.js';
import type { LiveStreamSettings } from './http/live-routes.js';
import { routeDeviceMessages } from './ingest/message-router.js';
import { PunchIngest } from './ingest/punch-ingest.js';
import { StatusIngest } from './ingest/status-ingest.js';
import { PunchFeed } from './live/punch-feed.js';
import { BeaconResolvers } from './mobile/beacon-resolvers.js';
import { MobilePunchDesk } from './mobile/mobile-punch-desk.js';
import { Notifications } from './notifications/notifications.js';
import { AlertScanner } from './attendance/alert-scanner.js';
import { AttendanceService } from './attendance/attendance-service.js';
import { attendanceSnapshot } from './attendance/attendance-snapshot.js';
import { LeaveRepository } from './attendance/leave-repository.js';
import { MakeupRequests } from './attendance/makeup-requests.js';
import { ScheduleStore } from './attendance/schedule-store.js';

export interface Dashboard {
  /** `http://host:port` of the dashboard. */
  readonly url: string;
  /** Where gateways connect: the embedded broker's URL, or the external broker's. */
  readonly brokerUrl: string;
  /** The bootstrap API token (DATADIR/api-token or the config's apiToken): admin-equivalent. */
  readonly apiToken: string;
  readonly db: Database;
  /** Users, sessions, API tokens and the audit log. */
  readonly auth: Auth;
  readonly devices: DeviceRepository;
  readonly punches: PunchRepository;
  readonly sites: SiteRepository;
  readonly mobilePunches: MobilePunchDesk;
  readonly employees: EmployeeService;
  readonly configPush: ConfigPush;
  /** Alerts (docs/notifications.md): `enqueue(events)` stores each event once and delivers it by webhook and e-mail. */
  readonly notifications: Notifications;
  /** Shifts and schedules, leave, make-up requests and the attendance results (docs/attendance.md). */
  readonly attendance: { schedules: ScheduleStore; leave: LeaveRepository; makeup: MakeupRequests; results: AttendanceService; alerts: AlertScanner };
  /** The HTTP app (listening at `url`); tests may also call `http.inject()`. */
  readonly http: FastifyInstance;
  readonly configs: ConfigPublisher;
  readonly ingest: PunchIngest;
  /** Punches as they are committed (ingest and mobile), for the live feed at /api/v1/punches/live. */
  readonly liveFeed: PunchFeed;
  /** The dashboard's own MQTT client (full rights on the embedded broker). */
  readonly mqtt: MqttClient;
  /** The Prometheus registry GET /metrics serves (docs/metrics.md). */
  readonly metrics: Registry;
  stop(): Promise<void>;
}

async function loadOrCreateApiToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'api-token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    // The prefix keeps a token from starting with '-', which command lines (`--token -x…`) take for an option.
    const token = `pgb_${randomBytes(24).toString('base64url')}`;
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  }
}

/** The broker's CA for enrolment bundles, read once at start: a missing file stops the start, naming the setting. */
async function readBrokerCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the broker's CA certificate for enrolment bundles (enrolment.brokerCa or mqtt.ca) ${file}: ${(error as Error).message}`);
  }
}

function httpUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (typeof address !== 'object' || !address) return String(address);
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

export interface DashboardOptions {
  /** The server's clock: receipt time of mobile punches (and beacon windows), device registration, ingest, sessions, audit. Default: the system clock. */
  now?: () => Date;
  /**
   * Told once, at the first start (no user at all), the username and one-time password of the
   * `admin` account just made; it must be changed at first sign-in. Default: logged (warn) once.
   */
  onFirstAdmin?: (admin: { username: string; password: string }) => void;
  /** Called with the HTTP app before it loads its plugins and listens (tests add an onRoute hook here). */
  configureHttp?: (app: FastifyInstance) => void;
  /** The live feed's streams: heartbeat interval, queue bound, stall time-out (tests make them short). */
  liveStream?: Partial<LiveStreamSettings>;
  /**
   * The Prometheus registry of this dashboard's metrics, served at GET /metrics (docs/metrics.md).
   * Default: a registry of its own without process metrics; `punchgate dashboard` passes one with them.
   */
  metrics?: Registry;
}

function authSettingsOf(config: DashboardConfig): AuthSettings {
  return {
    secureCookies: config.auth.secureCookies,
    sessionLifetimeMs: config.auth.sessionHours * 60 * 60_000,
    sessionIdleMs: config.auth.idleMinutes * 60_000,
    throttle: { ...defaultAuthSettings.throttle, maxFailures: config.auth.loginMaxFailures, lockoutMs: config.auth.loginLockoutSeconds * 1000 },
    loginAttemptsPerMinute: config.auth.loginAttemptsPerMinute,
  };
}

/**
 * The dashboard's composition root: central database, broker (embedded by default), ingest,
 * device registry, sites and mobile punches, config publisher and HTTP, started in order and
 * stopped in reverse.
 */
export async function startDashboard(config: DashboardConfig, logger: Logger, options: DashboardOptions = {}): Promise<Dashboard> {
  const now = options.now ?? ((): Date => new Date());
  const { db, file: dbFile } = await openCentralDb(config.dataDir);
  const cleanups: Array<() => Promise<void>> = [() => db.close()];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
  };
  try {
    const apiToken = config.apiToken ?? (await loadOrCreateApiToken(config.dataDir));
    const auth = createAuth(db, { now, bootstrapToken: apiToken, settings: authSettingsOf(config) });
    await auth.sessions.pruneExpired();
    const firstAdmin = await auth.users.ensureFirstAdmin({ ...SYSTEM_ACTOR, name: 'first start' });
    if (firstAdmin) {
      if (options.onFirstAdmin) options.onFirstAdmin(firstAdmin);
      else {
        logger.warn(
          { username: firstAdmin.username, oneTimePassword: firstAdmin.password },
          'first start: made the admin account with a one-time password, shown only this once; sign in and change it',
        );
      }
    }
    const devices = new DeviceRepository(db);
    // Searches read on a connection of their own: a deep search must not hold up ingest's commits.
    const reads = await Database.open(dbFile, { readOnly: true });
    await reads.exec('PRAGMA busy_timeout = 5000');
    cleanups.push(() => reads.close());
    const punches = new PunchRepository(db, reads);
    const sites = new SiteRepository(db);
    const sightings = new BeaconSightingRepository(db);
    // Replay memory left over from before a restart: expired rows go now, not at the next punch.
    await sightings.pruneExpired(now());
    const liveFeed = new PunchFeed({ now });
    const mobilePunches = new MobilePunchDesk({
      db,
      sites,
      punches,
      sightings,
      resolvers: new BeaconResolvers(sites),
      now,
      logger: logger.child({ part: 'mobile' }),
      committed: liveFeed,
    });

    let brokerUrl: string;
    let clientOptions: IClientOptions;
    let disconnectDevice: ((deviceId: string) => Promise<unknown>) | undefined;
    const clientId = `punchgate-dashboard-${randomBytes(4).toString('hex')}`;
    if (config.mqtt.mode === 'embedded') {
      const internalSecret = randomBytes(32).toString('base64url');
      const broker = new EmbeddedBroker({
        host: config.mqtt.host,
        port: config.mqtt.port,
        deviceLogin: (deviceId) => devices.login(deviceId),
        internalSecret,
        logger: logger.child({ part: 'broker' }),
      });
      await broker.start();
      cleanups.push(() => broker.stop());
      brokerUrl = broker.url;
      disconnectDevice = (deviceId) => broker.disconnect(deviceId);
      clientOptions = { clientId, username: INTERNAL_USERNAME, password: internalSecret, protocolVersion: 4 };
    } else {
      brokerUrl = config.mqtt.url;
      clientOptions = {
        clientId,
        ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
        ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
        ...(config.mqtt.ca ? { ca: await readFile(config.mqtt.ca) } : {}),
        // Shared subscriptions are an MQTT v5 feature.
        protocolVersion: config.mqtt.sharedSubscriptionGroup ? 5 : 4,
      };
    }

    const client: MqttClient = await mqtt.connectAsync(brokerUrl, { ...clientOptions, reconnectPeriod: 1000, clean: true });
    disableNagle(client);
    client.on('connect', () => disableNagle(client));
    cleanups.push(() => client.endAsync());
    const ingest = new PunchIngest({ client, punches, devices, now, logger: logger.child({ part: 'ingest' }), committed: liveFeed });
    const statusIngest = new StatusIngest(devices, logger.child({ part: 'registry' }));
    const commands = new CommandSender(client, logger.child({ part: 'commands' }));
    cleanups.push(async () => commands.stop());
    routeDeviceMessages(
      client,
      {
        punches: (deviceId, payload) => ingest.handle(deviceId, payload),
        status: (deviceId, payload) => statusIngest.handle(deviceId, payload),
        replies: (deviceId, payload) => commands.handle(deviceId, payload),
      },
      logger.child({ part: 'ingest' }),
    );
    const group = config.mqtt.mode === 'external' ? config.mqtt.sharedSubscriptionGroup : undefined;
    const punchTopic = group ? `$share/${group}/${allDevicesTopic('punches')}` : allDevicesTopic('punches');
    await client.subscribeAsync({ [punchTopic]: { qos: 1 }, [allDevicesTopic('status')]: { qos: 1 }, [allDevicesTopic('replies')]: { qos: 1 } });
    const configs = new ConfigPublisher(db, client, logger.child({ part: 'config' }));
    const employees = new EmployeeService({
      db,
      punches,
      now,
      // Inside the change's own transaction: no change without its audit row.
      onChange: (change) => auth.audit.record({ actor: change.actor, action: change.action, entity: change.entity, entityId: change.entityId, before: change.before, after: change.after }),
    });
    // Any change that reaches a gateway (badges, employees' sites, site settings, device moves)
    // becomes a new config version for each affected device, published within seconds.
    const scheduleStore = new ScheduleStore(db);
    const configPush = new ConfigPush({
      devices,
      sites,
      employees: employees.repository,
      publisher: configs,
      attendance: (employeeIds, today) => attendanceSnapshot(scheduleStore, db, employeeIds, today),
      logger: logger.child({ part: 'config-push' }),
      now,
      republishOnStart: config.mqtt.mode === 'embedded',
    });
    employees.gateways = configPush;
    const departments = new DepartmentRepository(db);
    const employeeSync = new EmployeeSync({
      db,
      employees,
      departments,
      accounts: new LinkedAccounts(db, auth.audit, auth.users, now),
      audit: auth.audit,
      logger: logger.child({ part: 'employee-sync' }),
    });
    await configPush.start();
    cleanups.push(() => configPush.stop());
    const notifications = new Notifications({ db, audit: auth.audit, config: config.notifications, now, logger: logger.child({ part: 'notifications' }), sites });
    await notifications.start();
    cleanups.push(() => notifications.stop());
    const leave = new LeaveRepository(db);
    const results = new AttendanceService(reads, scheduleStore, new LeaveRepository(reads), now);
    const alerts = new AlertScanner({
      attendance: results,
      db,
      notifications,
      now,
      logger: logger.child({ part: 'attendance-alerts' }),
      scanSeconds: config.notifications.scanSeconds,
      reminderMinutesBeforeShift: config.notifications.reminderMinutesBeforeShift,
    });
    alerts.start();
    cleanups.push(() => alerts.stop());
    const attendance = { schedules: scheduleStore, leave, makeup: new MakeupRequests(db, punches), results, alerts };
    // What new gateways' bundles point at (docs/enrolment.md); by default what the dashboard itself uses.
    const gatewayBrokerUrl = config.enrolment.brokerUrl ?? brokerUrl;
    const brokerCaFile = config.enrolment.brokerCa ?? (config.mqtt.mode === 'external' ? config.mqtt.ca : undefined);
    const enrolments = new EnrolmentBundles({
      db,
      audit: auth.audit,
      sites,
      now,
      logger: logger.child({ part: 'enrolment' }),
      settings: {
        brokerUrl: gatewayBrokerUrl,
        brokerCa: brokerCaFile ? await readBrokerCa(brokerCaFile) : null,
        dashboardUrl: config.enrolment.dashboardUrl ?? null,
        externalBroker: config.mqtt.mode === 'external',
      },
    });
    // Bundles that expired while the dashboard was down lose their bytes now.
    await enrolments.prune();

    const metrics = new DashboardMetrics(options.metrics ?? createMetricsRegistry(), {
      ingest: () => ingest.counters,
      configs: () => configs.counters,
      devices,
      mqttConnected: () => client.connected,
      now,
    });
    const http = buildDashboardHttp({
      metrics: metrics.registry,
      db,
      auth,
      audit: auth.audit,
      punches,
      devices,
      sites,
      mobilePunches,
      configs,
      commands,
      employees,
      departments,
      employeeSync,
      configPush,
      notifications,
      scheduleStore,
      leave,
      makeup: attendance.makeup,
      attendance: attendance.results,
      liveFeed,
      web: config.web,
      ...(options.liveStream ? { liveStream: options.liveStream } : {}),
      brokerUrl: gatewayBrokerUrl,
      enrolments,
      ...(disconnectDevice ? { disconnectDevice } : {}),
      now,
      logger,
      health: async () => ({ ok: client.connected, broker: brokerUrl, mqttConnected: client.connected, ingest: { ...ingest.counters }, punches: await punches.count() }),
    });
    options.configureHttp?.(http);
    await http.listen({ host: config.http.host, port: config.http.port });
    cleanups.push(() => http.close());
    const url = httpUrl(http);
    logger.info({ url, broker: brokerUrl }, 'dashboard started');
    return {
      url,
      brokerUrl,
      apiToken,
      db,
      auth,
      devices,
      punches,
      sites,
      mobilePunches,
      employees,
      configPush,
      notifications,
      attendance,
      http,
      configs,
      ingest,
      liveFeed,
      mqtt: client,
      metrics: metrics.registry,
      async stop() {
        await runCleanups();
        logger.info('dashboard stopped');
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
