import type { Logger } from 'pino';
import { describeIssues } from '../../core/errors.js';
import { DeviceStatus } from '../../core/messages.js';
import type { DeviceRepository } from '../db/device-repository.js';

/** Keeps the device registry current from each gateway's retained status and last will. */
export class StatusIngest {
  constructor(
    private readonly devices: DeviceRepository,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async handle(deviceId: string, payload: Buffer): Promise<void> {
    // An empty retained message clears the topic; it says nothing about the device.
    if (payload.length === 0) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.logger.warn({ device: deviceId }, 'refused a status message: not JSON');
      return;
    }
    const status = DeviceStatus.safeParse(json);
    if (!status.success) {
      this.logger.warn({ device: deviceId, reason: describeIssues(status.error).join('; ') }, 'refused a status message');
      return;
    }
    const known = await this.devices.recordStatus(deviceId, status.data, this.now().toISOString());
    if (!known) this.logger.warn({ device: deviceId }, 'status from a device that is not registered');
  }
}
