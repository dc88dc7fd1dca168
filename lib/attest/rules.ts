// Built-in rules: named, documented sets of CEL validations over an
// attestation's predicate that a user picks with `--rule NAME --param k=v`
// instead of writing conditions. A rule is data (rules/*.json, bundled through
// rules/index.ts); this module validates that data, turns CLI parameter strings
// into typed CEL values, compiles every expression once and evaluates a
// compiled rule against the variables of one attestation.
//
// Rule format (see rules/README.md):
//   { name, description, predicateTypes: [URI | "prefix*"],
//     params: { NAME: { type, description, default?, required?, enum? } },
//     variables?: [ { name, expression } ],
//     validations: [ { expression, message, detail? } ] }
// Expressions may be a string or an array of lines (joined with "\n"). They see
// the attestation variables (predicate, statement, subject, image, signer, now),
// `params` (every parameter that has a value; optional parameters without a
// default are absent, test them with has(params.x)) and `variables` (the values
// of the rule's variables; a variable may read the variables defined before it;
// each is evaluated at most once per evaluation, when first read, and an error
// in it fails only the validations that read it). Parameter values are bound at
// evaluation time, never pasted into CEL text. Each expression gets only the
// bindings it names: every binding is converted for CEL at every evaluation,
// and a predicate can hold thousands of components or findings.
//
// Parameter types and their CEL values:
//   string -> string, int -> int, double -> double, bool -> bool,
//   list -> list of strings (CLI: comma-separated, repeatable; trimmed, empty
//   entries and duplicates dropped), duration -> google.protobuf.Duration (Go
//   duration text, e.g. 168h).
// `message` may name parameters as {{name}}; it is rendered once, at compile
// time. `detail` is a CEL expression yielding a string that is appended to the
// message (": detail") when the validation fails.

import { SigwardError } from '../errors.ts';
import { ATTESTATION_VARIABLES, compileCel, type CompiledCel } from '../conditions/cel.ts';
import { CelDuration } from '../conditions/cel-values.ts';
import { RESERVED as CEL_RESERVED } from '../conditions/cel-parser.ts';
import { formatGoDuration, parseGoDuration } from '../conditions/go-duration.ts';
import { toPredicateType } from './predicates.ts';
import { BUILTIN_RULES } from '../../rules/index.ts';

export type RuleParamType = 'string' | 'int' | 'double' | 'bool' | 'list' | 'duration';

const PARAM_TYPES: readonly RuleParamType[] = ['string', 'int', 'double', 'bool', 'list', 'duration'];

export interface RuleParamSpec {
  readonly type: RuleParamType;
  readonly description: string;
  /** Default in its JSON form: string, number, boolean or array of strings. */
  readonly default?: string | number | boolean | readonly string[];
  readonly required?: boolean;
  /** Allowed values of a string parameter (matched case-insensitively, stored as spelled here). */
  readonly enum?: readonly string[];
}

export interface RuleVariableSpec {
  readonly name: string;
  readonly expression: string;
}

export interface RuleValidationSpec {
  readonly expression: string;
  /** Failure message; {{param}} placeholders are replaced by parameter values. */
  readonly message: string;
  /** CEL expression (string result) appended to the message on failure. */
  readonly detail?: string;
}

export interface RuleSpec {
  readonly name: string;
  readonly description: string;
  /** Predicate type URIs; an entry ending in "*" matches by prefix. */
  readonly predicateTypes: readonly string[];
  readonly params: Readonly<Record<string, RuleParamSpec>>;
  readonly variables: readonly RuleVariableSpec[];
  readonly validations: readonly RuleValidationSpec[];
}

/** CEL value of a parameter. */
export type RuleParamValue = string | bigint | number | boolean | readonly string[] | CelDuration;

/** Parameter values as given on the command line (`--param k=v`, repeatable). */
export type RuleParamInput = Record<string, string | readonly string[]>;

/**
 * A compiled expression and what it reads: the top-level variables it names
 * and the rule variables it names (`variables.x`), so that evaluation binds
 * only those (each binding is converted for CEL at every evaluation, and
 * predicates can be large).
 */
export interface CompiledRuleProgram {
  readonly program: CompiledCel;
  readonly uses: readonly string[];
  /** Rule variables read; "all" when `variables` is used other than as `variables.name`. */
  readonly usesVariables: readonly string[] | 'all';
}

