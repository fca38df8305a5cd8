import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';

/**
 * Lua lives in ./lua, one file per command, each opening with its KEYS/ARGV and its guarantee.
 * Registered under a versioned name so a deploy that changes a script never runs the old body
 * cached under the same name on a long-lived connection.
 */
const VERSION = 'v1';
const scripts = ['fetch', 'recover', 'promote', 'chord-join', 'chord-fire', 'reply'] as const;

export function defineScripts(redis: Redis): void {
  for (const name of scripts) {
    const lua = readFileSync(join(__dirname, 'lua', `${name}.lua`), 'utf8');
    redis.defineCommand(`celeriac_${name.replace('-', '_')}_${VERSION}`, { lua });
  }
}

/** Typed handles on the registered commands; keys are variadic, so numkeys goes first. */
export interface ScriptCommands {
  fetch(keys: string[], args: (string | number)[]): Promise<(string | number)[]>;
  recover(keys: string[], args: string[]): Promise<number>;
  promote(keys: string[], args: (string | number)[]): Promise<[number, number]>;
  chordJoin(keys: string[], args: (string | number)[]): Promise<[number, number]>;
  chordFire(keys: string[], args: (string | number)[]): Promise<number>;
  reply(keys: string[], args: (string | number)[]): Promise<number>;
}

export function scriptCommands(redis: Redis): ScriptCommands {
  const call = (name: string, keys: string[], args: (string | number)[]) =>
    (redis as any)[`celeriac_${name}_${VERSION}`](keys.length, ...keys, ...args);
  return {
    fetch: (keys, args) => call('fetch', keys, args),
    recover: (keys, args) => call('recover', keys, args),
    promote: (keys, args) => call('promote', keys, args),
    chordJoin: (keys, args) => call('chord_join', keys, args),
    chordFire: (keys, args) => call('chord_fire', keys, args),
    reply: (keys, args) => call('reply', keys, args),
  };
}
