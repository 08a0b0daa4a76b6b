// The daemon benchmark's pipeline: one instant step, so a run's cost is the queue's and the launcher's.
import { op, pipeline } from '@stepwise/core';
import { z } from 'zod';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });

export const oneStep = pipeline({ name: 'one_step', build: () => one() });