export interface CompiledRuleVariable extends CompiledRuleProgram {
  readonly name: string;
}

export interface CompiledRuleValidation extends CompiledRuleProgram {
  /** The message with parameter values filled in. */
  readonly message: string;
  readonly detail?: CompiledRuleProgram;
}

export interface CompiledRule {
  readonly rule: RuleSpec;
  /** Effective parameter values (given or defaulted), as CEL values. */
  readonly params: Readonly<Record<string, RuleParamValue>>;
  readonly variables: readonly CompiledRuleVariable[];
  readonly validations: readonly CompiledRuleValidation[];
}

export interface RuleResult {
  readonly rule: string;
  readonly passed: boolean;
  /** One rendered message per failed validation (empty when passed). */
  readonly failures: string[];
}

/** Free variables of rule expressions. */
export const RULE_VARIABLES: readonly string[] = Object.freeze([...ATTESTATION_VARIABLES, 'params', 'variables']);

const NAME_RE = /^[a-z0-9][a-z0-9.-]*$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLACEHOLDER_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** Names a rule parameter or variable cannot take: CEL's reserved words and its literals. */
const RESERVED_IDENTS: ReadonlySet<string> = new Set([...CEL_RESERVED, 'true', 'false', 'null', 'in']);

function invalid(message: string, detail?: Record<string, unknown>, cause?: unknown): SigwardError {
  return new SigwardError('CONDITION_INVALID', message, { detail, cause });
}

// ---------------------------------------------------------------------------
// Rule data

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toExpressionText(v: unknown, where: string): string {
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (Array.isArray(v) && v.length > 0 && v.every((l) => typeof l === 'string')) return v.join('\n');
  throw invalid(`${where}: expression must be a non-empty string or array of lines`);
}

function toParamSpec(v: unknown, where: string): RuleParamSpec {
  if (!isRecord(v)) throw invalid(`${where}: must be an object`);
  for (const k of Object.keys(v)) {
    if (!['type', 'description', 'default', 'required', 'enum'].includes(k)) {
      throw invalid(`${where}: unknown field "${k}"`);
    }
  }
  const type = v.type as RuleParamType;
  if (!PARAM_TYPES.includes(type)) throw invalid(`${where}: type must be one of ${PARAM_TYPES.join(', ')}`);
  if (typeof v.description !== 'string' || v.description === '') throw invalid(`${where}: description is required`);
  if (v.required !== undefined && typeof v.required !== 'boolean') {
    throw invalid(`${where}: required must be a boolean`);
  }
  if (v.required === true && v.default !== undefined) throw invalid(`${where}: a required parameter has no default`);
  let enumValues: readonly string[] | undefined;
  if (v.enum !== undefined) {
    if (type !== 'string') throw invalid(`${where}: enum is only allowed for string parameters`);
    if (!Array.isArray(v.enum) || v.enum.length === 0 || !v.enum.every((e) => typeof e === 'string' && e !== '')) {
      throw invalid(`${where}: enum must be a non-empty array of strings`);
    }
    enumValues = Object.freeze([...(v.enum as string[])]);
  }
  let def: RuleParamSpec['default'];
  if (v.default !== undefined) {
    const d = v.default;
    if (Array.isArray(d)) {
      if (!d.every((e) => typeof e === 'string')) throw invalid(`${where}: default list must hold strings`);
      def = Object.freeze([...(d as string[])]);
    } else if (typeof d === 'string' || typeof d === 'number' || typeof d === 'boolean') {
      def = d;
    } else {
      throw invalid(`${where}: default must be a string, number, boolean or array of strings`);
    }
  }
  const spec: RuleParamSpec = Object.freeze({
    type,
    description: v.description,
    ...(def !== undefined ? { default: def } : {}),
    ...(v.required === true ? { required: true } : {}),
    ...(enumValues ? { enum: enumValues } : {}),
  });
  // the default must itself be a valid value
  if (def !== undefined) coerceDefault(spec, def, where);
  return spec;
}

/**
 * Validates rule data (the parsed JSON of a rule file) and returns it
 * normalised and frozen. Throws CONDITION_INVALID naming the field at fault.
 * Does not compile the expressions (compileRuleSpec does).
 */
