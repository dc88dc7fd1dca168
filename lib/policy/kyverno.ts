// Kyverno ClusterPolicy / Policy (kyverno.io/v1, v2beta1): structural schema,
// conversion to the typed model with Kyverno's defaults, and the admission
// checks Kyverno applies to verifyImages rules.

import { DEPRECATED_OPERATORS, KYVERNO_OPERATORS } from '../conditions/kyverno-operators.ts';
import { compileCel } from '../conditions/cel.ts';
import { getGoRegexError } from '../go-regex.ts';
import { getUnanchoredRegExpWarning } from '../trust/identity.ts';
import type { DiagnosticCollector } from './diagnostics.ts';
import {
  getKmsProvider,
  hasVariables,
  kmsOfflineMessage,
  parseK8sSecretRef,
  splitPublicKeys,
  toKeySource,
  toSecretKeySource,
} from './keys.ts';
import {
  getArr,
  getBool,
  getInt,
  getObj,
  getObjArr,
  getStr,
  getStrArr,
  getStrMap,
  has,
  isObj,
  type Obj,
  s,
  type Schema,
} from './schema.ts';
import type {
  AnyAllConditions,
  Attestation,
  AttestorEntry,
  AttestorSet,
  Condition,
  ContextEntry,
  CTLogConfig,
  FailureAction,
  FailurePolicy,
  HashAlgorithm,
  ImageExtractorConfig,
  ImageVerificationType,
  KeySource,
  KyvernoPolicy,
  KyvernoRule,
  LabelSelector,
  MatchResources,
  PolicyMetadata,
  PolicySource,
  RekorConfig,
  ResourceDescription,
  ResourceFilter,
  SecretResolver,
  Subject,
  ValidationFailureActionOverride,
  VerifyImagesEntry,
} from './types.ts';

export const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev';

/** Kyverno's current condition operators (the deprecated aliases load with a warning). */
export const CONDITION_OPERATORS: readonly string[] = KYVERNO_OPERATORS.filter((op) => !(op in DEPRECATED_OPERATORS));

const HASH_ALGORITHMS = ['sha224', 'sha256', 'sha384', 'sha512'] as const;

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

const str = s.str();
const bool = s.bool();

export const labelSelectorSchema = s.obj({
  matchLabels: s.strMap(),
  matchExpressions: s.arr(s.obj({ key: str, operator: str, values: s.strList() })),
});

const resourceDescriptionSchema = s.obj(
  {
    kinds: s.strList(),
    name: str,
    names: s.strList(),
    namespaces: s.strList(),
    annotations: s.strMap(),
    selector: labelSelectorSchema,
    namespaceSelector: labelSelectorSchema,
    operations: s.arr(s.str(['CREATE', 'UPDATE', 'DELETE', 'CONNECT'])),
  },
  { name: 'use names' },
);

const subjectSchema = s.obj({ kind: str, name: str, namespace: str, apiGroup: str });

const userInfoFields = { subjects: s.arr(subjectSchema), roles: s.strList(), clusterRoles: s.strList() };

const resourceFilterSchema = s.obj({ resources: resourceDescriptionSchema, ...userInfoFields });

const matchSchema = s.obj({
  any: s.arr(resourceFilterSchema),
  all: s.arr(resourceFilterSchema),
  resources: resourceDescriptionSchema,
  ...userInfoFields,
});

const conditionSchema = s.obj({ key: s.any(), operator: str, value: s.any(), message: str });
const anyAllSchema = s.obj({ any: s.arr(conditionSchema), all: s.arr(conditionSchema) });
const conditionsSchema = s.union(anyAllSchema, s.arr(conditionSchema));

/** Variables of a rule's celPreconditions (Kubernetes matchConditions). */
export const CEL_PRECONDITION_VARIABLES: readonly string[] = Object.freeze([
  'object',
  'oldObject',
  'request',
  'namespaceObject',
]);

/** Context entry kinds that need a live cluster or registry: never loaded by sigward. */
export const OFFLINE_UNSUPPORTED_CONTEXT = ['apiCall', 'imageRegistry', 'globalReference'] as const;

const contextEntrySchema = s.obj({
  name: str,
  configMap: s.obj({ name: str, namespace: str }),
  apiCall: s.any(),
  imageRegistry: s.any(),
  variable: s.any(),
  globalReference: s.any(),
});

const imageExtractorSchema = s.obj({ name: str, path: str, value: str, key: str, jmesPath: str });

const rekorSchema = s.obj({ url: str, pubkey: str, ignoreTlog: bool });
const ctlogSchema = s.obj({ url: str, pubkey: str, ignoreSCT: bool, tsaCertChain: str });
const hashSchema = s.str(['', ...HASH_ALGORITHMS]);

const staticKeySchema = s.obj(
  {
    publicKeys: str,
    signatureAlgorithm: hashSchema,
    kms: str,
    secret: s.obj({ name: str, namespace: str }),
    rekor: rekorSchema,
    ctlog: ctlogSchema,
  },
  { signatureAlgorithm: 'use the attestor-level signatureAlgorithm' },
);

const certificatesSchema = s.obj({ cert: str, certChain: str, rekor: rekorSchema, ctlog: ctlogSchema });

const keylessSchema = s.obj({
  subject: str,
  subjectRegExp: str,
  issuer: str,
  issuerRegExp: str,
  roots: str,
  additionalExtensions: s.strMap(),
  rekor: rekorSchema,
  ctlog: ctlogSchema,
});

export const attestorSetSchema: Schema = s.obj({
  count: s.int(),
  entries: s.arr(
    s.obj({
      keys: staticKeySchema,
      certificates: certificatesSchema,
      keyless: keylessSchema,
      attestor: s.lazy(() => attestorSetSchema),
      repository: str,
      annotations: s.strMap(),
      signatureAlgorithm: hashSchema,
    }),
  ),
});

const attestationSchema = s.obj(
  {
    name: str,
    type: str,
    predicateType: str,
    attestors: s.arr(attestorSetSchema),
    conditions: s.arr(anyAllSchema),
  },
  { predicateType: 'use type' },
);

const LEGACY = 'use imageReferences and attestors';

