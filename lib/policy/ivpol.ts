// Kyverno ImageValidatingPolicy (policies.kyverno.io/v1alpha1, v1beta1, v1;
// also NamespacedImageValidatingPolicy) and sigward's ImagePolicy
// (sigward.dev/v1alpha1), which has the same shape plus built-in `rules`.
// CEL expressions are kept as strings; they are compiled elsewhere.

import { readFileSync } from 'node:fs';
import { parseTrustedRoot } from '../trust/root.ts';
import { compileCel } from '../conditions/cel.ts';
import { IVPOL_MATCH_VARIABLES, IVPOL_VARIABLES, KYVERNO_IMAGE_LIBRARY } from '../conditions/cel-kyverno.ts';
import type { CelFunctionLibrary } from '../conditions/cel.ts';
import type { DiagnosticCollector } from './diagnostics.ts';
import { getUnresolved, splitPublicKeys, toKeySource } from './keys.ts';
import { type BuildContext, checkRegExp, metadataSchema, toMetadata } from './kyverno.ts';
import {
  didYouMean,
  getBool,
  getInt,
  getObj,
  getObjArr,
  getStr,
  getStrArr,
  getStrMap,
  has,
  type Obj,
  s,
  type Schema,
} from './schema.ts';
import type {
  FailurePolicy,
  HashAlgorithm,
  ImageValidatingPolicy,
  IvAttestation,
  IvAttestor,
  IvBuiltinRule,
  IvCosign,
  IvValidation,
  MatchImageReference,
  PolicySource,
  StringOrExpression,
  ValidationAction,
} from './types.ts';

const str = s.str();
const bool = s.bool();

function buildSchema(native: boolean): Schema {
  const strOrExpr = s.obj({ value: str, expression: str });
  // sigward's ImagePolicy also takes a plain PEM string where ivpol wants {value|expression}
  const certValue = native ? s.union(str, strOrExpr) : strOrExpr;
  const nameExpr = s.obj({ name: str, expression: str });
  const resourceRule = s.obj({
    apiGroups: s.strList(),
    apiVersions: s.strList(),
    resources: s.strList(),
    operations: s.strList(),
    scope: str,
    resourceNames: s.strList(),
  });
  const spec: Record<string, Schema> = {
    matchConstraints: s.obj({
      resourceRules: s.arr(resourceRule),
      excludeResourceRules: s.arr(resourceRule),
      namespaceSelector: s.any(),
      objectSelector: s.any(),
      matchPolicy: s.str(['Exact', 'Equivalent']),
    }),
    failurePolicy: s.str(['Fail', 'Ignore']),
    auditAnnotations: s.arr(s.obj({ key: str, valueExpression: str })),
    validationActions: s.arr(s.str(['Deny', 'Audit', 'Warn'])),
    matchConditions: s.arr(nameExpr),
    variables: s.arr(nameExpr),
    validationConfigurations: s.obj({ mutateDigest: bool, verifyDigest: bool, required: bool }),
    matchImageReferences: s.arr(s.obj({ glob: str, expression: str })),
    credentials: s.obj({
      allowInsecureRegistry: bool,
      providers: s.arr(s.str(['default', 'amazon', 'azure', 'google', 'github'])),
      secrets: s.strList(),
    }),
    images: s.arr(nameExpr),
    attestors: s.arr(
      s.obj({
        name: str,
        cosign: s.obj({
          key: s.obj({
            data: str,
            kms: str,
            hashAlgorithm: s.str(['', 'sha224', 'sha256', 'sha384', 'sha512']),
            expression: str,
          }),
          keyless: s.obj({
            identities: s.arr(
              s.obj({ subject: str, subjectRegExp: str, subjectExpression: str, issuer: str, issuerRegExp: str }),
            ),
            roots: str,
            additionalExtensions: s.strMap(),
          }),
          certificate: s.obj({ cert: certValue, certChain: certValue }),
          source: s.obj({ repository: str, PullSecrets: s.arr(s.obj({ name: str })), tagPrefix: str }),
          ctlog: s.obj({
            url: str,
            rekorPubKey: str,
            ctLogPubKey: str,
            tsaCertChain: str,
            insecureIgnoreTlog: bool,
            insecureIgnoreSCT: bool,
          }),
          tuf: s.obj({ root: s.obj({ path: str, data: str }), mirror: str }),
          trustedRoot: s.union(str, strOrExpr),
          annotations: s.strMap(),
        }),
        notary: s.obj({ certs: certValue, tsaCerts: certValue }),
      }),
    ),
    attestations: s.arr(s.obj({ name: str, intoto: s.obj({ type: str }), referrer: s.obj({ type: str }) })),
    validations: s.arr(s.obj({ expression: str, message: str, messageExpression: str, reason: str })),
    webhookConfiguration: s.obj({ timeoutSeconds: s.int() }),
    evaluation: s.obj({
      admission: s.obj({ enabled: bool }),
      background: s.obj({ enabled: bool }),
      mode: s.str(['Kubernetes', 'JSON']),
    }),
    autogen: s.obj({ podControllers: s.obj({ controllers: s.strList() }) }),
  };
  if (native) spec['rules'] = s.arr(s.obj({ name: str, params: s.map(s.any()) }));
  return s.obj({ apiVersion: str, kind: str, metadata: metadataSchema, spec: s.obj(spec), status: s.any() });
}