export function toRule(data: unknown): RuleSpec {
  if (!isRecord(data)) throw invalid('rule must be an object');
  const name = data.name;
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid('rule name must be lower-case letters, digits, "." and "-"');
  }
  const where = `rule "${name}"`;
  for (const k of Object.keys(data)) {
    if (!['name', 'description', 'predicateTypes', 'params', 'variables', 'validations'].includes(k)) {
      throw invalid(`${where}: unknown field "${k}"`);
    }
  }
  if (typeof data.description !== 'string' || data.description === '') {
    throw invalid(`${where}: description is required`);
  }
  const pts = data.predicateTypes;
  if (!Array.isArray(pts) || pts.length === 0 || !pts.every((p) => typeof p === 'string' && p !== '' && p !== '*')) {
    throw invalid(`${where}: predicateTypes must be a non-empty array of URIs`);
  }
  if ((pts[0] as string).endsWith('*')) {
    throw invalid(`${where}: the first predicate type must be a full URI (it is the default --type)`);
  }

  const params: Record<string, RuleParamSpec> = {};
  if (data.params !== undefined) {
    if (!isRecord(data.params)) throw invalid(`${where}: params must be an object`);
    for (const [p, spec] of Object.entries(data.params)) {
      if (!IDENT_RE.test(p) || RESERVED_IDENTS.has(p)) {
        throw invalid(`${where}: parameter name "${p}" is not an identifier`);
      }
      params[p] = toParamSpec(spec, `${where}: parameter "${p}"`);
    }
  }

  const variables: RuleVariableSpec[] = [];
  if (data.variables !== undefined) {
    if (!Array.isArray(data.variables)) throw invalid(`${where}: variables must be an array`);
    const seen = new Set<string>();
    data.variables.forEach((v, i) => {
      const w = `${where}: variables[${i}]`;
      if (!isRecord(v)) throw invalid(`${w}: must be an object`);
      if (typeof v.name !== 'string' || !IDENT_RE.test(v.name) || RESERVED_IDENTS.has(v.name)) {
        throw invalid(`${w}: name must be an identifier`);
      }
      if (seen.has(v.name)) throw invalid(`${w}: variable "${v.name}" is defined twice`);
      seen.add(v.name);
      for (const k of Object.keys(v)) {
        if (!['name', 'expression'].includes(k)) throw invalid(`${w}: unknown field "${k}"`);
      }
      variables.push(Object.freeze({ name: v.name, expression: toExpressionText(v.expression, w) }));
    });
  }

  if (!Array.isArray(data.validations) || data.validations.length === 0) {
    throw invalid(`${where}: validations must be a non-empty array`);
  }
  const validations = data.validations.map((v, i): RuleValidationSpec => {
    const w = `${where}: validations[${i}]`;
    if (!isRecord(v)) throw invalid(`${w}: must be an object`);
    for (const k of Object.keys(v)) {
      if (!['expression', 'message', 'detail'].includes(k)) throw invalid(`${w}: unknown field "${k}"`);
    }
    if (typeof v.message !== 'string' || v.message === '') throw invalid(`${w}: message is required`);
    for (const m of v.message.matchAll(PLACEHOLDER_RE)) {
      if (!(m[1]! in params)) throw invalid(`${w}: message names unknown parameter "${m[1]}"`);
    }
    return Object.freeze({
      expression: toExpressionText(v.expression, w),
      message: v.message,
      ...(v.detail !== undefined ? { detail: toExpressionText(v.detail, `${w}: detail`) } : {}),
    });
  });

  return Object.freeze({
    name,
    description: data.description,
    predicateTypes: Object.freeze([...(pts as string[])]),
    params: Object.freeze(params),
    variables: Object.freeze(variables),
    validations: Object.freeze(validations),
  });
}

let builtins: Map<string, RuleSpec> | undefined;

function getBuiltins(): Map<string, RuleSpec> {
  if (!builtins) {
    const m = new Map<string, RuleSpec>();
    for (const data of BUILTIN_RULES) {
      const r = toRule(data);
      if (m.has(r.name)) throw invalid(`rule "${r.name}" is defined twice`);
      m.set(r.name, r);
    }
    builtins = new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return builtins;
}

/** The built-in rules, sorted by name. */
export function listRules(): RuleSpec[] {
  return [...getBuiltins().values()];
}

/** A built-in rule by name. Throws CONDITION_INVALID for an unknown name. */
export function getRule(name: string): RuleSpec {
  const r = getBuiltins().get(name);
  if (!r) {
    throw invalid(`unknown rule "${name}" (built-in rules: ${[...getBuiltins().keys()].join(', ')})`, { rule: name });
  }
  return r;
}

// ---------------------------------------------------------------------------
// Parameters

const INT_RE = /^[+-]?\d+$/;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function toList(values: readonly string[]): readonly string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const s = part.trim();
      if (s !== '' && !out.includes(s)) out.push(s);
    }
  }
  return Object.freeze(out);
}