const verifyImageSchema = s.obj(
  {
    failureAction: s.str(['Audit', 'Enforce']),
    type: s.str(['Cosign', 'SigstoreBundle', 'Notary']),
    image: str,
    imageReferences: s.strList(),
    skipImageReferences: s.strList(),
    key: str,
    roots: str,
    subject: str,
    issuer: str,
    additionalExtensions: s.strMap(),
    attestors: s.arr(attestorSetSchema),
    attestations: s.arr(attestationSchema),
    annotations: s.strMap(),
    repository: str,
    cosignOCI11: bool,
    mutateDigest: bool,
    verifyDigest: bool,
    validate: s.obj({ message: str, deny: s.obj({ conditions: conditionsSchema }) }),
    required: bool,
    imageRegistryCredentials: s.obj({
      allowInsecureRegistry: bool,
      providers: s.arr(s.str(['default', 'amazon', 'azure', 'google', 'github'])),
      secrets: s.strList(),
    }),
    useCache: bool,
  },
  {
    image: 'use imageReferences',
    key: LEGACY,
    roots: LEGACY,
    subject: LEGACY,
    issuer: LEGACY,
    additionalExtensions: LEGACY,
    annotations: 'use attestors[].entries[].annotations',
  },
);

const ruleSchema = s.obj({
  name: str,
  context: s.arr(contextEntrySchema),
  match: matchSchema,
  exclude: matchSchema,
  imageExtractors: s.map(s.arr(imageExtractorSchema)),
  preconditions: conditionsSchema,
  celPreconditions: s.any(),
  mutate: s.any(),
  validate: s.any(),
  generate: s.any(),
  verifyImages: s.arr(verifyImageSchema),
  skipBackgroundRequests: bool,
  reportProperties: s.strMap(),
});

export const metadataSchema = s.obj({
  name: str,
  generateName: str,
  namespace: str,
  uid: str,
  resourceVersion: str,
  generation: s.any(),
  creationTimestamp: s.any(),
  deletionTimestamp: s.any(),
  deletionGracePeriodSeconds: s.any(),
  labels: s.strMap(),
  annotations: s.strMap(),
  ownerReferences: s.any(),
  finalizers: s.any(),
  managedFields: s.any(),
  selfLink: str,
});

export const kyvernoPolicySchema = s.obj({
  apiVersion: str,
  kind: str,
  metadata: metadataSchema,
  spec: s.obj(
    {
      rules: s.arr(ruleSchema),
      applyRules: s.str(['All', 'One']),
      failurePolicy: s.str(['Fail', 'Ignore']),
      validationFailureAction: str,
      validationFailureActionOverrides: s.arr(
        s.obj({ action: str, namespaces: s.strList(), namespaceSelector: labelSelectorSchema }),
      ),
      emitWarning: bool,
      admission: bool,
      background: bool,
      schemaValidation: bool,
      webhookTimeoutSeconds: s.int(),
      mutateExistingOnPolicyUpdate: bool,
      generateExisting: bool,
      generateExistingOnPolicyUpdate: bool,
      useServerSideApply: bool,
      webhookConfiguration: s.obj({
        failurePolicy: s.str(['Fail', 'Ignore']),
        timeoutSeconds: s.int(),
        matchConditions: s.arr(s.obj({ name: str, expression: str })),
      }),
    },
    {
      failurePolicy: 'use webhookConfiguration.failurePolicy',
      webhookTimeoutSeconds: 'use webhookConfiguration.timeoutSeconds',
      schemaValidation: 'it has no effect',
    },
  ),
  status: s.any(),
});

// ---------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------

export interface BuildContext {
  diag: DiagnosticCollector;
  resolveSecret: SecretResolver;
}

export function toMetadata(o: Obj | undefined, ctx: BuildContext, namespaced: boolean): PolicyMetadata {
  const name = getStr(o, 'name');
  if (!name) ctx.diag.error('metadata', 'metadata.name: Required value: a policy needs a name');
  const md: PolicyMetadata = {
    name: name ?? '',
    annotations: getStrMap(o, 'annotations'),
    labels: getStrMap(o, 'labels'),
  };
  const ns = getStr(o, 'namespace');
  if (namespaced) md.namespace = ns ?? 'default';
  else if (ns !== undefined) {
    ctx.diag.warn('metadata.namespace', 'metadata.namespace is ignored for cluster-scoped policies', true);
  }
  const uid = getStr(o, 'uid');
  if (uid !== undefined) md.uid = uid;
  const rv = getStr(o, 'resourceVersion');
  if (rv !== undefined) md.resourceVersion = rv;
  return md;
}

/** Normalises Audit/Enforce in any case; lowercase forms are deprecated. */
function toFailureAction(raw: string | undefined, path: string, ctx: BuildContext): FailureAction | undefined {
  if (raw === undefined) return undefined;
  const lower = raw.toLowerCase();
  const action: FailureAction | undefined = lower === 'audit' ? 'Audit' : lower === 'enforce' ? 'Enforce' : undefined;
  if (!action) {
    ctx.diag.error(path, `${path}: unsupported value ${JSON.stringify(raw)}: supported values: "Audit", "Enforce"`);
    return undefined;
  }
  if (raw !== action) {
    ctx.diag.warn(path, `${path}: ${JSON.stringify(raw)} is deprecated, use ${JSON.stringify(action)}`);
  }
  return action;
}

function checkTimeout(v: number | undefined, path: string, ctx: BuildContext): void {
  if (v !== undefined && (v < 1 || v > 30)) {
    ctx.diag.error(path, `${path}: Invalid value: ${v}: the timeout value must be between 1 and 30 seconds`);
  }
}

