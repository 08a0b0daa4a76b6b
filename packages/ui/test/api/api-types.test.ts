// api-types.ts is pure types for the front end: these checks keep it in step with the library's own shapes.
import type {
  EventDataMap as CoreEventDataMap,
  EventType as CoreEventType,
  RunStatus as CoreRunStatus,
  StepStatus as CoreStepStatus,
  TickStatus as CoreTickStatus,
  RunJson,
  StoredEvent,
} from '@stepwise/core';
import type { QueueDepth } from '@stepwise/executor-queue';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  ApiEvent,
  EventDataMap,
  EventType,
  QueueCounts,
  RunStatus,
  RunSummary,
  StepStatus,
  TickStatus,
} from '../../src/api-types.js';

describe('api-types.ts matches the library', () => {
  it('has the same statuses, event types, payloads, run summary and queue counts', () => {
    expectTypeOf<RunStatus>().toEqualTypeOf<CoreRunStatus>();
    expectTypeOf<StepStatus>().toEqualTypeOf<CoreStepStatus>();
    expectTypeOf<EventType>().toEqualTypeOf<CoreEventType>();
    expectTypeOf<TickStatus>().toEqualTypeOf<CoreTickStatus>();
    expectTypeOf<EventDataMap>().toEqualTypeOf<CoreEventDataMap>();
    expectTypeOf<RunSummary>().toEqualTypeOf<RunJson>();
    expectTypeOf<StoredEvent>().toExtend<ApiEvent>();
    expectTypeOf<QueueCounts>().toEqualTypeOf<QueueDepth>();
  });
});