/** Text (CLI or a JSON default) -> CEL value of a scalar parameter type. */
function coerceText(spec: RuleParamSpec, text: string, fail: (reason: string) => never): RuleParamValue {
  const s = text.trim();
  switch (spec.type) {
    case 'string': {
      if (spec.enum) {
        const hit = spec.enum.find((e) => e.toLowerCase() === s.toLowerCase());
        if (hit === undefined) fail(`"${text}" is not one of ${spec.enum.join(', ')}`);
        return hit;
      }
      return text;
    }
    case 'int': {
      if (!INT_RE.test(s)) fail(`"${text}" is not an integer`);
      const n = BigInt(s);
      if (n < MIN_INT64 || n > MAX_INT64) fail(`${text} is out of range`);
      return n;
    }
    case 'double': {
      const n = s === '' ? NaN : Number(s);
      if (!Number.isFinite(n)) fail(`"${text}" is not a number`);
      return n;
    }
    case 'bool': {
      const l = s.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
      fail(`"${text}" is not true or false`);
      break;
    }
    case 'duration': {
      const ns = parseGoDuration(s);
      if (ns === undefined) fail(`"${text}" is not a duration (Go syntax, e.g. 30m, 24h, 168h)`);
      if (ns < 0n) fail(`"${text}" is negative`);
      return CelDuration.fromNanos(ns);
    }
    case 'list':
      return toList([text]);
  }
  return fail(`unsupported type ${spec.type}`);
}

function coerceDefault(spec: RuleParamSpec, d: NonNullable<RuleParamSpec['default']>, where: string): RuleParamValue {
  const fail = (reason: string): never => {
    throw invalid(`${where}: invalid default: ${reason}`);
  };
  if (Array.isArray(d)) {
    if (spec.type !== 'list') fail(`a list default for a ${spec.type} parameter`);
    return toList(d as string[]);
  }
  if (typeof d === 'boolean') {
    if (spec.type !== 'bool') fail(`a boolean default for a ${spec.type} parameter`);
    return d;
  }
  if (typeof d === 'number') {
    if (spec.type === 'int') {
      if (!Number.isSafeInteger(d)) fail(`${d} is not an integer`);
      return BigInt(d);
    }
    if (spec.type === 'double') return d;
    fail(`a number default for a ${spec.type} parameter`);
  }
  if (spec.type === 'bool' || spec.type === 'int' || spec.type === 'double') {
    fail(`a string default for a ${spec.type} parameter`);
  }
  return coerceText(spec, d as string, fail);
}

/**
 * Effective parameter values of a rule: given values (CLI strings) coerced to
 * their types, defaults for the rest. Throws CONDITION_INVALID for an unknown
 * parameter, a missing required one or a value of the wrong type.
 */
export function toRuleParams(rule: RuleSpec, given: RuleParamInput = {}): Record<string, RuleParamValue> {
  const names = Object.keys(rule.params);
  const out: Record<string, RuleParamValue> = {};
  for (const [k, raw] of Object.entries(given)) {
    const spec = Object.hasOwn(rule.params, k) ? rule.params[k] : undefined;
    if (!spec) {
      throw invalid(
        `rule "${rule.name}": unknown parameter "${k}" (${
          names.length ? `parameters: ${names.join(', ')}` : 'the rule has no parameters'
        })`,
        { rule: rule.name, param: k },
      );
    }
    const fail = (reason: string): never => {
      throw invalid(`rule "${rule.name}": parameter "${k}": ${reason}`, { rule: rule.name, param: k });
    };
    const values = typeof raw === 'string' ? [raw] : [...raw];
    if (!values.every((v) => typeof v === 'string')) fail('values must be strings');
    if (spec.type === 'list') {
      out[k] = toList(values);
    } else {
      if (values.length !== 1) fail(`given ${values.length} times; a ${spec.type} parameter takes one value`);
      out[k] = coerceText(spec, values[0]!, fail);
    }
  }
  for (const [k, spec] of Object.entries(rule.params)) {
    if (k in out) continue;
    if (spec.default !== undefined) {
      out[k] = coerceDefault(spec, spec.default, `rule "${rule.name}": parameter "${k}"`);
    } else if (spec.required) {
      throw invalid(`rule "${rule.name}": missing required parameter "${k}" (--param ${k}=...): ${spec.description}`, {
        rule: rule.name,
        param: k,
      });
    }
  }
  return out;
}

