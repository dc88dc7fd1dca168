// Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library) on sigward's CEL engine.
import type { CelFunctionTable } from './cel-stdlib.ts';

export const K8S_FUNCTIONS: CelFunctionTable = {};
