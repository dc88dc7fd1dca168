// containerd's image-verifier plugin (bindir protocol): the request
// descriptor, the node configuration, the on-disk verdict cache and the verifier.
export { verifyForContainerd, getPolicySetFingerprint, toStoreOptions, type ContainerdInput, type ContainerdVerdict, type ContainerdDeps } from './verifier.ts';
export { getConfigDir, loadNodeConfig, toNodeConfig, getTrustInputs, CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR, DEFAULT_CACHE_DIR, type NodeConfig } from './config.ts';
export { toContainerdRequest, toImageLabel, toReasonLine, DESCRIPTOR_MEDIA_TYPE, MAX_REASON_BYTES, type ContainerdRequest } from './descriptor.ts';
export { openVerdictCache, getConfigStamp, type VerdictCache, type VerdictEntry } from './verdict-cache.ts';
