import { Instance } from '@stepwise/core';

const [home, runId, ...keys] = process.argv.slice(2);
const instance = await Instance.local(home);
const events = await instance.storage.getEvents(runId as string);
const t0 = events[0]?.timestamp ?? 0;
for (const e of events) {
  if (e.stepKey === undefined || keys.includes(e.stepKey)) {
    if (e.stepKey === undefined || keys.length)
      console.log(
        e.seq,
        ((e.timestamp - t0) / 1000).toFixed(3),
        e.type,
        e.stepKey ?? '',
        e.attempt ?? '',
        e.workerId ?? '',
        e.type === 'ENGINE_EVENT' ? JSON.stringify(e.data).slice(0, 300) : '',
        e.message?.slice(0, 200) ?? '',
      );
  }
}
await instance.close();
