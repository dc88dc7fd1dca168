// Node-level checks and batch helpers: the containerd image verifier, the
// containers policy.json export, store wrappers, JUnit and progress output.
export { verifyForContainerd, getPolicySetFingerprint, toStoreOptions, type ContainerdInput, type ContainerdVerdict, type ContainerdDeps } from './containerd.ts';
export { getConfigDir, loadNodeConfig, toNodeConfig, getTrustInputs, CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR, DEFAULT_CACHE_DIR, type NodeConfig } from './config.ts';
export { toContainerdRequest, toReasonLine, DESCRIPTOR_MEDIA_TYPE, MAX_REASON_BYTES, type ContainerdRequest } from './descriptor.ts';
export { openVerdictCache, getConfigStamp, type VerdictCache, type VerdictEntry } from './verdict-cache.ts';
export { withPinnedTag, withRateLimit, createTokenBucket, type TokenBucket, type RateLimitOptions } from './stores.ts';
export { toContainersPolicy, toDockerScope, type ContainersPolicy, type ContainersPolicyExport, type ContainersPolicyOptions, type Unexpressed } from './containers-policy.ts';
export { toJUnitXml, escapeXml } from './junit.ts';
export { createProgress, renderProgress, NO_PROGRESS, type Progress } from './progress.ts';
