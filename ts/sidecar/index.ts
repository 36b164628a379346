export type {
  CallOptions,
  ImageBatch,
  PredictResult,
  RgbImage,
  Sidecar,
  SidecarEvents,
  SidecarExit,
  SidecarOps,
} from './types.ts';
export {
  SidecarClient,
  type CallReply,
  type SidecarClientOptions,
} from './client.ts';
export {
  SidecarSupervisor,
  startSidecar,
  type SupervisorOptions,
} from './supervisor.ts';
export { createSidecar, workerConfigs, workerCount } from './create.ts';
export {
  SidecarPool,
  type PoolWorkerStatus,
  type SidecarPoolOptions,
} from './pool.ts';
export type { ChildCommand } from './child.ts';
export { FakeSidecar, type FakeSidecarOptions } from './fake.ts';
export { fakeCard } from './fake-model.ts';
