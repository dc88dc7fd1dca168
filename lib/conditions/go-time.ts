// Times as Kyverno's JMESPath time functions see them: Go's time.Parse with
// RFC 3339 or a Go reference layout ("Mon Jan _2 15:04:05 MST 2006"), and
// RFC 3339 output that keeps the offset of the input.

/** An instant plus the UTC offset it is presented in. */
export interface GoTime {
  /** nanoseconds since the Unix epoch */
  readonly ns: bigint;
  /** seconds east of UTC */
  readonly offset: number;
}

const NS = 1_000_000_000n;
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

export class GoTimeError extends Error {}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function fromParts(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  frac: bigint,
  offset: number,
  text: string,
): GoTime {
  if (mo < 1 || mo > 12) throw new GoTimeError(`parsing time "${text}": month out of range`);
  if (d < 1 || d > daysInMonth(y, mo)) throw new GoTimeError(`parsing time "${text}": day out of range`);
  if (h > 23 || mi > 59 || s > 59) throw new GoTimeError(`parsing time "${text}": hour, minute or second out of range`);
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, 0);
  const secs = BigInt(dt.getTime() / 1000) - BigInt(offset);
  return { ns: secs * NS + frac, offset };
}

/** Go time.Parse(time.RFC3339, text): "2006-01-02T15:04:05Z07:00", optional fraction. */
export function parseRFC3339(text: string): GoTime {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new GoTimeError(`parsing time "${text}" as "2006-01-02T15:04:05Z07:00": cannot parse`);
  const [, y, mo, d, h, mi, s, frac = '', tz] = m;
  let offset = 0;
  if (tz !== 'Z') {
    const hh = Number(tz.slice(1, 3));
    const mm = Number(tz.slice(4, 6));
    if (hh > 23 || mm > 59) throw new GoTimeError(`parsing time "${text}": time zone offset out of range`);
    offset = (tz[0] === '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  }
  return fromParts(
    Number(y),
    Number(mo),
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    BigInt(frac.padEnd(9, '0') || '0'),
    offset,
    text,
  );
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Calendar fields of a time in its own offset. */
export function timeFields(
  t: GoTime,
): { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number } {
  const localSecs = t.ns / NS - (t.ns % NS < 0n ? 1n : 0n) + BigInt(t.offset);
  const d = new Date(Number(localSecs) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/** Go t.Format(time.RFC3339): whole seconds, "Z" for UTC, else ±hh:mm. */
export function formatRFC3339(t: GoTime): string {
  const f = timeFields(t);
  let tz = 'Z';
  if (t.offset !== 0) {
    const a = Math.abs(t.offset);
    tz = `${t.offset < 0 ? '-' : '+'}${pad(Math.floor(a / 3600))}:${pad(Math.floor((a % 3600) / 60))}`;
  }
  const year = f.year < 0 ? `-${pad(-f.year, 4)}` : pad(f.year, 4);
  return `${year}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}${tz}`;
}

export function fromDate(d: Date, offset = 0): GoTime {
  return { ns: BigInt(d.getTime()) * 1_000_000n, offset };
}

// ---------------------------------------------------------------------------
// Go reference layouts

type Chunk = { kind: 'lit'; text: string } | { kind: 'std'; std: string; digits?: number };

const STD_TOKENS = [
  'January',
  'Jan',
  'Monday',
  'Mon',
  'MST',
  '2006',
  '002',
  '01',
  '02',
  '03',
  '04',
  '05',
  '06',
  '15',
  '_2006',
  '__2',
  '_2',
  'Z07:00:00',
  'Z070000',
  'Z07:00',
  'Z0700',
  'Z07',
  '-07:00:00',
  '-070000',
  '-07:00',
  '-0700',
  '-07',
  'PM',
  'pm',
  '1',
  '2',
  '3',
  '4',
  '5',
];

function tokenizeLayout(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i];
    if ((c === '.' || c === ',') && /[09]/.test(layout[i + 1] ?? '')) {
      const m = /^[.,](0+|9+)/.exec(layout.slice(i));
      if (m && !/\d/.test(layout[i + m[0].length] ?? '')) {
        if (lit) out.push({ kind: 'lit', text: lit });
        lit = '';
        out.push({ kind: 'std', std: m[1][0] === '0' ? 'frac0' : 'frac9', digits: m[1].length });
        i += m[0].length;
        continue;
      }
    }
    for (const t of STD_TOKENS) {
      if (layout.startsWith(t, i)) {
        // "Jan" must not be the prefix of a longer word ("Janet"), as in Go
        if ((t === 'Jan' || t === 'Mon') && /[a-z]/.test(layout[i + 3] ?? '')) continue;
        if (lit) out.push({ kind: 'lit', text: lit });
        lit = '';
        out.push({ kind: 'std', std: t });
        i += t.length;
        continue outer;
      }
    }
    lit += c;
    i++;
  }
  if (lit) out.push({ kind: 'lit', text: lit });
  return out;
}

/** Go time.Parse(layout, value). Throws GoTimeError. */
export function parseGoLayout(layout: string, value: string): GoTime {
  const bad = (what: string): never => {
    throw new GoTimeError(`parsing time "${value}" as "${layout}": cannot parse ${what}`);
  };
  let v = value;
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let frac = 0n;
  let pm: boolean | undefined;
  let offset = 0;
  let yday = -1;
  const num = (min: number, max: number, what: string): number => {
    const m = new RegExp(`^\\d{${min},${max}}`).exec(v);
    if (!m) return bad(what);
    v = v.slice(m[0].length);
    return Number(m[0]);
  };
  const name = (list: string[], short: boolean, what: string): number => {
    const lower = v.toLowerCase();
    for (let k = 0; k < list.length; k++) {
      const w = short ? list[k].slice(0, 3) : list[k];
      if (lower.startsWith(w)) {
        v = v.slice(w.length);
        return k;
      }
    }
    return bad(what);
  };
  const zone = (colon: boolean, seconds: boolean, hoursOnly: boolean, allowZ: boolean): void => {
    if (allowZ && v.startsWith('Z')) {
      v = v.slice(1);
      offset = 0;
      return;
    }
    const re = hoursOnly
      ? /^([+-])(\d{2})/
      : colon
      ? seconds ? /^([+-])(\d{2}):(\d{2}):(\d{2})/ : /^([+-])(\d{2}):(\d{2})/
      : seconds
      ? /^([+-])(\d{2})(\d{2})(\d{2})/
      : /^([+-])(\d{2})(\d{2})/;
    const m = re.exec(v);
    if (!m) return bad('time zone offset');
    v = v.slice(m[0].length);
    offset = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0));
  };
  const chunks = tokenizeLayout(layout);
  for (let k = 0; k < chunks.length; k++) {
    const ch = chunks[k];
    if (ch.kind === 'lit') {
      if (!v.startsWith(ch.text)) bad(`"${v}" as "${ch.text}"`);
      v = v.slice(ch.text.length);
      continue;
    }
    switch (ch.std) {
      case 'January':
        month = name(MONTHS, false, 'month') + 1;
        break;
      case 'Jan':
        month = name(MONTHS, true, 'month') + 1;
        break;
      case 'Monday':
        name(DAYS, false, 'day of week');
        break;
      case 'Mon':
        name(DAYS, true, 'day of week');
        break;
      case 'MST': {
        const m = /^[A-Z]{3,5}|^[+-]\d{2}/.exec(v);
        if (!m) bad('time zone');
        v = v.slice((m as RegExpExecArray)[0].length);
        offset = 0; // Go fabricates a zero-offset zone for abbreviations it cannot resolve
        break;
      }
      case '2006':
      case '_2006':
        year = num(4, 4, 'year');
        break;
      case '06': {
        const y = num(2, 2, 'year');
        year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case '01':
        month = num(2, 2, 'month');
        break;
      case '1':
        month = num(1, 2, 'month');
        break;
      case '02':
        day = num(2, 2, 'day');
        break;
      case '_2':
        if (v.startsWith(' ')) v = v.slice(1);
        day = num(1, 2, 'day');
        break;
      case '2':
        day = num(1, 2, 'day');
        break;
      case '002':
        yday = num(3, 3, 'day of year');
        break;
      case '__2':
        v = v.replace(/^ {1,2}/, '');
        yday = num(1, 3, 'day of year');
        break;
      case '15':
        hour = num(1, 2, 'hour');
        break;
      case '03':
        hour = num(2, 2, 'hour');
        break;
      case '3':
        hour = num(1, 2, 'hour');
        break;
      case '04':
        minute = num(2, 2, 'minute');
        break;
      case '4':
        minute = num(1, 2, 'minute');
        break;
      case '05':
      case '5': {
        second = ch.std === '05' ? num(2, 2, 'second') : num(1, 2, 'second');
        // a fraction in the value that the layout does not mention is accepted
        const next = chunks[k + 1];
        const m = /^[.,](\d+)/.exec(v);
        if (m && !(next?.kind === 'std' && next.std.startsWith('frac'))) {
          frac = BigInt(m[1].slice(0, 9).padEnd(9, '0'));
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'frac0': {
        const m = new RegExp(`^[.,](\\d{${ch.digits}})`).exec(v);
        if (!m) bad('fractional second');
        frac = BigInt((m as RegExpExecArray)[1].slice(0, 9).padEnd(9, '0'));
        v = v.slice((m as RegExpExecArray)[0].length);
        break;
      }
      case 'frac9': {
        const m = /^[.,](\d+)/.exec(v);
        if (m) {
          frac = BigInt(m[1].slice(0, 9).padEnd(9, '0'));
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const m = /^(AM|PM|am|pm)/.exec(v);
        if (!m) bad('AM/PM');
        pm = (m as RegExpExecArray)[1].toUpperCase() === 'PM';
        v = v.slice(2);
        break;
      }
      case '-0700':
        zone(false, false, false, false);
        break;
      case '-07:00':
        zone(true, false, false, false);
        break;
      case '-07':
        zone(false, false, true, false);
        break;
      case '-070000':
        zone(false, true, false, false);
        break;
      case '-07:00:00':
        zone(true, true, false, false);
        break;
      case 'Z0700':
        zone(false, false, false, true);
        break;
      case 'Z07:00':
        zone(true, false, false, true);
        break;
      case 'Z07':
        zone(false, false, true, true);
        break;
      case 'Z070000':
        zone(false, true, false, true);
        break;
      case 'Z07:00:00':
        zone(true, true, false, true);
        break;
    }
  }
  if (v !== '') throw new GoTimeError(`parsing time "${value}" as "${layout}": extra text: "${v}"`);
  if (pm !== undefined) {
    if (hour < 1 || hour > 12) throw new GoTimeError(`parsing time "${value}": hour out of range`);
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (yday >= 0) {
    const d = new Date(Date.UTC(year, 0, yday));
    if (d.getUTCFullYear() !== year) throw new GoTimeError(`parsing time "${value}": day-of-year out of range`);
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  return fromParts(year, month, day, hour, minute, second, frac, offset, value);
}

/** Parses with Kyverno's convention: an empty layout means RFC 3339. */
export function parseTimeWithLayout(layout: string, value: string): GoTime {
  return layout === '' ? parseRFC3339(value) : parseGoLayout(layout, value);
}