export function toKyvernoPolicy(doc: Obj, source: Omit<PolicySource, 'locations'>, ctx: BuildContext): KyvernoPolicy {
  const apiVersion = getStr(doc, 'apiVersion') ?? '';
  const kind = getStr(doc, 'kind') === 'Policy' ? 'Policy' : 'ClusterPolicy';
  const metadata = toMetadata(getObj(doc, 'metadata'), ctx, kind === 'Policy');
  const spec = getObj(doc, 'spec');
  if (!spec) ctx.diag.error('spec', 'spec: Required value: a policy needs a spec');

  const validationFailureAction =
    toFailureAction(getStr(spec, 'validationFailureAction'), 'spec.validationFailureAction', ctx) ?? 'Audit';

  const overrides: ValidationFailureActionOverride[] = [];
  getObjArr(spec, 'validationFailureActionOverrides').forEach((o, i) => {
    const p = `spec.validationFailureActionOverrides[${i}]`;
    const action = toFailureAction(getStr(o, 'action'), `${p}.action`, ctx);
    if (!has(o, 'action')) ctx.diag.error(p, `${p}.action: Required value`);
    if (!action) return;
    const ov: ValidationFailureActionOverride = { action, namespaces: getStrArr(o, 'namespaces') };
    const sel = toLabelSelector(getObj(o, 'namespaceSelector'));
    if (sel) ov.namespaceSelector = sel;
    overrides.push(ov);
  });
  if (kind === 'Policy' && overrides.length > 0) {
    ctx.diag.warn(
      'spec.validationFailureActionOverrides',
      'spec.validationFailureActionOverrides is only supported for ClusterPolicy: ignored',
      true,
    );
    overrides.length = 0;
  }

  const webhook = getObj(spec, 'webhookConfiguration');
  const fpOld = getStr(spec, 'failurePolicy') as FailurePolicy | undefined;
  const fpNew = getStr(webhook, 'failurePolicy') as FailurePolicy | undefined;
  if (fpOld !== undefined && fpNew !== undefined) {
    ctx.diag.error(
      'spec.webhookConfiguration.failurePolicy',
      'spec.failurePolicy and spec.webhookConfiguration.failurePolicy cannot both be set: use webhookConfiguration.failurePolicy only',
    );
  }
  const toOld = getInt(spec, 'webhookTimeoutSeconds');
  const toNew = getInt(webhook, 'timeoutSeconds');
  checkTimeout(toOld, 'spec.webhookTimeoutSeconds', ctx);
  checkTimeout(toNew, 'spec.webhookConfiguration.timeoutSeconds', ctx);
  if (toOld !== undefined && toNew !== undefined) {
    ctx.diag.error(
      'spec.webhookConfiguration.timeoutSeconds',
      'spec.webhookTimeoutSeconds and spec.webhookConfiguration.timeoutSeconds cannot both be set: use webhookConfiguration.timeoutSeconds only',
    );
  }

  const admission = getBool(spec, 'admission') ?? true;
  const rulesRaw = getObjArr(spec, 'rules');
  if (spec && rulesRaw.length === 0) {
    ctx.diag.error('spec.rules', 'spec.rules: Required value: a policy needs at least one rule');
  }

  const rules: KyvernoRule[] = [];
  const seen = new Set<string>();
  rulesRaw.forEach((r, i) => {
    const rule = toRule(r, `spec.rules[${i}]`, validationFailureAction, ctx);
    if (rule.name) {
      if (seen.has(rule.name)) {
        ctx.diag.error(
          `spec.rules[${i}].name`,
          `spec.rules[${i}].name: Duplicate value: ${JSON.stringify(rule.name)}: rule names must be unique`,
        );
      }
      seen.add(rule.name);
    }
    rules.push(rule);
  });

  if (!admission && rules.some((r) => r.verifyImages.length > 0)) {
    ctx.diag.error(
      'spec.admission',
      'spec.admission: Invalid value: false: verifyImages rules require admission to be enabled',
    );
  }
  if (spec && !rules.some((r) => r.verifyImages.length > 0)) {
    ctx.diag.info(
      'spec.rules',
      `policy ${JSON.stringify(metadata.name)} has no verifyImages rules: nothing for sigward to verify`,
    );
  }

  const out: KyvernoPolicy = {
    format: 'kyverno',
    apiVersion,
    kind,
    metadata,
    spec: {
      validationFailureAction,
      validationFailureActionOverrides: overrides,
      failurePolicy: fpNew ?? fpOld ?? 'Fail',
      background: getBool(spec, 'background') ?? true,
      admission,
      rules,
    },
    source: { ...source, locations: ctx.diag.toLocationRecord() },
  };
  const timeout = toNew ?? toOld;
  if (timeout !== undefined) out.spec.timeoutSeconds = timeout;
  const applyRules = getStr(spec, 'applyRules');
  if (applyRules === 'All' || applyRules === 'One') out.spec.applyRules = applyRules;
  return out;
}

// --- match / exclude -------------------------------------------------------

function toLabelSelector(o: Obj | undefined): LabelSelector | undefined {
  if (!o) return undefined;
  const sel: LabelSelector = {};
  if (has(o, 'matchLabels')) sel.matchLabels = getStrMap(o, 'matchLabels');
  if (has(o, 'matchExpressions')) {
    sel.matchExpressions = getObjArr(o, 'matchExpressions').map((e) => {
      const req: { key: string; operator: string; values?: string[] } = {
        key: getStr(e, 'key') ?? '',
        operator: getStr(e, 'operator') ?? '',
      };
      if (has(e, 'values')) req.values = getStrArr(e, 'values');
      return req;
    });
  }
  return sel;
}

function toResourceDescription(o: Obj | undefined): ResourceDescription | undefined {
  if (!o) return undefined;
  const rd: ResourceDescription = {};
  for (const k of ['kinds', 'names', 'namespaces', 'operations'] as const) if (has(o, k)) rd[k] = getStrArr(o, k);
  const name = getStr(o, 'name');
  if (name !== undefined) rd.name = name;
  if (has(o, 'annotations')) rd.annotations = getStrMap(o, 'annotations');
  const selector = toLabelSelector(getObj(o, 'selector'));
  if (selector) rd.selector = selector;
  const nsSelector = toLabelSelector(getObj(o, 'namespaceSelector'));
  if (nsSelector) rd.namespaceSelector = nsSelector;
  return rd;
}

function toSubjects(o: Obj | undefined): Subject[] {
  return getObjArr(o, 'subjects').map((x) => {
    const sub: Subject = { kind: getStr(x, 'kind') ?? '', name: getStr(x, 'name') ?? '' };
    const ns = getStr(x, 'namespace');
    if (ns !== undefined) sub.namespace = ns;
    const g = getStr(x, 'apiGroup');
    if (g !== undefined) sub.apiGroup = g;
    return sub;
  });
}

function addUserInfo(target: { subjects?: Subject[]; roles?: string[]; clusterRoles?: string[] }, o: Obj): void {
  if (has(o, 'subjects')) target.subjects = toSubjects(o);
  if (has(o, 'roles')) target.roles = getStrArr(o, 'roles');
  if (has(o, 'clusterRoles')) target.clusterRoles = getStrArr(o, 'clusterRoles');
}

function toResourceFilter(o: Obj): ResourceFilter {
  const f: ResourceFilter = {};
  const rd = toResourceDescription(getObj(o, 'resources'));
  if (rd) f.resources = rd;
  addUserInfo(f, o);
  return f;
}