/** Text of a parameter value in messages. */
export function formatRuleParam(v: RuleParamValue | undefined): string {
  if (v === undefined) return '(not set)';
  if (v instanceof CelDuration) return formatGoDuration(v.toNanos());
  if (Array.isArray(v)) return v.length ? v.join(', ') : '(none)';
  return String(v);
}

function renderMessage(message: string, params: Record<string, RuleParamValue>): string {
  return message.replace(PLACEHOLDER_RE, (_, name: string) => formatRuleParam(params[name]));
}

// ---------------------------------------------------------------------------
// Compile and evaluate

const VARIABLE_REF_RE = /\bvariables\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g;
const VARIABLE_OTHER_USE_RE = /\bvariables\b(?!\s*\.\s*[A-Za-z_])/;

function compileExpr(
  rule: RuleSpec,
  expr: string,
  what: string,
  variableNames: readonly string[],
): CompiledRuleProgram {
  let program: CompiledCel;
  try {
    program = compileCel(expr, { variables: RULE_VARIABLES });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw invalid(`rule "${rule.name}": ${what}: ${reason}`, {
      rule: rule.name,
      ...(e instanceof SigwardError ? e.detail : {}),
    }, e);
  }
  // Which bindings the expression reads. A name can only be read if it appears
  // as a word in the text, so this over-approximates and never misses one.
  const uses = RULE_VARIABLES.filter((v) => v !== 'variables' && new RegExp(`\\b${v}\\b`).test(expr));
  let usesVariables: readonly string[] | 'all' = [];
  if (/\bvariables\b/.test(expr)) {
    if (VARIABLE_OTHER_USE_RE.test(expr)) {
      usesVariables = 'all';
    } else {
      const names = new Set<string>();
      for (const m of expr.matchAll(VARIABLE_REF_RE)) names.add(m[1]!);
      for (const n of names) {
        if (!variableNames.includes(n)) {
          throw invalid(
            `rule "${rule.name}": ${what}: unknown variable "${n}" (variables: ${variableNames.join(', ') || 'none'})`,
          );
        }
      }
      usesVariables = Object.freeze([...names]);
    }
  }
  return { program, uses: Object.freeze(uses), usesVariables };
}

/** Validates the parameters of a rule and compiles all of its expressions once. */
export function compileRuleSpec(rule: RuleSpec, given: RuleParamInput = {}): CompiledRule {
  const params = Object.freeze(toRuleParams(rule, given));
  const names = rule.variables.map((v) => v.name);
  // a variable reads only the variables defined before it
  const variables = rule.variables.map((v, i) =>
    Object.freeze({ name: v.name, ...compileExpr(rule, v.expression, `variable "${v.name}"`, names.slice(0, i)) })
  );
  const validations = rule.validations.map((v, i) =>
    Object.freeze({
      ...compileExpr(rule, v.expression, `validations[${i}]`, names),
      message: renderMessage(v.message, params),
      ...(v.detail !== undefined
        ? { detail: Object.freeze(compileExpr(rule, v.detail, `validations[${i}] detail`, names)) }
        : {}),
    })
  );
  return Object.freeze({ rule, params, variables: Object.freeze(variables), validations: Object.freeze(validations) });
}

/**
 * Compiles the built-in rule `name` with parameters given as CLI strings
 * (`--param k=v`; lists comma-separated or repeated). Throws CONDITION_INVALID
 * for an unknown rule, unknown/missing/ill-typed parameters or a bad expression.
 */
export function compileRule(name: string, given: RuleParamInput = {}): CompiledRule {
  return compileRuleSpec(getRule(name), given);
}

/** Splits `k=v` CLI arguments into a RuleParamInput (repeated keys collect into a list). */
export function toRuleParamInput(args: readonly string[]): RuleParamInput {
  const out: Record<string, string[]> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw invalid(`--param "${a}": expected NAME=VALUE`);
    const k = a.slice(0, i).trim();
    (out[k] ??= []).push(a.slice(i + 1));
  }
  return out;
}