export const imageValidatingPolicySchema = buildSchema(false);
export const imagePolicySchema = buildSchema(true);

function toStringOrExpression(v: unknown, path: string, diag: DiagnosticCollector): StringOrExpression | undefined {
  if (typeof v === 'string') return { value: v };
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Obj;
  const value = getStr(o, 'value');
  const expression = getStr(o, 'expression');
  if ((value === undefined) === (expression === undefined)) {
    diag.error(path, `${path}: exactly one of value or expression must be set`);
  }
  const out: StringOrExpression = {};
  if (value !== undefined) out.value = value;
  if (expression !== undefined) out.expression = expression;
  return out;
}

/**
 * An attestor's own trust root: inline trusted_root.json (a JSON object) or
 * the path of one, read when the policy is loaded. Checked here, so that a
 * malformed root is a load error, never a verification that silently uses
 * another root.
 */
function readTrustedRootValue(value: string, path: string, diag: DiagnosticCollector): string | undefined {
  let text = value.trim();
  if (!text.startsWith('{')) {
    try {
      text = readFileSync(text, 'utf8');
    } catch (e) {
      diag.error(
        path,
        `${path}: cannot read the trusted root file ${JSON.stringify(value.trim())}: ${
          (e as NodeJS.ErrnoException).code ?? (e as Error).message
        }`,
      );
      return undefined;
    }
  }
  try {
    parseTrustedRoot(text, path);
  } catch (e) {
    diag.error(path, `${path}: ${(e as Error).message}`);
    return undefined;
  }
  return text;
}

function uniqueName(
  name: string | undefined,
  path: string,
  seen: Set<string>,
  what: string,
  diag: DiagnosticCollector,
): string {
  if (!name) {
    diag.error(path, `${path}.name: Required value: ${what} need a name`);
    return '';
  }
  if (seen.has(name)) diag.error(`${path}.name`, `${path}.name: Duplicate value: ${JSON.stringify(name)}`);
  seen.add(name);
  return name;
}

