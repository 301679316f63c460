// runner-count-cache-client: the scale-up's side of the runner-count-cache table (docs/table-contract.md).

export {
  CACHE_VARIABLES,
  type CacheConfig,
  CacheConfigError,
  cacheConfigFromEnv,
  DEFAULT_INDEX_NAME,
  DEFAULT_RECONCILE_INTERVAL_S,
  DEFAULT_STALE_THRESHOLD_MS,
} from './config.js';
export {
  countMatchingRunners,
  type DescribeInstances,
  type DescribeInstancesInput,
  describeInstancesLister,
  type DescribeInstancesListerOptions,
  type DescribeInstancesOutput,
  type Ec2Runner,
  type ListEc2Runners,
  RUNNER_APPLICATION,
} from './ec2.js';
export { assessFreshness, type FallbackReason, type Freshness, MAX_CLOCK_SKEW_MS, type MetaItem } from './freshness.js';
export { runnerKey, type RunnerKey, runnerKeyProblem } from './key.js';
export {
  launchProblem,
  type LaunchedRunner,
  registerLaunches,
  type RegistrationResult,
  registrationRequest,
} from './registration.js';
export {
  DEFAULT_SLOT_OPTIONS,
  type GrantEntry,
  grantRequest,
  leasePk,
  leaseRequest,
  MAX_GRANT_COUNT,
  newHolderId,
  parseLease,
  type ReleaseOutcome,
  releaseSlots,
  releaseSlotsByHolder,
  settleRequest,
  type SlotDependencies,
  type SlotGrant,
  type SlotLease,
  type SlotOptions,
  slotOptionsProblem,
  SlotsBusyError,
  takeSlots,
} from './slots.js';
export {
  type CountAnswer,
  countActiveRunners,
  countIndexEntries,
  countRequest,
  CountUnavailableError,
  InvalidRunnerKeyError,
  META_PK,
  metaRequest,
  type ReaderDependencies,
  readMetaItem,
} from './reader.js';
