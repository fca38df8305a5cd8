import { hostname } from 'node:os';
import { CeleriacError, closest } from '../errors';

export interface ParsedArgs {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string | true>;
}

/** Flags as Celery spells them: `--app x`, `--app=x`, `-A x`, `-Q a,b`, `-c 4`. */
export function parseArgs(argv: string[], aliases: Record<string, string>): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    let [name, value] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined as string | undefined];
    name = aliases[name] ?? name.replace(/^--?/, '');
    if (value === undefined && i + 1 < argv.length && !argv[i + 1].startsWith('-')) value = argv[++i];
    flags.set(name, value ?? true);
  }
  return { command: positional.shift(), positional, flags };
}

export function intFlag(flags: Map<string, string | true>, name: string): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < 1)
    throw new CeleriacError(`--${name} expects a positive integer, got ${v === true ? 'nothing' : `'${v}'`}`);
  return n;
}

export function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const v = flags.get(name);
  if (v === true) throw new CeleriacError(`--${name} expects a value`);
  return v;
}

/**
 * `-n`/`--hostname` as Celery's worker reads it: %h is this host's name, %n its first label, %d
 * the rest (the domain), %% a percent sign. `-n worker1@%h`, as Celery's guide writes it, then
 * names each host's worker apart instead of every one 'worker1@%h'.
 */
export function hostnameFlag(flags: Map<string, string | true>): string | undefined {
  const value = stringFlag(flags, 'hostname');
  if (value === undefined || !value.includes('%')) return value;
  const host = hostname();
  const dot = host.indexOf('.');
  const keys: Record<string, string> = {
    h: host,
    n: dot < 0 ? host : host.slice(0, dot),
    d: dot < 0 ? '' : host.slice(dot + 1),
    '%': '%',
  };
  return value.replace(/%(.?)/gs, (whole, key: string) => {
    if (Object.hasOwn(keys, key)) return keys[key];
    throw new CeleriacError(
      `--hostname '${value}': '${whole}' is not a node name format: use %h (host name), %n (its first label), %d (domain) or %% (a percent sign), e.g. -n worker1@%h`,
    );
  });
}

/**
 * A misspelt flag (`--concurency 4`) must not run a worker with the default instead: refuse any flag
 * the command does not take, with the nearest one it does.
 */
export function rejectUnknownFlags(command: string, flags: Map<string, string | true>, known: string[]): void {
  const spell = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
  for (const name of flags.keys()) {
    if (known.includes(name)) continue;
    const hint = name.length > 2 ? closest(name, known) : undefined;
    throw new CeleriacError(
      `unknown flag '${spell(name)}'${hint ? ` (did you mean '${spell(hint)}'?)` : ''}; ` +
        `${command} takes ${known.map(spell).join(', ')} (celeriac --help)`,
    );
  }
}