function toAttestor(o: Obj, path: string, ctx: BuildContext, seen: Set<string>): IvAttestor {
  const { diag } = ctx;
  const att: IvAttestor = { name: uniqueName(getStr(o, 'name'), path, seen, 'attestors', diag), path };
  const cosign = getObj(o, 'cosign');
  const notary = getObj(o, 'notary');
  if (!!cosign === !!notary) diag.error(path, `${path}: exactly one of cosign or notary must be set`);
  if (notary) {
    att.notary = {};
    const certs = toStringOrExpression(notary['certs'], `${path}.notary.certs`, diag);
    if (certs) att.notary.certs = certs;
    const tsa = toStringOrExpression(notary['tsaCerts'], `${path}.notary.tsaCerts`, diag);
    if (tsa) att.notary.tsaCerts = tsa;
    if (!certs) {
      diag.warn(
        `${path}.notary`,
        `${path}.notary: no certs: there is nothing to verify Notary signatures with, verifications using this attestor fail`,
        true,
      );
    }
    diag.info(
      `${path}.notary`,
      `${path}.notary: sigward checks no certificate revocation (it has no network): a signature whose certificate chain names OCSP or CRL endpoints is denied, where Kyverno asks them online`,
      true,
    );
  }
  if (!cosign) return att;

  const cp = `${path}.cosign`;
  const c: IvCosign = { annotations: getStrMap(cosign, 'annotations') };
  const modes = (['key', 'keyless', 'certificate'] as const).filter((k) => has(cosign, k));
  if (modes.length !== 1) {
    diag.error(
      cp,
      `${cp}: exactly one of key, keyless or certificate must be set${
        modes.length > 1 ? ` (found ${modes.join(', ')})` : ''
      }`,
    );
  }

  const key = getObj(cosign, 'key');
  if (key) {
    const kp = `${cp}.key`;
    const data = getStr(key, 'data');
    const kms = getStr(key, 'kms');
    const expression = getStr(key, 'expression');
    const n = [data, kms, expression].filter((x) => x !== undefined && x !== '').length;
    if (n !== 1) diag.error(kp, `${kp}: exactly one of data, kms or expression must be set`);
    c.key = { hashAlgorithm: (getStr(key, 'hashAlgorithm') || 'sha256') as HashAlgorithm };
    if (data) {
      c.key.data = data;
      c.key.source = toKeySource(data, ctx.resolveSecret, 'provide the public key with key.data');
      if (c.key.source.kind === 'pem' && splitPublicKeys(data).length > 1) {
        diag.warn(
          `${kp}.data`,
          `${kp}.data holds ${
            splitPublicKeys(data).length
          } public keys: a signature verified by any of them counts; declare one attestor per key to require several`,
        );
      }
    } else if (kms) {
      c.key.kms = kms;
      c.key.source = toKeySource(kms, ctx.resolveSecret, 'provide the public key with key.data');
    }
    if (expression) c.key.expression = expression;
    const unresolved = getUnresolved(c.key.source);
    if (unresolved) diag.warn(data ? `${kp}.data` : `${kp}.kms`, `${kp}: ${unresolved}`);
  }

  const keyless = getObj(cosign, 'keyless');
  if (keyless) {
    const kp = `${cp}.keyless`;
    const identities = getObjArr(keyless, 'identities').map((id, i) => {
      const ip = `${kp}.identities[${i}]`;
      const out: NonNullable<IvCosign['keyless']>['identities'][number] = {};
      for (const f of ['subject', 'subjectRegExp', 'subjectExpression', 'issuer', 'issuerRegExp'] as const) {
        const v = getStr(id, f);
        if (v !== undefined) out[f] = v;
      }
      for (const f of ['subjectRegExp', 'issuerRegExp'] as const) checkRegExp(diag, `${ip}.${f}`, out[f]);
      if (!out.subject && !out.subjectRegExp && !out.subjectExpression) {
        diag.warn(ip, `${ip}: no subject: any signer identity is accepted`);
      }
      if (!out.issuer && !out.issuerRegExp) diag.warn(ip, `${ip}: no issuer: any OIDC issuer is accepted`);
      return out;
    });
    if (identities.length === 0) diag.error(kp, `${kp}.identities: Required value: at least one identity is required`);
    c.keyless = { identities, additionalExtensions: getStrMap(keyless, 'additionalExtensions') };
    const roots = getStr(keyless, 'roots');
    if (roots !== undefined) c.keyless.roots = roots;
  }

  const cert = getObj(cosign, 'certificate');
  if (cert) {
    const kp = `${cp}.certificate`;
    c.certificate = {};
    const cv = toStringOrExpression(cert['cert'], `${kp}.cert`, diag);
    if (cv) c.certificate.cert = cv;
    const ch = toStringOrExpression(cert['certChain'], `${kp}.certChain`, diag);
    if (ch) c.certificate.certChain = ch;
    if (!cv && !ch) diag.error(kp, `${kp}: cert or certChain required`);
  }

  const ctlog = getObj(cosign, 'ctlog');
  if (ctlog) {
    c.ctlog = {
      insecureIgnoreTlog: getBool(ctlog, 'insecureIgnoreTlog') ?? false,
      insecureIgnoreSCT: getBool(ctlog, 'insecureIgnoreSCT') ?? false,
    };
    for (const f of ['url', 'rekorPubKey', 'ctLogPubKey', 'tsaCertChain'] as const) {
      const v = getStr(ctlog, f);
      if (v !== undefined) c.ctlog[f] = v;
    }
  }
  const tuf = getObj(cosign, 'tuf');
  if (tuf) {
    c.tuf = {};
    const root = getObj(tuf, 'root');
    if (root) {
      c.tuf.root = {};
      const p = getStr(root, 'path');
      if (p !== undefined) c.tuf.root.path = p;
      const d = getStr(root, 'data');
      if (d !== undefined) c.tuf.root.data = d;
    }
    const mirror = getStr(tuf, 'mirror');
    if (mirror !== undefined) c.tuf.mirror = mirror;
  }
  const trustedRoot = toStringOrExpression(cosign?.['trustedRoot'], `${cp}.trustedRoot`, diag);
  if (trustedRoot?.expression !== undefined) {
    diag.error(
      `${cp}.trustedRoot`,
      `${cp}.trustedRoot.expression: sigward cannot evaluate a trust root expression: give the trusted_root.json as value (inline JSON or a file path)`,
    );
  } else if (trustedRoot?.value !== undefined) {
    const text = readTrustedRootValue(trustedRoot.value, `${cp}.trustedRoot`, diag);
    if (text !== undefined) c.trustedRoot = text;
  }
  if (c.tuf) {
    const at = `${cp}.tuf`;
    diag.warn(
      at,
      `${at}: sigward does not fetch TUF metadata for a policy: ${
        c.trustedRoot !== undefined
          ? "this attestor's trustedRoot"
          : 'the trust root sigward runs with (--trusted-root, SIGSTORE_ROOT_FILE, or the embedded one)'
      } is used; give the trusted_root.json as trustedRoot to pin this attestor to its own root`,
    );
  }
  if (c.ctlog?.tsaCertChain?.trim()) {
    diag.warn(
      `${cp}.ctlog.tsaCertChain`,
      `${cp}.ctlog.tsaCertChain: not used by sigward: signing times come from the transparency log or the trust root's timestamp authorities`,
    );
  }
  const source = getObj(cosign, 'source');
  if (source) {
    c.source = { pullSecrets: getObjArr(source, 'PullSecrets').map((x) => getStr(x, 'name') ?? '') };
    const repo = getStr(source, 'repository');
    if (repo !== undefined) c.source.repository = repo;
    const tp = getStr(source, 'tagPrefix');
    if (tp !== undefined) c.source.tagPrefix = tp;
    if (tp) {
      diag.warn(
        `${cp}.source.tagPrefix`,
        `${cp}.source.tagPrefix: signature tag prefixes are not supported by sigward: verifications using this attestor fail`,
        true,
      );
    }
  }
  att.cosign = c;
  return att;
}

