'use strict';
/**
 * Lets Node 20 require() an app's TypeScript sources: `celeriac worker --app src/celeriac.ts`, the
 * threads pool's threads, `celeriac run src/server.ts` and `node -r celeriac/register`.
 *
 * Why a compiler and not Node's own type stripping (22.6+): stripping erases types but cannot run
 * decorators, and `@task()` and TypeORM entities are decorators. @swc/core (a dependency of
 * Celeriac) compiles each file on first require; an app's own `typescript` is the fallback where
 * swc has no binary for the platform.
 *
 * Everything compiles to CommonJS, also in `"type": "module"` apps, because autodiscovery imports
 * tasks modules with a synchronous require(). ESM-style sources keep working: `import.meta.url`
 * and `import.meta.dirname` become their CommonJS equivalents, and `./x.js` specifiers find `x.ts`
 * (what `moduleResolution: nodenext` makes sources write). Top-level await cannot compile to
 * CommonJS: build such apps with tsc and point --app at the compiled file.
 *
 * Decorators follow the nearest tsconfig.json: `experimentalDecorators` (what TypeORM apps use)
 * compiles legacy decorators, with metadata when `emitDecoratorMetadata` is set; otherwise
 * standard decorators, TypeScript 5's default. No tsconfig.json: legacy with metadata.
 */
const Module = require('node:module');
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const MARK = Symbol.for('celeriac.ts-loader');
const EXTENSIONS = ['.ts', '.cts', '.mts'];

/**
 * Installs the loader once per process. Returns true when .ts files can now be required, false
 * when no compiler is installed (`missingCompilerMessage()` says what to do).
 */
function register() {
  if (require.extensions['.ts'] && require.extensions['.ts'][MARK]) return true;
  if (!compilerInstalled()) return false;
  // The compiler itself loads on the first .ts file not compiled before (compileCache()): a
  // worker running compiled JavaScript (the built package, --app dist/app.js) never pays for
  // @swc/core's native binding (~21 MiB RSS), nor does one started again from unchanged sources.
  let compile;
  let cache; // made on the first .ts file too: false when off
  const handler = function (module, filename) {
    cache ??= compileCache() ?? false;
    const source = readFileSync(filename, 'utf8');
    const mode = decoratorMode(dirname(filename));
    const key = cache && cache.key(source, filename, mode);
    let code = key ? cache.get(key) : undefined;
    if (code === undefined) {
      compile ??= loadCompiler();
      if (!compile) throw new Error(missingCompilerMessage(filename));
      try {
        code = compile(source, filename, mode);
      } catch (err) {
        throw new Error(`Could not compile ${filename}: ${err.message}`, { cause: err });
      }
      if (key) cache.set(key, code);
    }
    module._compile(sourceMapsWanted() ? code : withoutInlineSourceMap(code), filename);
  };
  handler[MARK] = true;
  for (const ext of EXTENSIONS) require.extensions[ext] = handler;
  patchResolution();
  return true;
}

/**
 * Compiled sources kept on disk, in node_modules/.cache/celeriac-ts of the folder the process
 * starts in (where tools keep such caches), so a worker started again from unchanged sources
 * loads neither the compiler (~21 MiB RSS for swc's native binding) nor spends its start-up
 * compiling. An entry's name is a hash of everything its output depends on: the source, its
 * path (the inline source map names it), the decorator mode, the installed compilers' versions
 * and the options below (FORMAT: bump it when they change), so an edit, an upgrade or a
 * tsconfig change compiles again; nothing is ever reused by date. Entries are written whole
 * (a temporary file renamed), so processes starting together never read half of one.
 * CELERIAC_TS_CACHE=0 turns it off; without node_modules in that folder there is none.
 */
const FORMAT = 'celeriac-ts-1';

