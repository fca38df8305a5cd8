import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainableCommander, default as Redis } from 'ioredis';
import { MessageNotHeldError } from '../errors';

/**
 * The one loader for Celeriac's Lua. Scripts live in ./lua, one file per command, named
 * `<command>-<numKeys>.lua` (`n` when the keys are variadic: the caller passes numkeys), each
 * opening with its KEYS, ARGV, return value and guarantee. Each is registered on a connection with
 * defineCommand under a versioned name, so a deploy that changes a script never runs an old body
 * that a long-lived connection cached under the same name.
 *
 * A script reports a refusal with a negative return code; `failures` below is the one place
 * those codes become named errors, so callers see a CeleriacError, never a bare -1.
 */
const VERSION = 'v4';

export type ScriptName =
  | 'fetch'
  | 'recover'
  | 'promote'
  | 'chord-join'
  | 'chord-fire'
  | 'reply'
  | 'send-once'
  | 'replace-held'
  | 'move-out'
  | 'release';

/** Negative codes each script may return, and the error each stands for. */
const failures: Partial<Record<ScriptName, Record<number, (keys: string[], args: (string | number)[]) => Error>>> = {
  'replace-held': {
    [-1]: (keys) =>
      new MessageNotHeldError(
        `could not rewrite a message held in ${keys[1]}: the consumer no longer holds it (acked, given back, or recovered after its lease lapsed); nothing was changed`,
      ),
  },
};

interface ScriptFile {
  name: ScriptName;
  numKeys: number | undefined;
  lua: string;
}

let files: ScriptFile[] | undefined;

/** Read once per process: the files never change under a running process. */
function scriptFiles(): ScriptFile[] {
  files ??= readdirSync(luaDir())
    .map((file) => /^(.+)-(\d+|n)\.lua$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([file, name, keys]) => ({
      name: name as ScriptName,
      numKeys: keys === 'n' ? undefined : Number(keys),
      lua: readFileSync(join(luaDir(), file), 'utf8'),
    }));
  return files;
}

function commandName(name: ScriptName): string {
  return `celeriac_${name.replace(/-/g, '_')}_${VERSION}`;
}

/** Registers every script on this connection; call before it connects (ioredis sends them with EVALSHA). */
export function defineScripts(redis: Redis): void {
  for (const { name, numKeys, lua } of scriptFiles())
    redis.defineCommand(commandName(name), numKeys === undefined ? { lua } : { lua, numberOfKeys: numKeys });
}

/** Runs a registered script; a negative reply listed in `failures` is thrown as its named error. */
export async function runScript<T>(
  redis: Redis,
  name: ScriptName,
  keys: string[],
  args: (string | number)[],
): Promise<T> {
  const file = scriptFiles().find((f) => f.name === name);
  const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[commandName(name)];
  if (!file || typeof command !== 'function')
    throw new Error(`Lua script '${name}' is not registered on this connection: call defineScripts(redis) first`);
  const reply =
    file.numKeys === undefined
      ? await command.call(redis, keys.length, ...keys, ...args)
      : await command.call(redis, ...keys, ...args);
  if (typeof reply === 'number' && reply < 0) {
    const failure = failures[name]?.[reply];
    throw failure ? failure(keys, args) : new Error(`Lua script '${name}' returned an unknown code ${reply}`);
  }
  return reply;
}

/**
 * Queues a registered script on a MULTI or pipeline, so it runs in the same step as the commands
 * around it; its reply comes back with theirs (negative codes are not mapped here).
 */
export function queueScript(tx: ChainableCommander, name: ScriptName, keys: string[], args: (string | number)[]): void {
  const file = scriptFiles().find((f) => f.name === name);
  const command = (tx as unknown as Record<string, (...a: (string | number)[]) => unknown>)[commandName(name)];
  if (!file || typeof command !== 'function')
    throw new Error(`Lua script '${name}' is not registered on this connection: call defineScripts(redis) first`);
  if (file.numKeys === undefined) command.call(tx, keys.length, ...keys, ...args);
  else command.call(tx, ...keys, ...args);
}

/**
 * Lua ships next to the compiled code (the build copies it); a build that copied only the
 * JavaScript still finds it in the package's src/ folder, which is published too.
 */
function luaDir(): string {
  const beside = join(__dirname, 'lua');
  if (existsSync(beside)) return beside;
  return join(__dirname, '..', '..', '..', 'src', 'broker', 'lua');
}
