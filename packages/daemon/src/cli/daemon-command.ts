import { Instance } from '@stepwise/core';
import { pino } from 'pino';
import { startDaemon } from '../daemon.js';
import { registeredLoops } from '../loop-registry.js';

export interface DaemonCommandOptions {
  file?: string;
  scheduler: boolean;
  runQueue: boolean;
  monitor: boolean;
}

/** `stepwise daemon`: runs the daemon's loops on the local instance until SIGTERM/SIGINT, then stops cleanly. */
export async function daemonCommand(opts: DaemonCommandOptions): Promise<number> {
  const logger = pino(
    { name: 'stepwise-daemon', level: process.env.STEPWISE_LOG_LEVEL ?? 'info' },
    process.stdout.isTTY ? pino.transport({ target: 'pino-pretty' }) : undefined,
  );
  const instance = await Instance.local();
  const loops = opts.scheduler ? registeredLoops(opts.file) : [];
  const daemon = await startDaemon({ instance, runQueue: opts.runQueue, monitor: opts.monitor, loops, logger }).catch(
    async (error) => {
      await instance.close().catch(() => {});
      throw error;
    },
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await daemon.stop();
  await instance.close();
  return 0;
}
