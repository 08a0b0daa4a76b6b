import type { DaemonHeartbeat, Instance } from '@stepwise/core';
import { daemonSettings } from './config.js';

export interface DaemonStatus extends DaemonHeartbeat {
  /** Its last beat is within `daemon.heartbeatTimeoutMs`. */
  alive: boolean;
}

/** The daemons recorded in storage, newest start last; `alive` from their heartbeats. */
export async function daemonStatuses(instance: Instance, now = Date.now()): Promise<DaemonStatus[]> {
  const timeout = daemonSettings(instance.config).daemon.heartbeatTimeoutMs;
  const beats = await instance.storage.listDaemonHeartbeats();
  return beats.map((b) => ({ ...b, alive: now - b.updatedAt <= timeout }));
}
