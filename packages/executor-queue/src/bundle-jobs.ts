import type { StepTask } from '@stepwise/core';
import { jobIdOf, type PendingJob } from './dispatch.js';

/**
 * Puts the peers of each bundle (indexes into `jobs`, lead first: see planBundles) into their lead's job, with
 * the inline values they read, and returns the jobs left to add. `onPeer` learns each peer and its lead's job id.
 */
export function applyBundles(
  runId: string,
  jobs: PendingJob[],
  bundles: number[][],
  onPeer: (task: StepTask, jobId: string) => void,
): PendingJob[] {
  const peers = new Set<PendingJob>();
  for (const [leadIndex, ...peerIndexes] of bundles) {
    const lead = jobs[leadIndex as number] as PendingJob;
    const jobId = jobIdOf(runId, lead.data.task.key, lead.data.attempt);
    const inline = { ...lead.data.inline };
    const tasks: StepTask[] = [];
    for (const i of peerIndexes) {
      const peer = jobs[i] as PendingJob;
      peers.add(peer);
      tasks.push(peer.data.task);
      Object.assign(inline, peer.data.inline);
      onPeer(peer.data.task, jobId);
    }
    lead.data.peers = tasks;
    if (Object.keys(inline).length > 0) lead.data.inline = inline;
  }
  return jobs.filter((j) => !peers.has(j));
}
