// JUnit XML for CI systems (GitLab, Jenkins, Tekton, GitHub test reporters):
// one <testsuite> per policy, one <testcase> per image x rule.
//   blocking failure (fail + Enforce)         -> <failure>
//   blocking error (registry unreachable ...) -> <error>
//   non-blocking fail / error (Audit, Ignore)  -> passes, the warning in <system-out>
//   skipped image reference                   -> <skipped>
// Images no policy applies to go to the suite "(no policy)".

import type { Evaluation } from '../../lib/engine/index.ts';

export interface JUnitOptions {
  /** the name of the whole run */
  name?: string;
  /** what each evaluation came from (image reference or manifest file) */
  sources?: string[];
  /** total run time, ms */
  ms?: number;
  /** ISO timestamp of the run */
  timestamp?: string;
}

// XML 1.0 allows tab, LF, CR and characters from U+0020 up (minus surrogates and U+FFFE/U+FFFF)
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(s: string): string {
  return s.replace(INVALID_XML, '\uFFFD').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

interface Case {
  classname: string;
  name: string;
  kind: 'pass' | 'failure' | 'error' | 'skipped';
  message: string;
  type?: string;
  out?: string;
}

function toCases(evals: Evaluation[], sources: string[]): Map<string, Case[]> {
  const suites = new Map<string, Case[]>();
  const push = (suite: string, c: Case) => {
    const list = suites.get(suite) ?? [];
    list.push(c);
    suites.set(suite, list);
  };
  evals.forEach((e, i) => {
    const src = sources[i] ??
      (e.resource.kind === 'Image'
        ? e.resource.name ?? ''
        : `${e.resource.kind}/${e.resource.namespace ? e.resource.namespace + '/' : ''}${e.resource.name ?? ''}`);
    const anyFail = e.rules.some((r) => r.failurePolicy === 'Fail');
    if (!e.rules.length) {
      push('(no policy)', { classname: 'sigward', name: src, kind: 'pass', message: 'no policy applies' });
      return;
    }
    for (const r of e.rules) {
      const images = r.images.length ? r.images : [{
        image: '-',
        status: r.status,
        message: r.message,
        action: r.action,
        code: undefined as string | undefined,
      }];
      for (const im of images) {
        const name = e.resource.kind === 'Image' ? im.image : `${src} ${im.image}`;
        const base = { classname: `${r.policy}.${r.rule}`, name, message: im.message };
        if (im.status === 'skip') push(r.policy, { ...base, kind: 'skipped' });
        else if (im.status === 'pass') push(r.policy, { ...base, kind: 'pass' });
        else if (im.status === 'fail' && im.action === 'Enforce') {
          push(r.policy, { ...base, kind: 'failure', type: im.code ?? 'fail' });
        } else if (im.status === 'error' && anyFail) {
          push(r.policy, { ...base, kind: 'error', type: im.code ?? 'error' });
        } else {push(r.policy, {
            ...base,
            kind: 'pass',
            out: `warning (${im.status === 'fail' ? im.action : 'failurePolicy Ignore'}): ${im.message}`,
          });}
      }
    }
  });
  return suites;
}

/** The JUnit XML document for a check run. */
export function toJUnitXml(evals: Evaluation[], opts: JUnitOptions = {}): string {
  const suites = toCases(evals, opts.sources ?? []);
  const count = (cs: Case[], k: Case['kind']) => cs.filter((c) => c.kind === k).length;
  const all = [...suites.values()].flat();
  const secs = ((opts.ms ?? 0) / 1000).toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(opts.name ?? 'sigward check')}" tests="${all.length}" failures="${
      count(all, 'failure')
    }" errors="${count(all, 'error')}" skipped="${count(all, 'skipped')}" time="${secs}">`,
  ];
  for (const [suite, cases] of suites) {
    lines.push(
      `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${count(cases, 'failure')}" errors="${
        count(cases, 'error')
      }" skipped="${count(cases, 'skipped')}"${opts.timestamp ? ` timestamp="${escapeXml(opts.timestamp)}"` : ''}>`,
    );
    for (const c of cases) {
      const open = `    <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}"`;
      if (c.kind === 'pass' && !c.out) {
        lines.push(`${open}/>`);
        continue;
      }
      lines.push(`${open}>`);
      if (c.kind === 'failure' || c.kind === 'error') {
        lines.push(
          `      <${c.kind} message="${escapeXml(c.message)}" type="${escapeXml(c.type ?? c.kind)}">${
            escapeXml(c.message)
          }</${c.kind}>`,
        );
      } else if (c.kind === 'skipped') lines.push(`      <skipped message="${escapeXml(c.message)}"/>`);
      if (c.out) lines.push(`      <system-out>${escapeXml(c.out)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