function toMatchResources(o: Obj | undefined, path: string, ctx: BuildContext, isMatch: boolean): MatchResources {
  const m: MatchResources = {};
  if (!o) return m;
  const hasAny = has(o, 'any');
  const hasAll = has(o, 'all');
  if (hasAny && hasAll) ctx.diag.error(path, `${path}: can't specify any and all together`);
  if ((hasAny || hasAll) && (has(o, 'resources') || has(o, 'subjects') || has(o, 'roles') || has(o, 'clusterRoles'))) {
    ctx.diag.error(path, `${path}: can't specify resources, subjects or roles together with any/all`);
  }
  if (hasAny) m.any = getObjArr(o, 'any').map(toResourceFilter);
  if (hasAll) m.all = getObjArr(o, 'all').map(toResourceFilter);
  const rd = toResourceDescription(getObj(o, 'resources'));
  if (rd) m.resources = rd;
  addUserInfo(m, o);
  if (isMatch && !hasAny && !hasAll && !rd && !m.subjects && !m.roles && !m.clusterRoles) {
    ctx.diag.error(path, `${path}: Required value: match needs resources, any or all`);
  }
  return m;
}

/** Every `kinds` list of a match/exclude block. */
export function getMatchKinds(m: MatchResources | undefined): string[][] {
  if (!m) return [];
  const out: string[][] = [];
  if (m.resources?.kinds) out.push(m.resources.kinds);
  for (const f of [...(m.any ?? []), ...(m.all ?? [])]) if (f.resources?.kinds) out.push(f.resources.kinds);
  return out;
}

/** [path, kind] of every kinds item of a (cleaned) match/exclude block. */
function findKindPaths(o: Obj | undefined, path: string): [string, string][] {
  const out: [string, string][] = [];
  const add = (rd: Obj | undefined, p: string): void =>
    getStrArr(rd, 'kinds').forEach((k, i) => out.push([`${p}.kinds[${i}]`, k]));
  add(getObj(o, 'resources'), `${path}.resources`);
  for (const block of ['any', 'all'] as const) {
    getArr(o, block).forEach((f, i) => {
      if (isObj(f)) add(getObj(f, 'resources'), `${path}.${block}[${i}].resources`);
    });
  }
  return out;
}

// --- conditions --------------------------------------------------------------

function toConditionList(list: Obj[], path: string, ctx: BuildContext): Condition[] {
  return list.map((c, i) => {
    const p = `${path}[${i}]`;
    const operator = getStr(c, 'operator') ?? '';
    if (!has(c, 'operator')) ctx.diag.error(p, `${p}.operator: Required value`);
    else if (DEPRECATED_OPERATORS[operator as keyof typeof DEPRECATED_OPERATORS]) {
      ctx.diag.warn(
        `${p}.operator`,
        `${p}.operator: ${JSON.stringify(operator)} is deprecated, use ${
          DEPRECATED_OPERATORS[operator as keyof typeof DEPRECATED_OPERATORS]
        }`,
      );
    } else if (!CONDITION_OPERATORS.includes(operator)) {
      ctx.diag.error(
        `${p}.operator`,
        `${p}.operator: unsupported value ${JSON.stringify(operator)}: supported values: ${
          CONDITION_OPERATORS.join(', ')
        }`,
      );
    }
    if (!has(c, 'key')) ctx.diag.error(p, `${p}.key: Required value`);
    const cond: Condition = { key: c['key'] ?? null, operator };
    if (Object.hasOwn(c, 'value')) cond.value = c['value'];
    const msg = getStr(c, 'message');
    if (msg !== undefined) cond.message = msg;
    return cond;
  });
}

function toAnyAll(o: Obj, path: string, ctx: BuildContext): AnyAllConditions {
  const out: AnyAllConditions = {};
  if (has(o, 'any')) out.any = toConditionList(getObjArr(o, 'any'), `${path}.any`, ctx);
  if (has(o, 'all')) out.all = toConditionList(getObjArr(o, 'all'), `${path}.all`, ctx);
  return out;
}

/** `{any, all}` or the legacy plain list (which means `all`). */
function toConditionsBlock(v: unknown, path: string, ctx: BuildContext): AnyAllConditions | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return { all: toConditionList(v.filter(isObj), path, ctx) };
  if (isObj(v)) return toAnyAll(v, path, ctx);
  return undefined;
}

// --- rules -----------------------------------------------------------------------

