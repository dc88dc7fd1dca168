// `sigward verify-attestation IMAGE --type T [attestor flags] [--condition CEL | --policy FILE.cel | --rule NAME --param k=v]`
// and, for scripts, `--bundle FILE` (a Sigstore bundle or a DSSE envelope)
// with `--subject-digest sha256:...` or a subject FILE.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EXIT_CODES, SigwardError, toSigwardError } from '../../lib/errors.ts';
import { parseReference } from '../../lib/reference/index.ts';
import { signatureRepository } from '../../lib/oci/index.ts';
import { resolveDigest, toRepositoryRef } from '../../lib/cosign/image.ts';
import type { Attestor } from '../../lib/cosign/checks.ts';
import { toSignatureCheck } from '../../lib/cosign/signature-check.ts';
import { verifySignatureBytes } from '../../lib/cosign/keys.ts';
import {
  type RejectedAttestation,
  type VerifiedAttestation,
  verifyImageAttestations,
} from '../../lib/attest/verify.ts';
import { toEnvelope, toPAE, verifyInTotoPayloadType } from '../../lib/attest/dsse.ts';
import { toStatement, verifyPredicateType, verifySubjectDigest } from '../../lib/attest/statement.ts';
import { toPredicateType } from '../../lib/attest/predicates.ts';
import { type Gate, type GateResult, parseParams, toCelGate, toRuleGate } from '../../lib/attest/gate.ts';
import type { SignerInfo } from '../../lib/cosign/verify.ts';
import { type Trust, verifyBundle } from '../../lib/trust/index.ts';
import { errorToJson, printJson, printNotAllowed } from '../output.ts';
import type { Context } from './types.ts';
import type { SigwardCommand } from './types.ts';
import { addRegistryOptions, storeFactoryFromArgs } from './registry-options.ts';
import { toLocalImage } from './verify.ts';
import { addAttestorOptions, attestorFromArgs, readKeyArg } from './attestor-options.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import { repeatable } from '../flags.ts';
import { addCosignFlags, applyCosignFlags } from '../cosign-flags.ts';

interface Checked {
  source: string;
  statement: VerifiedAttestation['statement'];
  signer: SignerInfo;
  result: GateResult;
}

