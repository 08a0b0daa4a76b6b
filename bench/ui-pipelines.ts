// Definitions the UI benchmark's `stepwise ui` loads: a 10,000-step lattice (200 layers × 50) and a small live one.
import { repository } from '@stepwise/core';
import { dagPipeline, w1, w3 } from './workloads.js';

export const uiWide = dagPipeline(w3(200, 50), 'ui_wide');
export const uiLive = dagPipeline(w1(200), 'ui_live');

export default repository({ pipelines: [uiWide, uiLive] });