function toRule(r: Obj, path: string, specAction: FailureAction, ctx: BuildContext): KyvernoRule {
  const name = getStr(r, 'name') ?? '';
  if (!name) ctx.diag.error(path, `${path}.name: Required value: rules need a name`);
  else if (name.length > 63) {
    ctx.diag.error(
      `${path}.name`,
      `${path}.name: Invalid value: ${JSON.stringify(name)}: must be no more than 63 characters`,
    );
  }

  const otherTypes = ['mutate', 'validate', 'generate'].filter((t) => has(r, t));
  const verifyRaw = getObjArr(r, 'verifyImages');
  const hasVerify = has(r, 'verifyImages');
  const typeCount = otherTypes.length + (hasVerify ? 1 : 0);
  if (typeCount === 0) {
    ctx.diag.error(path, `${path}: a rule needs exactly one of mutate, validate, generate or verifyImages`);
  } else if (typeCount > 1) {
    ctx.diag.error(
      path,
      `${path}: a rule can hold only one of mutate, validate, generate or verifyImages, found ${
        [...otherTypes, ...(hasVerify ? ['verifyImages'] : [])].join(', ')
      }`,
    );
  }
  if (!hasVerify && otherTypes.length > 0) {
    ctx.diag.info(
      path,
      `rule ${JSON.stringify(name)} (${otherTypes.join(', ')}) is not a verifyImages rule: ignored by sigward`,
    );
  }
  if (hasVerify && verifyRaw.length === 0) {
    ctx.diag.error(`${path}.verifyImages`, `${path}.verifyImages: Required value: at least one entry is required`);
  }

  if (!has(r, 'match')) ctx.diag.error(path, `${path}.match: Required value`);
  const match = toMatchResources(getObj(r, 'match'), `${path}.match`, ctx, true);
  const other: Record<string, unknown> = {};
  for (const t of otherTypes) other[t] = r[t];
  const rule: KyvernoRule = { name, path, match, context: [], verifyImages: [], otherTypes, other };
  if (has(r, 'exclude')) rule.exclude = toMatchResources(getObj(r, 'exclude'), `${path}.exclude`, ctx, false);

  if (hasVerify) {
    const kinds = getMatchKinds(match).flat();
    const wildcard = findKindPaths(getObj(r, 'match'), `${path}.match`).find(([, k]) => k === '*');
    if (wildcard) ctx.diag.error(wildcard[0], `${wildcard[0]}: wildcard policy does not support rule type`);
    if (kinds.length === 0 && (match.any || match.all || match.resources)) {
      ctx.diag.error(
        `${path}.match`,
        `${path}.match: at least one kind is required (the kinds attribute is mandatory when working with resources)`,
      );
    }
  }

  getObjArr(r, 'context').forEach((c, i) => {
    const p = `${path}.context[${i}]`;
    const n = getStr(c, 'name');
    if (!n) ctx.diag.error(p, `${p}.name: Required value`);
    const kinds = ['variable', 'configMap', ...OFFLINE_UNSUPPORTED_CONTEXT].filter((k) => c[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.diag.error(
        p,
        `${p}: exactly one of variable, configMap, apiCall, imageRegistry or globalReference is required`,
      );
    }
    const offline = OFFLINE_UNSUPPORTED_CONTEXT.find((k) => c[k] !== undefined);
    if (offline) {
      ctx.diag.warn(
        `${p}.${offline}`,
        `${p}.${offline}: sigward does not query the API server or registries for context: the rule fails (denied under Enforce) instead of evaluating its conditions without ${
          n ?? 'this variable'
        }`,
      );
    } else if (c['configMap'] !== undefined) {
      const cm = getObj(c, 'configMap');
      ctx.diag.info(
        `${p}.configMap`,
        `${p}.configMap: read from $SIGWARD_CONFIGMAPS_DIR/${getStr(cm, 'namespace') ?? 'default'}/${
          getStr(cm, 'name') ?? ''
        }/<key> (sigward has no API access); the rule fails if it is not there`,
      );
    } else if (c['variable'] !== undefined) {
      const v = getObj(c, 'variable');
      if (!v || (!has(v, 'value') && !getStr(v, 'jmesPath') && !has(v, 'default'))) {
        ctx.diag.error(`${p}.variable`, `${p}.variable: one of value, jmesPath or default is required`);
      }
    }
    rule.context.push({ ...c, name: n ?? '' });
  });

  getObjArr(r, 'celPreconditions').forEach((c, i) => {
    const p = `${path}.celPreconditions[${i}]`;
    const expression = getStr(c, 'expression');
    if (!expression) {
      ctx.diag.error(p, `${p}.expression: Required value`);
      return;
    }
    try {
      compileCel(expression, { variables: CEL_PRECONDITION_VARIABLES });
    } catch (e) {
      ctx.diag.error(`${p}.expression`, `${p}.expression: ${(e as Error).message}`);
      return;
    }
    (rule.celPreconditions ??= []).push({ name: getStr(c, 'name') ?? `celPreconditions[${i}]`, expression });
  });

  const pre = toConditionsBlock(r['preconditions'], `${path}.preconditions`, ctx);
  if (pre) rule.preconditions = pre;

  const extractors = getObj(r, 'imageExtractors');
  let hasJmesPath = false;
  if (extractors) {
    rule.imageExtractors = {};
    for (const kind of Object.keys(extractors)) {
      rule.imageExtractors[kind] = getObjArr(extractors, kind).map((e, i) => {
        const p = `${path}.imageExtractors.${kind}[${i}]`;
        const ex: ImageExtractorConfig = { path: getStr(e, 'path') ?? '' };
        if (!ex.path) ctx.diag.error(p, `${p}.path: Required value`);
        for (const k of ['name', 'value', 'key', 'jmesPath'] as const) {
          const v = getStr(e, k);
          if (v !== undefined) ex[k] = v;
        }
        if (ex.jmesPath) hasJmesPath = true;
        return ex;
      });
    }
  }

  verifyRaw.forEach((v, i) => {
    const entry = toImageVerification(v, `${path}.verifyImages[${i}]`, i, specAction, ctx);
    if (hasJmesPath && entry.mutateDigest) {
      ctx.diag.error(
        `${entry.path}.mutateDigest`,
        `${entry.path}.mutateDigest: mutateDigest cannot be used with imageExtractors that set jmesPath: set mutateDigest to false`,
      );
    }
    rule.verifyImages.push(entry);
  });
  return rule;
}

// --- verifyImages ------------------------------------------------------------------

/**
 * Kyverno's Convert(): the deprecated image/key/issuer/subject/roots/annotations
 * fields become imageReferences plus one attestor set. Works on the cleaned
 * plain object; returns a converted copy (or the same object).
 */
export function convertLegacyImageVerification(
  v: Obj,
  path: string,
  ctx: BuildContext,
): { value: Obj; converted: boolean } {
  const image = getStr(v, 'image');
  const key = getStr(v, 'key');
  const issuer = getStr(v, 'issuer');
  const subject = getStr(v, 'subject');
  const roots = getStr(v, 'roots');
  const annotations = getStrMap(v, 'annotations');
  const extensions = getStrMap(v, 'additionalExtensions');
  if (!image && !key && !issuer) {
    for (const f of ['subject', 'roots', 'additionalExtensions', 'annotations']) {
      if (has(v, f)) {
        ctx.diag.warn(
          `${path}.${f}`,
          `${path}.${f} is ignored without image, key or issuer (Kyverno ignores it too): move it into an attestor entry`,
          true,
        );
      }
    }
    return { value: v, converted: false };
  }
  const out: Obj = { ...v };
  for (const f of ['image', 'key', 'issuer', 'subject', 'roots', 'additionalExtensions', 'annotations']) delete out[f];
  if (image) out['imageReferences'] = [...getStrArr(v, 'imageReferences'), image];
  if (Object.keys(annotations).length > 0 || key || issuer) {
    const entry: Obj = {};
    if (Object.keys(annotations).length > 0) entry['annotations'] = annotations;
    if (key) {
      entry['keys'] = { publicKeys: key };
      if (subject || roots) ctx.diag.warn(path, `${path}: subject and roots are ignored when key is set`);
    } else if (issuer) {
      const kl: Obj = { issuer };
      if (subject) kl['subject'] = subject;
      if (roots) kl['roots'] = roots;
      if (Object.keys(extensions).length > 0) kl['additionalExtensions'] = extensions;
      entry['keyless'] = kl;
    }
    const set: Obj = { entries: [entry] };
    const attestations = getObjArr(v, 'attestations');
    if (attestations.length > 0) {
      // Kyverno meant to add the set to every attestation (its copy drops it: a known bug)
      out['attestations'] = attestations.map((a) => ({ ...a, attestors: [...getObjArr(a, 'attestors'), set] }));
    } else {
      out['attestors'] = [...getObjArr(v, 'attestors'), set];
    }
  }
  return { value: out, converted: true };
}

function toImageVerification(
  raw: Obj,
  path: string,
  index: number,
  specAction: FailureAction,
  ctx: BuildContext,
): VerifyImagesEntry {
  const { value: v, converted } = convertLegacyImageVerification(raw, path, ctx);
  const type = (getStr(v, 'type') ?? 'Cosign') as ImageVerificationType;
  const failureAction = getStr(v, 'failureAction') as FailureAction | undefined;
  const effectiveAction = failureAction ?? specAction;

  const imageReferences = getStrArr(v, 'imageReferences');
  if (imageReferences.length === 0 && !ctx.diag.invalid.has(`${path}.imageReferences`)) {
    ctx.diag.error(path, `${path}: An image reference is required`);
  }
  getStrArr(raw, 'imageReferences').forEach((ref, i) => {
    if (hasVariables(ref)) {
      ctx.diag.error(
        `${path}.imageReferences[${i}]`,
        `${path}.imageReferences[${i}]: variables are not allowed in image reference`,
      );
    }
  });
  const legacyImage = getStr(raw, 'image');
  if (legacyImage && hasVariables(legacyImage)) {
    ctx.diag.error(`${path}.image`, `${path}.image: variables are not allowed in image reference`);
  }

  const explicitMutate = getBool(v, 'mutateDigest');
  let mutateDigest = explicitMutate ?? true;
  if (effectiveAction === 'Audit') {
    if (explicitMutate === true) {
      ctx.diag.error(
        `${path}.mutateDigest`,
        `${path}.mutateDigest: Invalid value: true: mutateDigest must be set to false for ‘Audit’ failure action`,
      );
    } else if (explicitMutate === undefined) {
      ctx.diag.warn(
        path,
        `${path}: mutateDigest is not set: Kyverno defaults it to true and then rejects the policy for 'Audit' failure action; sigward treats it as false: set mutateDigest: false`,
      );
    }
    mutateDigest = false;
  }

  const entry: VerifyImagesEntry = {
    path,
    index,
    type,
    imageReferences,
    skipImageReferences: getStrArr(v, 'skipImageReferences'),
    mutateDigest,
    verifyDigest: getBool(v, 'verifyDigest') ?? true,
    required: getBool(v, 'required') ?? true,
    useCache: getBool(v, 'useCache') ?? true,
    cosignOCI11: getBool(v, 'cosignOCI11') ?? false,
    attestors: [],
    attestations: [],
    convertedFromLegacy: converted,
  };
  if (failureAction) entry.failureAction = failureAction;
  const repository = getStr(v, 'repository');
  if (repository !== undefined) entry.repository = repository;

  const creds = getObj(v, 'imageRegistryCredentials');
  if (creds) {
    if (getStrArr(creds, 'providers').length) {
      ctx.diag.warn(
        `${path}.imageRegistryCredentials.providers`,
        `${path}.imageRegistryCredentials.providers: cloud credential helpers (ECR, GCR, ACR) are not run by sigward offline: give the registry's pull Secret in secrets, or sigward's own registry credentials`,
      );
    }
    if (getStrArr(creds, 'secrets').length) {
      ctx.diag.info(
        `${path}.imageRegistryCredentials.secrets`,
        `${path}.imageRegistryCredentials.secrets: read from $SIGWARD_SECRETS_DIR/<namespace>/<name>/.dockerconfigjson (a bare name is in $SIGWARD_NAMESPACE, default kyverno), tried before sigward's own registry credentials`,
      );
    }
    entry.imageRegistryCredentials = {
      allowInsecureRegistry: getBool(creds, 'allowInsecureRegistry') ?? false,
      providers: getStrArr(creds, 'providers'),
      secrets: getStrArr(creds, 'secrets'),
    };
  }

  const validate = getObj(v, 'validate');
  if (validate) {
    const val: { message?: string; deny?: { conditions: AnyAllConditions } } = {};
    const msg = getStr(validate, 'message');
    if (msg !== undefined) val.message = msg;
    const deny = getObj(validate, 'deny');
    if (deny) {
      val.deny = { conditions: toConditionsBlock(deny['conditions'], `${path}.validate.deny.conditions`, ctx) ?? {} };
    }
    entry.validate = val;
  }

  const notary = type === 'Notary';
  getObjArr(v, 'attestors').forEach((as, i) =>
    entry.attestors.push(toAttestorSet(as, `${path}.attestors[${i}]`, ctx, notary))
  );
  getObjArr(v, 'attestations').forEach((a, i) =>
    entry.attestations.push(toAttestation(a, `${path}.attestations[${i}]`, ctx, notary))
  );

  if (notary) lintNotaryEntry(entry, v, path, ctx);
  if (
    entry.attestors.length === 0 && entry.attestations.length === 0 && imageReferences.length > 0 &&
    !ctx.diag.hasErrorsUnder(path)
  ) {
    ctx.diag.warn(path, `${path}: no attestors and no attestations: images are only checked for digests`);
  }
  return entry;
}

/** What a Notary entry cannot use, and how sigward's offline Notary verification differs from Kyverno's. */
function lintNotaryEntry(entry: VerifyImagesEntry, v: Obj, path: string, ctx: BuildContext): void {
  ctx.diag.info(
    `${path}.type`,
    `${path}.type: Notary: sigward checks no certificate revocation (it has no network): a signature whose certificate chain names OCSP or CRL endpoints is denied, where Kyverno asks them online; chains without endpoints verify as in Kyverno`,
  );
  const walk = (set: AttestorSet): void => {
    for (const e of set.entries) {
      if (e.attestor) walk(e.attestor);
      const c = e.certificates;
      if (c?.rekor || c?.ctlog) {
        ctx.diag.warn(
          `${e.path}.certificates`,
          `${e.path}.certificates: rekor and ctlog are not used by Notary verification (Notary signatures have no transparency log): ignored`,
        );
      }
    }
  };
  entry.attestors.forEach(walk);
  for (const att of entry.attestations) {
    att.attestors.forEach(walk);
    if (att.attestors.length === 0 && entry.attestors.length === 0) {
      ctx.diag.warn(
        att.path,
        `${att.path}: a Notary attestation without attestors is accepted unsigned by Kyverno; sigward verifies its Notary signature and needs certificates: add attestors`,
      );
    }
  }
  if (has(v, 'cosignOCI11')) {
    ctx.diag.warn(`${path}.cosignOCI11`, `${path}.cosignOCI11: has no effect on Notary signatures`);
  }
}

function toAttestation(a: Obj, path: string, ctx: BuildContext, notary: boolean): Attestation {
  const t = getStr(a, 'type');
  const pt = getStr(a, 'predicateType');
  if (t && pt && t !== pt) {
    ctx.diag.error(`${path}.predicateType`, `${path}: type and predicateType differ: set only type`);
  }
  const type = t || pt || '';
  if (!type) ctx.diag.error(path, `${path}.type: Required value: an attestation needs a type`);
  const att: Attestation = { path, type, attestors: [], conditions: [] };
  const name = getStr(a, 'name');
  if (name !== undefined) att.name = name;
  getObjArr(a, 'attestors').forEach((as, i) =>
    att.attestors.push(toAttestorSet(as, `${path}.attestors[${i}]`, ctx, notary))
  );
  getObjArr(a, 'conditions').forEach((c, i) => att.conditions.push(toAnyAll(c, `${path}.conditions[${i}]`, ctx)));
  return att;
}

function toAttestorSet(o: Obj, path: string, ctx: BuildContext, notary: boolean): AttestorSet {
  const raw = getObjArr(o, 'entries');
  const count = getInt(o, 'count');
  if (raw.length === 0) ctx.diag.error(path, `${path}: An entry is required`);
  if (count !== undefined) {
    if (count < 1) {
      ctx.diag.error(`${path}.count`, `${path}.count: Invalid value: ${count}: must be greater than or equal to 1`);
    } else if (count > raw.length) {
      ctx.diag.error(
        `${path}.count`,
        `${path}.count: Invalid value: ${count}: Count cannot exceed length of entries (${raw.length})`,
      );
    }
  }
  const entries: AttestorEntry[] = [];
  raw.forEach((e, i) => entries.push(...toAttestors(e, `${path}.entries[${i}]`, i, ctx, notary)));
  const set: AttestorSet = { path, entries, requiredCount: count !== undefined && count > 0 ? count : entries.length };
  if (count !== undefined) set.count = count;
  return set;
}

/** A keyless subjectRegExp / issuerRegExp must be a Go (RE2) regular expression, as Kyverno and cosign compile it. */
export function checkRegExp(diag: DiagnosticCollector, path: string, pattern: string | undefined): void {
  if (pattern === undefined) return;
  const error = getGoRegexError(pattern);
  if (error !== undefined) {
    diag.error(path, `${path}: ${error} (Go RE2 syntax: no backreferences, lookahead or lookbehind)`);
    return;
  }
  // matched anywhere in the value, as Kyverno and cosign match it: say so when that is probably not what was meant
  const unanchored = getUnanchoredRegExpWarning(pattern, path);
  if (unanchored) diag.warn(path, unanchored);
}

function toRekor(o: Obj | undefined, path: string, ctx: BuildContext): RekorConfig | undefined {
  if (!o) return undefined;
  const url = getStr(o, 'url');
  if (url && url.replace(/\/+$/, '') !== DEFAULT_REKOR_URL && !getBool(o, 'ignoreTlog')) {
    ctx.diag.warn(
      `${path}.url`,
      `${path}.url: sigward does not contact ${url}: transparency-log entries are verified offline from what the signature carries, against the Rekor keys of the trust root sigward runs with${
        getStr(o, 'pubkey')
          ? ' replaced by rekor.pubkey'
          : " (give this log's key as rekor.pubkey, or a trust root that holds it)"
      }`,
    );
  }
  const r: RekorConfig = { url: getStr(o, 'url') || DEFAULT_REKOR_URL, ignoreTlog: getBool(o, 'ignoreTlog') ?? false };
  const pk = getStr(o, 'pubkey');
  if (pk !== undefined) r.pubkey = pk;
  return r;
}

function toCTLog(o: Obj | undefined): CTLogConfig | undefined {
  if (!o) return undefined;
  const c: CTLogConfig = { ignoreSCT: getBool(o, 'ignoreSCT') ?? false };
  for (const k of ['url', 'pubkey', 'tsaCertChain'] as const) {
    const v = getStr(o, k);
    if (v !== undefined) c[k] = v;
  }
  return c;
}

function setOptional<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** One YAML attestor entry -> one or more typed attestors (multi-key publicKeys are split). */
function toAttestors(e: Obj, path: string, sourceIndex: number, ctx: BuildContext, notary: boolean): AttestorEntry[] {
  const kinds = (['keys', 'certificates', 'keyless', 'attestor'] as const).filter((k) => has(e, k));
  if (kinds.length !== 1) {
    ctx.diag.error(
      path,
      `${path}: keys, certificates, keyless, or a nested attestor is required${
        kinds.length > 1 ? ` (found ${kinds.join(', ')}: use one per entry)` : ''
      }`,
    );
    if (kinds.length === 0) return [];
  }
  const kind = kinds[0]!;
  if (notary && kind === 'keys') ctx.diag.error(`${path}.keys`, `${path}: Keys field is not allowed for type notary`);
  if (notary && kind === 'keyless') {
    ctx.diag.error(`${path}.keyless`, `${path}: Keyless field is not allowed for type notary`);
  }

  const keysObj = getObj(e, 'keys');
  const algo = (getStr(e, 'signatureAlgorithm') || getStr(keysObj, 'signatureAlgorithm') || 'sha256') as HashAlgorithm;
  const base: AttestorEntry = {
    path,
    sourceIndex,
    kind,
    annotations: getStrMap(e, 'annotations'),
    signatureAlgorithm: algo,
  };
  setOptional(base, 'repository', getStr(e, 'repository'));

  if (kind === 'certificates') {
    const c = getObj(e, 'certificates');
    if (!getStr(c, 'cert') && !getStr(c, 'certChain')) {
      ctx.diag.error(`${path}.certificates`, `${path}.certificates: cert or certChain required`);
    }
    base.certificates = {};
    setOptional(base.certificates, 'cert', getStr(c, 'cert'));
    setOptional(base.certificates, 'certChain', getStr(c, 'certChain'));
    setOptional(base.certificates, 'rekor', toRekor(getObj(c, 'rekor'), `${path}.certificates.rekor`, ctx));
    setOptional(base.certificates, 'ctlog', toCTLog(getObj(c, 'ctlog')));
    return [base];
  }

  if (kind === 'keyless') {
    const k = getObj(e, 'keyless');
    const kp = `${path}.keyless`;
    base.keyless = { additionalExtensions: getStrMap(k, 'additionalExtensions') };
    for (const f of ['subject', 'subjectRegExp', 'issuer', 'issuerRegExp', 'roots'] as const) {
      setOptional(base.keyless, f, getStr(k, f));
    }
    for (const f of ['subjectRegExp', 'issuerRegExp'] as const) checkRegExp(ctx.diag, `${kp}.${f}`, base.keyless[f]);
    setOptional(base.keyless, 'rekor', toRekor(getObj(k, 'rekor'), `${path}.keyless.rekor`, ctx));
    setOptional(base.keyless, 'ctlog', toCTLog(getObj(k, 'ctlog')));
    if (!has(k, 'rekor') && !getStr(k, 'roots')) {
      ctx.diag.warn(
        kp,
        `${kp}: Either Rekor URL or roots are required by Kyverno, which rejects this policy; sigward uses the public Rekor (${DEFAULT_REKOR_URL}) and the Fulcio roots from TUF`,
      );
    } else if (has(k, 'rekor') && !getStr(getObj(k, 'rekor'), 'url')) {
      ctx.diag.warn(`${kp}.rekor`, `${kp}.rekor: An URL is required by Kyverno; sigward uses ${DEFAULT_REKOR_URL}`);
    }
    if (!base.keyless.subject && !base.keyless.subjectRegExp) {
      ctx.diag.warn(kp, `${kp}: no subject or subjectRegExp: any signer identity is accepted`);
    }
    if (!base.keyless.issuer && !base.keyless.issuerRegExp) {
      ctx.diag.warn(kp, `${kp}: no issuer or issuerRegExp: any OIDC issuer is accepted`);
    }
    if (base.keyless.subject && base.keyless.subjectRegExp) {
      ctx.diag.warn(kp, `${kp}: subject and subjectRegExp are both set: both must match`);
    }
    if (base.keyless.issuer && base.keyless.issuerRegExp) {
      ctx.diag.warn(kp, `${kp}: issuer and issuerRegExp are both set: both must match`);
    }
    return [base];
  }

  if (kind === 'attestor') {
    const nested = getObj(e, 'attestor');
    if (!nested) {
      ctx.diag.error(`${path}.attestor`, `${path}.attestor: expected a map`);
      return [base];
    }
    base.attestor = toAttestorSet(nested, `${path}.attestor`, ctx, notary);
    return [base];
  }

  // keys
  const kp = `${path}.keys`;
  const publicKeys = getStr(keysObj, 'publicKeys');
  const kms = getStr(keysObj, 'kms');
  const secret = getObj(keysObj, 'secret');
  const set = [publicKeys ? 'publicKeys' : '', secret ? 'secret' : '', kms ? 'kms' : ''].filter(Boolean);
  if (set.length === 0) ctx.diag.error(kp, `${kp}: A public key, kms key or secret is required`);
  else if (set.length > 1) ctx.diag.warn(kp, `${kp}: ${set.join(', ')} are all set: only ${set[0]} is used`);

  const common = (): NonNullable<AttestorEntry['keys']> => {
    const keys: NonNullable<AttestorEntry['keys']> = { source: { kind: 'variable', text: '' } };
    setOptional(keys, 'kms', kms);
    const sa = getStr(keysObj, 'signatureAlgorithm');
    if (sa) keys.signatureAlgorithm = sa as HashAlgorithm;
    setOptional(keys, 'rekor', toRekor(getObj(keysObj, 'rekor'), `${path}.keys.rekor`, ctx));
    setOptional(keys, 'ctlog', toCTLog(getObj(keysObj, 'ctlog')));
    return keys;
  };

  if (publicKeys) {
    const src = toKeySource(publicKeys, ctx.resolveSecret);
    if (src.kind === 'pem') {
      const parts = splitPublicKeys(publicKeys);
      return parts.map((pem, k) => {
        const a: AttestorEntry = { ...base, annotations: { ...base.annotations } };
        a.keys = common();
        a.keys.publicKeys = pem;
        a.keys.source = { kind: 'pem', pem };
        if (parts.length > 1) a.keyIndex = k;
        return a;
      });
    }
    base.keys = common();
    base.keys.publicKeys = publicKeys;
    base.keys.source = src;
    reportUnresolved(src, `${kp}.publicKeys`, ctx);
    return [base];
  }
  base.keys = common();
  if (secret) {
    const name = getStr(secret, 'name');
    const namespace = getStr(secret, 'namespace');
    if (!name) ctx.diag.error(`${kp}.secret`, `${kp}.secret.name: Required value`);
    if (!namespace) ctx.diag.error(`${kp}.secret`, `${kp}.secret.namespace: Required value`);
    base.keys.secret = { name: name ?? '', namespace: namespace ?? '' };
    base.keys.source = toSecretKeySource(namespace ?? '', name ?? '', ctx.resolveSecret);
    reportUnresolved(base.keys.source, `${kp}.secret`, ctx);
    return [base];
  }
  if (kms) {
    if (kms.startsWith('k8s://')) {
      const ref = parseK8sSecretRef(kms);
      base.keys.source = ref ? toSecretKeySource(ref.namespace, ref.name, ctx.resolveSecret) : {
        kind: 'unsupported',
        ref: kms,
        unresolved: `invalid secret reference ${JSON.stringify(kms)}: expected k8s://<namespace>/<name>`,
      };
    } else {
      const provider = getKmsProvider(kms);
      base.keys.source = provider
        ? { kind: 'kms', uri: kms.trim(), provider, unresolved: kmsOfflineMessage(kms.trim()) }
        : {
          kind: 'unsupported',
          ref: kms,
          unresolved: `unsupported KMS reference ${
            JSON.stringify(kms)
          }: expected awskms://, gcpkms://, azurekms:// or hashivault://`,
        };
    }
    reportUnresolved(base.keys.source, `${kp}.kms`, ctx);
  }
  return [base];
}

/** Unresolvable keys are warnings at load/lint time; verification fails with the same message. */
function reportUnresolved(src: KeySource, path: string, ctx: BuildContext): void {
  if ('unresolved' in src && src.unresolved) ctx.diag.warn(path, `${path}: ${src.unresolved}`);
}