function compileCache() {
  if (process.env.CELERIAC_TS_CACHE === '0') return undefined;
  const modules = join(process.cwd(), 'node_modules');
  if (!existsSync(modules)) return undefined;
  const dir = join(modules, '.cache', 'celeriac-ts');
  const compilers = ['@swc/core', 'typescript'].map(installedVersion).join(' ');
  return {
    key(source, filename, mode) {
      return createHash('sha256')
        .update(`${FORMAT}\0${compilers}\0${filename}\0${mode.legacy} ${mode.metadata}\0`)
        .update(source)
        .digest('hex');
    },
    get(key) {
      try {
        return readFileSync(join(dir, `${key}.js`), 'utf8');
      } catch {
        return undefined;
      }
    },
    set(key, code) {
      // A cache that cannot be written (read-only folder, full disk) only costs a compile.
      try {
        mkdirSync(dir, { recursive: true });
        // Threads of one process (the threads pool) share its pid: a random part keeps them apart.
        const tmp = join(dir, `${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
        writeFileSync(tmp, code);
        renameSync(tmp, join(dir, `${key}.js`));
      } catch {
        // next start compiles again
      }
    },
  };
}

/** `name@version` of an installed package, found without loading it; `name@-` when absent. */
function installedVersion(name) {
  try {
    // Up from its main file to its own package.json (nested ones may only set "type").
    for (let dir = dirname(resolveFrom(name)); dirname(dir) !== dir; dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.name === name) return `${name}@${pkg.version}`;
    }
    return `${name}@?`;
  } catch {
    return `${name}@-`;
  }
}

function missingCompilerMessage(file) {
  return (
    `${file ? `Loading ${file} needs` : 'TypeScript sources need'} a TypeScript compiler at run time, and neither ` +
    `@swc/core (a dependency of Celeriac, perhaps left out with --omit=optional or unavailable on this platform) ` +
    `nor typescript is installed. Install one (npm install @swc/core), or build the app with tsc and pass the ` +
    `compiled module (--app dist/celeriac.js).`
  );
}

function resolveFrom(name) {
  return require.resolve(name, { paths: [process.cwd(), __dirname] });
}

/**
 * Whether anything in this process reads a module's inline source map: Node's stack traces do only
 * with --enable-source-maps (or process.setSourceMapsEnabled), a debugger when one was asked for
 * at start. Otherwise the map is dead weight: V8 keeps each module's code, map included, for the
 * module's life (lazy compilation reads it again), and the maps are ~70 % of the compiled text: a
 * worker from source held ~3.3 MiB of them in its heap (bench/ANALYSIS.md, seventh round, "young").
 * A debugger attached later (SIGUSR1, inspector.open()) sees compiled code for modules loaded
 * before it.
 */
function sourceMapsWanted() {
  return (
    process.sourceMapsEnabled === true ||
    [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
      /^--inspect(-brk|-wait)?(=|$)/.test(a),
    )
  );
}

/** The compiled code with its trailing inline source map comment dropped (the cache keeps it). */
function withoutInlineSourceMap(code) {
  const at = code.lastIndexOf('\n//# sourceMappingURL=data:');
  // A concatenation, not a bare slice(): V8 makes a slice a view that keeps the whole string (map
  // included) alive; compiling flattens the concatenation into a copy of its own.
  return at === -1 ? code : code.slice(0, at) + '\n';
}

/** Whether a compiler is there to load, found without loading it. */
function compilerInstalled() {
  for (const name of ['@swc/core', 'typescript']) {
    try {
      resolveFrom(name);
      return true;
    } catch {
      // Not installed here: try the next.
    }
  }
  return false;
}

function loadCompiler() {
  try {
    const swc = require(resolveFrom('@swc/core'));
    return (source, filename, mode) =>
      swc.transformSync(source, {
        filename,
        sourceMaps: 'inline',
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: mode.legacy
            ? { legacyDecorator: true, decoratorMetadata: mode.metadata }
            : { decoratorVersion: '2022-03' },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      }).code;
  } catch {
    // No swc binary for this platform, or left out: try the app's own TypeScript.
  }
  try {
    const ts = require(resolveFrom('typescript'));
    return (source, filename, mode) =>
      ts.transpileModule(source, {
        fileName: filename,
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
          inlineSourceMap: true,
          experimentalDecorators: mode.legacy,
          emitDecoratorMetadata: mode.legacy && mode.metadata,
        },
      }).outputText;
  } catch {
    return undefined;
  }
}

/** `./x.js` from a .ts file means `./x.ts` when only the source exists (nodenext-style imports). */
function patchResolution() {
  const original = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    try {
      return original.call(this, request, parent, ...rest);
    } catch (err) {
      const fromTs = parent && typeof parent.filename === 'string' && /\.[cm]?ts$/.test(parent.filename);
      if (err.code !== 'MODULE_NOT_FOUND' || !fromTs || !/^\.{1,2}\/.*\.[cm]?js$/.test(request)) throw err;
      try {
        return original.call(this, request.replace(/js$/, 'ts'), parent, ...rest);
      } catch {
        throw err;
      }
    }
  };
}

const modes = new Map();

/** The decorator mode of the nearest tsconfig.json above `dir` (cached per folder). */
function decoratorMode(dir) {
  let mode = modes.get(dir);
  if (mode) return mode;
  const config = join(dir, 'tsconfig.json');
  if (existsSync(config)) {
    let options = {};
    try {
      options = compilerOptions(config, 0);
    } catch {
      // An unreadable tsconfig.json: keep the default, tsc will complain about it itself.
    }
    const legacy = options.experimentalDecorators === undefined ? false : Boolean(options.experimentalDecorators);
    mode = { legacy, metadata: Boolean(options.emitDecoratorMetadata) };
  } else if (dirname(dir) === dir || existsSync(join(dir, 'package.json'))) {
    mode = { legacy: true, metadata: true };
  } else {
    mode = decoratorMode(dirname(dir));
  }
  modes.set(dir, mode);
  return mode;
}

/** compilerOptions of a tsconfig file, with its `extends` chain applied. */
function compilerOptions(file, depth) {
  const config = parseJsonc(readFileSync(file, 'utf8'));
  let options = {};
  const bases = config.extends === undefined ? [] : [].concat(config.extends);
  if (depth < 10) {
    for (const base of bases) {
      const path = resolveExtends(base, dirname(file));
      if (path) options = { ...options, ...compilerOptions(path, depth + 1) };
    }
  }
  return { ...options, ...(config.compilerOptions || {}) };
}

function resolveExtends(spec, dir) {
  const candidates = spec.startsWith('.') || spec.startsWith('/') ? [resolve(dir, spec)] : [];
  if (candidates.length === 0) {
    for (const name of [spec, `${spec}.json`, `${spec}/tsconfig.json`]) {
      try {
        candidates.push(require.resolve(name, { paths: [dir] }));
      } catch {
        // try the next spelling
      }
    }
  }
  for (const c of candidates) {
    for (const path of [c, `${c}.json`]) if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return undefined;
}

/** tsconfig.json is JSON with comments and trailing commas. */
function parseJsonc(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

module.exports = { register, missingCompilerMessage, decoratorMode, parseJsonc };
