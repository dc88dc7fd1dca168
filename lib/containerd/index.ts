// containerd's image-verifier plugin (bindir protocol): the request
// descriptor, the node configuration, the on-disk verdict cache and the verifier.
export {
  type ContainerdDeps,
  type ContainerdInput,
  type ContainerdVerdict,
  getPolicySetFingerprint,
  toStoreOptions,
  verifyForContainerd,
} from './verifier.ts';
export {
  CONFIG_DIR_ENV,
  DEFAULT_CACHE_DIR,
  DEFAULT_CONFIG_DIR,
  getConfigDir,
  getTrustInputs,
  loadNodeConfig,
  type NodeConfig,
  toNodeConfig,
} from './config.ts';
export {
  type ContainerdRequest,
  DESCRIPTOR_MEDIA_TYPE,
  MAX_REASON_BYTES,
  toContainerdRequest,
  toImageLabel,
  toReasonLine,
} from './descriptor.ts';
export { getConfigStamp, openVerdictCache, type VerdictCache, type VerdictEntry } from './verdict-cache.ts';