function coversType(rule: RuleSpec, uri: string): boolean {
  return rule.predicateTypes.some((p) => (p.endsWith('*') ? uri.startsWith(p.slice(0, -1)) : uri === p));
}

/** Whether a rule applies to a predicate type (URI or cosign shortcut, as given to --type). */
export function ruleAppliesTo(rule: RuleSpec, predicateType: string): boolean {
  return coversType(rule, toPredicateType(predicateType));
}

/** Requires that a rule applies to the requested predicate type (`--type`); throws CONDITION_INVALID. */
export function verifyRulePredicateType(rule: RuleSpec, predicateType: string): void {
  if (!ruleAppliesTo(rule, predicateType)) {
    throw invalid(
      `rule "${rule.name}" checks predicate type ${rule.predicateTypes.join(', ')}, not ${
        toPredicateType(predicateType)
      }`,
      { rule: rule.name, predicateType: toPredicateType(predicateType) },
    );
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof SigwardError && typeof e.detail?.reason === 'string') return e.detail.reason;
  return e instanceof Error ? e.message : String(e);
}

/** Rule variables, evaluated on first use (each at most once per evaluateRule). */
class VariableScope {
  readonly #compiled: CompiledRule;
  readonly #vars: Record<string, unknown>;
  readonly #values = new Map<string, { value?: unknown; error?: string }>();
  constructor(compiled: CompiledRule, vars: Record<string, unknown>) {
    this.#compiled = compiled;
    this.#vars = vars;
  }
  /** The bindings of one program; throws when a variable it reads failed. */
  bindings(p: CompiledRuleProgram, before = this.#compiled.variables.length): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const u of p.uses) out[u] = u === 'params' ? this.#compiled.params : this.#vars[u];
    if (p.usesVariables === 'all' || p.usesVariables.length > 0) {
      const names = p.usesVariables === 'all'
        ? this.#compiled.variables.slice(0, before).map((v) => v.name)
        : p.usesVariables;
      const values: Record<string, unknown> = {};
      for (const n of names) values[n] = this.get(n);
      out.variables = values;
    }
    return out;
  }
  get(name: string): unknown {
    let r = this.#values.get(name);
    if (!r) {
      const i = this.#compiled.variables.findIndex((v) => v.name === name);
      const v = this.#compiled.variables[i]!;
      try {
        r = { value: v.program.evaluate(this.bindings(v, i)) };
      } catch (e) {
        r = {
          error: e instanceof VariableError ? e.message : `variable "${name}" could not be evaluated: ${reasonOf(e)}`,
        };
      }
      this.#values.set(name, r);
    }
    if (r.error !== undefined) throw new VariableError(r.error);
    return r.value;
  }
}

class VariableError extends Error {}

/**
 * Evaluates a compiled rule against the variables of one attestation
 * (getAttestationVariables). Every validation is evaluated; a validation that
 * is false, not a bool or fails to evaluate is a failure with its rendered
 * message. A statement whose predicateType the rule does not cover fails.
 */
export function evaluateRule(compiled: CompiledRule, vars: Record<string, unknown>): RuleResult {
  const name = compiled.rule.name;
  const st = vars.statement;
  if (isRecord(st) && typeof st.predicateType === 'string' && !coversType(compiled.rule, st.predicateType)) {
    return {
      rule: name,
      passed: false,
      failures: [
        `predicate type ${st.predicateType} is not checked by rule "${name}" (${
          compiled.rule.predicateTypes.join(', ')
        })`,
      ],
    };
  }
  const scope = new VariableScope(compiled, vars);
  const failures: string[] = [];
  for (const v of compiled.validations) {
    let ok: boolean;
    try {
      ok = v.program.evaluateBool(scope.bindings(v));
    } catch (e) {
      failures.push(`${v.message} (${e instanceof VariableError ? e.message : reasonOf(e)})`);
      continue;
    }
    if (ok) continue;
    let detail = '';
    if (v.detail) {
      try {
        const d = v.detail.program.evaluate(scope.bindings(v.detail));
        if (typeof d === 'string') detail = d;
      } catch {
        // the message alone still says what failed
      }
    }
    failures.push(detail ? `${v.message}: ${detail}` : v.message);
  }
  return { rule: name, passed: failures.length === 0, failures };
}