/** Variables of a sigward ImagePolicy's validations. */
const NATIVE_VALIDATION_VARIABLES = ['image', 'signatures', 'attestations', 'now'];

/**
 * Compiles every CEL expression of the policy once, as the API server does
 * when the policy is created: a syntax error, an undeclared variable, an
 * unknown function or one sigward cannot answer offline (http.Get, ...) is an
 * error of the policy, reported with its path, not a failure at admission.
 */
function checkExpressions(policy: ImageValidatingPolicy, diag: DiagnosticCollector): void {
  const check = (path: string, expr: string, variables: readonly string[], library?: CelFunctionLibrary) => {
    if (!expr) return;
    try {
      compileCel(expr, library ? { variables, library } : { variables });
    } catch (e) {
      diag.error(path, `${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const spec = policy.spec;
  if (policy.format === 'sigward') {
    for (const v of spec.validations) check(`${v.path}.expression`, v.expression, NATIVE_VALIDATION_VARIABLES);
    return;
  }
  const lib = KYVERNO_IMAGE_LIBRARY;
  spec.matchConditions.forEach((m, i) =>
    check(`spec.matchConditions[${i}].expression`, m.expression, IVPOL_MATCH_VARIABLES, lib)
  );
  spec.matchImageReferences.forEach((m, i) =>
    m.expression !== undefined && check(`spec.matchImageReferences[${i}].expression`, m.expression, ['ref'], lib)
  );
  spec.images.forEach((m, i) => check(`spec.images[${i}].expression`, m.expression, IVPOL_VARIABLES, lib));
  spec.variables.forEach((m, i) => check(`spec.variables[${i}].expression`, m.expression, IVPOL_VARIABLES, lib));
  for (const v of spec.validations) {
    check(`${v.path}.expression`, v.expression, IVPOL_VARIABLES, lib);
    if (v.messageExpression) check(`${v.path}.messageExpression`, v.messageExpression, IVPOL_VARIABLES, lib);
  }
}

export function toImageValidatingPolicy(
  doc: Obj,
  source: Omit<PolicySource, 'locations'>,
  ctx: BuildContext,
  builtinRules?: readonly string[],
): ImageValidatingPolicy {
  const { diag } = ctx;
  const kindRaw = getStr(doc, 'kind');
  const kind = kindRaw === 'ImagePolicy'
    ? 'ImagePolicy'
    : kindRaw === 'NamespacedImageValidatingPolicy'
    ? 'NamespacedImageValidatingPolicy'
    : 'ImageValidatingPolicy';
  const native = kind === 'ImagePolicy';
  const metadata = toMetadata(getObj(doc, 'metadata'), ctx, kind === 'NamespacedImageValidatingPolicy');
  const spec = getObj(doc, 'spec');
  if (!spec) diag.error('spec', 'spec: Required value: a policy needs a spec');

  const actions = getStrArr(spec, 'validationActions') as ValidationAction[];
  if (new Set(actions).size !== actions.length) {
    diag.error('spec.validationActions', 'spec.validationActions: Duplicate value: each action may appear once');
  }
  if (actions.includes('Deny') && actions.includes('Warn')) {
    diag.error('spec.validationActions', 'spec.validationActions: must not contain both Deny and Warn');
  }

  const timeout = getInt(getObj(spec, 'webhookConfiguration'), 'timeoutSeconds');
  if (timeout !== undefined && (timeout < 1 || timeout > 30)) {
    diag.error(
      'spec.webhookConfiguration.timeoutSeconds',
      `spec.webhookConfiguration.timeoutSeconds: Invalid value: ${timeout}: the timeout value must be between 1 and 30 seconds`,
    );
  }

  const vc = getObj(spec, 'validationConfigurations');
  const matchImageReferences: MatchImageReference[] = [];
  getObjArr(spec, 'matchImageReferences').forEach((m, i) => {
    const p = `spec.matchImageReferences[${i}]`;
    const glob = getStr(m, 'glob');
    const expression = getStr(m, 'expression');
    if ((glob === undefined) === (expression === undefined)) {
      diag.error(p, `${p}: exactly one of glob or expression must be set`);
    }
    if (glob !== undefined) matchImageReferences.push({ glob });
    else if (expression !== undefined) matchImageReferences.push({ expression });
  });

  const attestorNames = new Set<string>();
  const attestors = getObjArr(spec, 'attestors').map((a, i) =>
    toAttestor(a, `spec.attestors[${i}]`, ctx, attestorNames)
  );

  const attestationNames = new Set<string>();
  const attestations: IvAttestation[] = getObjArr(spec, 'attestations').map((a, i) => {
    const p = `spec.attestations[${i}]`;
    const att: IvAttestation = {
      name: uniqueName(getStr(a, 'name'), p, attestationNames, 'attestations', diag),
      path: p,
    };
    const intoto = getObj(a, 'intoto');
    const referrer = getObj(a, 'referrer');
    if (!!intoto === !!referrer) diag.error(p, `${p}: exactly one of intoto or referrer must be set`);
    if (intoto) {
      const t = getStr(intoto, 'type');
      if (!t) diag.error(`${p}.intoto`, `${p}.intoto.type: Required value`);
      att.intoto = { type: t ?? '' };
    }
    if (referrer) {
      const t = getStr(referrer, 'type');
      if (!t) diag.error(`${p}.referrer`, `${p}.referrer.type: Required value`);
      att.referrer = { type: t ?? '' };
    }
    return att;
  });

  const validations: IvValidation[] = getObjArr(spec, 'validations').map((v, i) => {
    const p = `spec.validations[${i}]`;
    const expression = getStr(v, 'expression') ?? '';
    if (!expression) diag.error(p, `${p}.expression: Required value`);
    const out: IvValidation = { path: p, expression };
    for (const f of ['message', 'messageExpression', 'reason'] as const) {
      const x = getStr(v, f);
      if (x !== undefined) out[f] = x;
    }
    return out;
  });

  const rules: IvBuiltinRule[] = getObjArr(spec, 'rules').map((r, i) => {
    const p = `spec.rules[${i}]`;
    const name = getStr(r, 'name') ?? '';
    if (!name) diag.error(p, `${p}.name: Required value: name one of sigward's built-in rules`);
    else if (builtinRules && !builtinRules.includes(name)) {
      const hint = didYouMean(name, builtinRules);
      diag.error(
        `${p}.name`,
        `${p}.name: unknown rule ${JSON.stringify(name)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
      );
    }
    return { path: p, name, params: getObj(r, 'params') ?? {} };
  });

  if (spec) {
    if (native && validations.length === 0 && rules.length === 0) {
      diag.error('spec', 'spec: at least one of validations or rules is required');
    }
    if (!native && validations.length === 0) {
      diag.error('spec', 'spec.validations: Required value: at least one validation is required');
    }
    if (attestors.length === 0 && attestations.length === 0 && rules.length === 0) {
      diag.warn('spec', 'spec: no attestors: images cannot be verified by this policy');
    }
  }

  const evaluation = getObj(spec, 'evaluation');
  const creds = getObj(spec, 'credentials');
  if (creds && getStrArr(creds, 'providers').length) {
    diag.warn(
      'spec.credentials.providers',
      "spec.credentials.providers: cloud credential helpers (ECR, GCR, ACR) are not run by sigward offline: give the registry's pull Secret in secrets, or sigward's own registry credentials",
    );
  }
  if (getBool(getObj(evaluation, 'background'), 'enabled') === true) {
    diag.warn(
      'spec.evaluation.background',
      'spec.evaluation.background: sigward runs no background scans: the policy is evaluated at admission, in `sigward check` and on the node only',
    );
  }
  if (getObjArr(spec, 'auditAnnotations').length) {
    diag.warn(
      'spec.auditAnnotations',
      'spec.auditAnnotations: not written: sigward adds no audit annotations to admission responses',
    );
  }
  const out: ImageValidatingPolicy = {
    format: native ? 'sigward' : 'ivpol',
    apiVersion: getStr(doc, 'apiVersion') ?? '',
    kind,
    metadata,
    spec: {
      matchConditions: getObjArr(spec, 'matchConditions').map((m) => ({
        name: getStr(m, 'name') ?? '',
        expression: getStr(m, 'expression') ?? '',
      })),
      variables: getObjArr(spec, 'variables').map((m) => ({
        name: getStr(m, 'name') ?? '',
        expression: getStr(m, 'expression') ?? '',
      })),
      failurePolicy: (getStr(spec, 'failurePolicy') as FailurePolicy | undefined) ?? 'Fail',
      validationActions: actions.length > 0 ? actions : ['Deny'],
      validationConfigurations: {
        mutateDigest: getBool(vc, 'mutateDigest') ?? true,
        verifyDigest: getBool(vc, 'verifyDigest') ?? true,
        required: getBool(vc, 'required') ?? true,
      },
      matchImageReferences,
      images: getObjArr(spec, 'images').map((m) => ({
        name: getStr(m, 'name') ?? '',
        expression: getStr(m, 'expression') ?? '',
      })),
      attestors,
      attestations,
      validations,
      rules,
      auditAnnotations: getObjArr(spec, 'auditAnnotations').map((m) => ({
        key: getStr(m, 'key') ?? '',
        valueExpression: getStr(m, 'valueExpression') ?? '',
      })),
      evaluation: {
        admission: getBool(getObj(evaluation, 'admission'), 'enabled') ?? true,
        background: getBool(getObj(evaluation, 'background'), 'enabled') ?? true,
        mode: (getStr(evaluation, 'mode') as 'Kubernetes' | 'JSON' | undefined) ?? 'Kubernetes',
      },
    },
    source: { ...source, locations: diag.toLocationRecord() },
  };
  checkExpressions(out, diag);
  const mc = getObj(spec, 'matchConstraints');
  if (mc) out.spec.matchConstraints = mc;
  if (creds) {
    out.spec.credentials = {
      allowInsecureRegistry: getBool(creds, 'allowInsecureRegistry') ?? false,
      providers: getStrArr(creds, 'providers'),
      secrets: getStrArr(creds, 'secrets'),
    };
  }
  if (timeout !== undefined) out.spec.timeoutSeconds = timeout;
  const pc = getObj(getObj(spec, 'autogen'), 'podControllers');
  if (pc && has(pc, 'controllers')) out.spec.autogenControllers = getStrArr(pc, 'controllers');
  return out;
}