function gateFromArgs(args: Record<string, unknown>, predicateType: string): Gate | undefined {
  const given = ['condition', 'policy', 'rule'].filter((k) => args[k] !== undefined);
  if (given.length > 1) throw new SigwardError('CONFIG_INVALID', 'use one of --condition, --policy or --rule');
  if (typeof args.condition === 'string') return toCelGate(args.condition, 'condition');
  if (typeof args.policy === 'string') {
    let text: string;
    try {
      text = readFileSync(args.policy, 'utf8');
    } catch (e) {
      throw new SigwardError('CONFIG_INVALID', `cannot read CEL policy ${args.policy}`, { cause: e });
    }
    const expr = text
      .split('\n')
      .filter((l) => !/^\s*(#|\/\/)/.test(l))
      .join('\n')
      .trim();
    if (!expr) throw new SigwardError('CONFIG_INVALID', `CEL policy ${args.policy} is empty`);
    return toCelGate(expr, `policy ${args.policy}`);
  }
  if (typeof args.rule === 'string') {
    return toRuleGate(args.rule, parseParams(args.param as string[] | undefined), predicateType);
  }
  if (args.param) throw new SigwardError('CONFIG_INVALID', '--param needs --rule');
  return undefined;
}

function signerVars(s: SignerInfo) {
  return {
    identity: s.identity?.subject ?? s.keyId ?? '',
    issuer: s.identity?.issuer ?? '',
    extensions: s.identity?.extensions ?? {},
  };
}

function sha256File(path: string): string {
  try {
    return 'sha256:' + createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (e) {
    throw new SigwardError('CONFIG_INVALID', `cannot read subject file ${path}`, { cause: e });
  }
}

/** Local mode: a Sigstore bundle or a bare DSSE envelope file. */
async function verifyLocal(
  args: Record<string, unknown>,
  attestor: Attestor,
  trust: Trust,
  predicateType: string,
): Promise<{ digest: string; statements: { statement: VerifiedAttestation['statement']; signer: SignerInfo }[] }> {
  const file = args.bundle as string;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SigwardError('CONFIG_INVALID', `cannot read bundle ${file}: ${(e as Error).message}`, { cause: e });
  }
  const given = args['subject-digest'];
  const subjectArg = Array.isArray(given) ? (given[given.length - 1] as string) : (given as string | undefined);
  const subject = typeof subjectArg === 'string'
    ? subjectArg
    : typeof args.image === 'string'
    ? sha256File(args.image)
    : undefined;
  if (!subject) {
    throw new SigwardError(
      'CONFIG_INVALID',
      '--bundle needs --subject-digest sha256:<hex> or the subject FILE as argument',
    );
  }
  if (typeof json.mediaType === 'string' && json.mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
    const policy = attestor.kind === 'key'
      ? { publicKey: attestor.keys[0]!.key }
      : attestor.kind === 'keyless'
      ? attestor.policy
      : (attestor.policy ?? {});
    const v = verifyBundle(json, {
      digest: subject,
      trust,
      policy,
      ignoreTlog: attestor.ignoreTlog,
      ignoreSCT: attestor.ignoreSCT,
    });
    if (!v.statement) throw new SigwardError('ATTESTATION_INVALID', 'the bundle holds no in-toto statement');
    // verifyBundle parsed the statement with toStatement (lib/attest/statement.ts)
    const st = v.statement;
    verifySubjectDigest(st, subject);
    verifyPredicateType(st, predicateType);
    const id = v.signer.identity;
    return {
      digest: subject,
      statements: [{
        statement: st,
        signer: {
          kind: id ? 'keyless' : 'key',
          keyId: v.signer.keyId,
          ...(id ? { identity: { subject: id.san, issuer: id.issuer, extensions: id.extensions } } : {}),
        },
      }],
    };
  }
  // bare DSSE envelope (cosign attest-blob without a bundle): key only, no transparency log
  if (attestor.kind !== 'key') {
    throw new SigwardError('CONFIG_INVALID', 'a bare DSSE envelope can only be verified with --key');
  }
  if (!attestor.ignoreTlog) {
    throw new SigwardError(
      'TLOG_MISSING',
      'a bare DSSE envelope has no transparency log entry: use a Sigstore bundle, or --insecure-ignore-tlog',
    );
  }
  const env = toEnvelope(Buffer.from(JSON.stringify(json)));
  verifyInTotoPayloadType(env);
  const pae = toPAE(env.payloadType, env.payload);
  const key = attestor.keys.find((k) =>
    env.signatures.some((s) => verifySignatureBytes(k.key, pae, s.sig, attestor.hash))
  );
  if (!key) throw new SigwardError('SIGNATURE_INVALID', 'invalid signature');
  const st = toStatement(env.payload);
  verifySubjectDigest(st, subject);
  verifyPredicateType(st, predicateType);
  return { digest: subject, statements: [{ statement: st, signer: { kind: 'key', keyId: key.id } }] };
}

export const verifyAttestationCommand: SigwardCommand = {
  builder: (y) =>
    addCosignFlags(addTrustOptions(
      addRegistryOptions(
        addAttestorOptions(
          y
            .positional('image', { type: 'string', describe: 'image reference, or with --bundle the subject file' })
            .option('type', {
              type: 'string',
              default: 'custom',
              describe:
                'predicate type: cosign shortcut (slsaprovenance, slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, custom, ...) or URI',
            })
            .option('condition', { type: 'string', describe: 'CEL expression every statement must satisfy' })
            .option('policy', { type: 'string', describe: 'file holding one CEL expression' })
            .option('rule', { type: 'string', describe: 'built-in rule name (see rules/README.md)' })
            .option('param', repeatable({ describe: 'rule parameter key=value (repeatable; lists comma separated)' }))
            .option('bundle', {
              type: 'string',
              describe: 'verify a local Sigstore bundle or DSSE envelope instead of a registry image',
            })
            .option('subject-digest', { type: 'string', describe: 'with --bundle: the subject digest sha256:<hex>' })
            .option('signature-repository', {
              type: 'string',
              describe: 'repository holding the attestations (like COSIGN_REPOSITORY)',
            })
            .option('local-image', {
              type: 'boolean',
              default: false,
              describe:
                "the image is a directory written by 'cosign save' (or any OCI layout), as cosign --local-image",
            }),
        ),
      ),
    )),
  handler: async (args, ctx) => {
    const json = args.output === 'json';
    const predicateType = toPredicateType(String(args.type ?? 'custom'));
    let digest: string | undefined;
    try {
      for (const w of applyCosignFlags(args)) ctx.warn(w);
      const attestor = attestorFromArgs(args, ctx.env, ctx.warn);
      const trust = await trustFromArgs(args, ctx);
      const gate = gateFromArgs(args, predicateType);
      const now = new Date();
      let found: { statement: VerifiedAttestation['statement']; signer: SignerInfo; source: string }[] = [];
      let rejected: RejectedAttestation[] = [];
      let imageInfo: { registry: string; repository: string; tag: string; digest: string } | undefined;
      if (typeof args.bundle === 'string') {
        const r = await verifyLocal(args, attestor, trust, predicateType);
        digest = r.digest;
        found = r.statements.map((s) => ({ ...s, source: args.bundle as string }));
      } else {
        if (typeof args.image !== 'string') {
          throw new SigwardError('CONFIG_INVALID', 'an image reference is required (or --bundle)');
        }
        const ref = parseReference(args['local-image'] ? toLocalImage(args.image) : args.image);
        const stores = storeFactoryFromArgs(args, ctx);
        digest = await resolveDigest(ref, stores);
        const override = (args['signature-repository'] as string | undefined) ?? ctx.env.COSIGN_REPOSITORY;
        const repo = override ? signatureRepository(toRepositoryRef(ref), override) : toRepositoryRef(ref);
        const r = await verifyImageAttestations({
          store: stores(repo),
          signatureRepository: repo,
          digest,
          ...toSignatureCheck(attestor, trust),
          predicateType,
        });
        found = r.verified.map((v) => ({
          statement: v.statement,
          signer: v.signer,
          source: v.source ?? `${r.attestationTag} layer ${v.layer}`,
        }));
        rejected = r.rejected;
        imageInfo = { registry: ref.registry, repository: ref.repository, tag: ref.tag ?? '', digest };
      }
      const checked: Checked[] = found.map((f) => ({
        ...f,
        result: gate
          ? gate.evaluate({ statement: f.statement, image: imageInfo, signer: signerVars(f.signer), now })
          : { passed: true, failures: [] },
      }));
      const passed = checked.length > 0 && checked.every((c) => c.result.passed);
      if (args.output === 'cosign') {
        // cosign prints one DSSE envelope line per verified attestation; sigward prints the envelope of
        // each attestation that passed, its payload the verified statement (re-encoded, signatures omitted)
        for (const c of checked) {
          if (!c.result.passed) continue;
          const payload = Buffer.from(JSON.stringify(c.statement)).toString('base64');
          ctx.io.stdout(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload }) + '\n');
        }
        if (!passed) {
          ctx.io.stderr(
            `Error: ${checked.length} verified attestation${checked.length === 1 ? '' : 's'} of type ${predicateType}${
              checked.length ? ', not all checks passed' : ''
            }\n`,
          );
        }
      } else if (json) {
        printJson(ctx.io, {
          schema: 'sigward.verify-attestation/v1',
          verified: passed,
          subject: args.image ?? null,
          digest,
          predicateType,
          check: gate?.describe ?? null,
          statements: checked.map((c) => ({
            source: c.source,
            signer: c.signer,
            passed: c.result.passed,
            failures: c.result.failures,
            statement: c.statement,
          })),
          rejected,
        });
      } else {
        for (const c of checked) {
          ctx.io.stdout(
            `${c.result.passed ? 'pass' : 'fail'} ${predicateType} (${c.source}, signer ${
              c.signer.identity?.subject ?? c.signer.keyId ?? c.signer.kind
            })${gate ? ': ' + gate.describe : ''}\n`,
          );
          for (const f of c.result.failures) ctx.io.stdout(`  - ${f}\n`);
        }
        ctx.io.stdout(
          `${passed ? 'allow' : 'deny'} ${args.image ?? args.bundle}: ${checked.length} verified attestation${
            checked.length === 1 ? '' : 's'
          } of type ${predicateType}${passed ? '' : ', not all checks passed'}\n`,
        );
      }
      return passed ? 0 : EXIT_CODES.deny;
    } catch (e) {
      const err = toSigwardError(e);
      if (json) {
        printJson(ctx.io, {
          schema: 'sigward.verify-attestation/v1',
          verified: false,
          subject: args.image ?? null,
          ...(digest ? { digest } : {}),
          predicateType,
          error: errorToJson(err),
        });
      } else if (err.outcome === 'usage') ctx.io.stderr(`Error: ${err.message}\n`);
      else {
        const text = `${args.image ?? args.bundle}: attestation verification failed: ${err.message}`;
        if (args.output === 'cosign') ctx.io.stderr(`Error: ${text}\n`);
        else printNotAllowed(ctx.io, err.outcome, text);
      }
      return EXIT_CODES[err.outcome];
    }
  },
};
