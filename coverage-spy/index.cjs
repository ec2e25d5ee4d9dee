'use strict';
/*
 * realstack coverage spy: preloaded into every service by
 *   NODE_OPTIONS="--require /coverage-spy/index.cjs"  and  NODE_V8_COVERAGE=<dir>
 *
 * Node writes V8 coverage only when the process exits through process.exit() or an empty
 * event loop; a process ended by a signal's default action writes nothing. So the spy:
 *   - on SIGTERM/SIGINT lets the service's own handlers run (they are listeners of the same
 *     signal), and exits itself only when there are none or when they take longer than
 *     REALSTACK_COVERAGE_FLUSH_MS (keep-alive sockets, a forgotten timer), which the compose
 *     overlay keeps below stop_grace_period; as PID 1, where a signal without a handler does
 *     nothing at all, this is what makes the container stoppable;
 *   - on the snapshot signal (REALSTACK_COVERAGE_SIGNAL, default SIGUSR2; never SIGUSR1,
 *     which opens the inspector) calls v8.takeCoverage(): a dump now, counters reset;
 *   - keeps a metadata file beside the dumps: service, instance, host, pid, script, source
 *     root, start and stop time, how it stopped. A metadata file without a stop is a process
 *     that was killed before it could flush, which the harvester reports;
 *   - with REALSTACK_SLICE_DIR (per-test recording), takes slices: when the host writes
 *     control.json there (a sequence number and the test that just ended), it takes V8's
 *     precise coverage through an inspector session of its own (which resets the counters, as
 *     a dump does), keeps only the service's own scripts and writes them as one small slice
 *     tagged with the test; a file per process says which slice it took last, so the host
 *     knows when every process has answered. The folder is watched (inotify reaches every
 *     process, PID 1 or not) and the snapshot signal makes the spy look too;
 *   - knows which processes are the service: with REALSTACK_ENTRY (scripts relative to the
 *     source root), any other Node process (a migration run before the server, npm, a health
 *     probe) is a helper: its metadata says so, the harvester leaves its dump out, and the spy
 *     changes nothing of how it runs. Worker threads belong to their process: they run the
 *     preload too, and the spy does nothing in them (V8 writes their coverage beside the
 *     process's own, under the same pid). A process the service starts itself
 *     (`child_process.fork('./worker.js')`) is the service too: it inherits
 *     REALSTACK_ENTRY_PID, which the entry's spy sets. As a container's PID 1 (or the one child
 *     of its init), it waits at its exit for its node children to end, writing their coverage:
 *     the container's end kills whatever still runs. A package's command of the project's own
 *     (node_modules/...) given the entry as an argument may run it in this process (`ts-node
 *     src/server.ts`) or start another that does (nodemon, tsx): it is the service unless, at
 *     its exit, it never loaded the entry.
 * It never breaks the service: its own errors are reported once and swallowed.
 * Plain JavaScript, no dependencies, Node >= 18; mounted read-only, never baked into an image.
 */
const INITS = ['docker-init', 'tini', 'tini-static', 'dumb-init'];

(function coverageSpy() {
  const dir = process.env.NODE_V8_COVERAGE;
  if (!dir) return;
  try {
    if (!require('node:worker_threads').isMainThread) return;
  } catch {}

  let warned = false;
  function warn(err) {
    if (warned) return;
    warned = true;
    try {
      process.stderr.write(
        `[coverage-spy] ${err?.message ?? err}; coverage of this process may be incomplete\n`,
      );
    } catch {}
  }
  function guarded(fn) {
    return function guardedListener(...args) {
      try {
        return fn.apply(this, args);
      } catch (err) {
        warn(err);
      }
    };
  }

  try {
    const fs = require('node:fs');
    const os = require('node:os');
    const path = require('node:path');
    const v8 = require('node:v8');
    const env = process.env;

    const started = Date.now();
    const flushMs =
      Number(env.REALSTACK_COVERAGE_FLUSH_MS) > 0 ? Number(env.REALSTACK_COVERAGE_FLUSH_MS) : 10000;
    let snapshotSignal = env.REALSTACK_COVERAGE_SIGNAL || 'SIGUSR2';
    if (snapshotSignal === 'SIGUSR1' || !(snapshotSignal in os.constants.signals)) {
      warn(
        new Error(
          `REALSTACK_COVERAGE_SIGNAL=${snapshotSignal} cannot be used (SIGUSR1 opens the inspector); using SIGUSR2`,
        ),
      );
      snapshotSignal = 'SIGUSR2';
    }

    const sourceRoot = env.REALSTACK_SOURCE_ROOT || process.cwd();
    const mainPath = process.argv[1] ? path.resolve(process.argv[1]) : '';
    const main = mainPath && path.relative(sourceRoot, mainPath);
    const entries = (env.REALSTACK_ENTRY || '')
      .split(',')
      .map((e) => path.normalize(e.trim()))
      .filter((e) => e && e !== '.');
    const isEntry = (file) => entries.includes(path.relative(sourceRoot, path.resolve(file)));
    const runsEntry =
      entries.length > 0 &&
      !entries.includes(main) &&
      !main.startsWith('..') &&
      main.split(path.sep).includes('node_modules') &&
      process.argv.slice(2).some((a) => !a.startsWith('-') && isEntry(a));
    const meta = {
      service: env.REALSTACK_SERVICE || path.basename(process.cwd()),
      instance: env.REALSTACK_INSTANCE || os.hostname(),
      host: os.hostname(),
      pid: process.pid,
      // Outside the source root (npm's own script), where it is says more than a path of ../../
      script: (main.startsWith(`..${path.sep}`) ? mainPath : main) || '(none: -e, -p or a REPL)',
      helper: entries.length > 0 && !entries.includes(main) && !env.REALSTACK_ENTRY_PID && !runsEntry,
      ...(env.REALSTACK_ENTRY_PID ? { startedBy: Number(env.REALSTACK_ENTRY_PID) } : {}),
      sourceRoot,
      startedAt: new Date(started).toISOString(),
      snapshots: [],
      stop: null,
    };
    fs.mkdirSync(dir, { recursive: true });
    const metaFile = path.join(dir, `realstack-meta-${process.pid}-${started}.json`);
    const save = () => {
      // Write then rename: a harvester never reads half a file.
      fs.writeFileSync(`${metaFile}.tmp`, JSON.stringify(meta, null, 2));
      fs.renameSync(`${metaFile}.tmp`, metaFile);
    };
    save();

    const recordExit = guarded((code) => {
      // The entry runs in this process only if it was loaded here (required: ts-node compiles
      // through require); a supervisor that started it elsewhere was a helper all along.
      if (runsEntry && !Object.keys(require.cache).some(isEntry)) meta.helper = true;
      meta.stop = {
        ...(meta.stop || { how: 'exit' }),
        exitCode: code,
        stoppedAt: new Date().toISOString(),
      };
      save();
    });
    if (meta.helper) {
      // Not the service: recorded so that its dump is left out, and otherwise left alone.
      process.on('exit', recordExit);
      return;
    }
    // What the service starts inherits it (the environment is the one thing a child shares);
    // not from a process that may be a supervisor, whose child is judged by its own script.
    if (entries.length > 0 && !runsEntry) env.REALSTACK_ENTRY_PID ||= String(process.pid);

    let stopping = false;
    const onStop = (signal) => {
      if (stopping) return;
      stopping = true;
      meta.stop = { signal, requestedAt: new Date().toISOString(), how: 'service-shutdown' };
      save();
      const code = 128 + os.constants.signals[signal];
      if (process.listenerCount(signal) <= 1) {
        // No handler of the service's own: exit as the signal would have, but with a flush.
        meta.stop.how = 'spy-exit';
        process.exit(code);
      }
      const fallback = setTimeout(
        guarded(() => {
          meta.stop.how = 'fallback-timer';
          process.exit(code);
        }),
        flushMs,
      );
      fallback.unref();
    };
    for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, guarded(onStop));

    let slices = null;
    try {
      if (env.REALSTACK_SLICE_DIR) slices = sliceTaker(env.REALSTACK_SLICE_DIR, meta);
    } catch (err) {
      // Slices are lost, the process's coverage is not: its dumps still come at the stop.
      warn(err);
    }
    process.on(
      snapshotSignal,
      guarded(() => {
        if (slices) return slices.look();
        v8.takeCoverage();
        meta.snapshots.push(new Date().toISOString());
        save();
      }),
    );

    process.on('exit', recordExit);
    if (slices) process.on('exit', guarded(slices.stopped));
    // A container's PID 1 takes every other process down with it when it exits, killed: its
    // node children (cluster workers, a forked job), signalled with it, may still be writing
    // their coverage. It waits for them, a few seconds at most; so does the one child of an init
    // (`init: true`: docker-init, or tini), whose exit ends the init, and the container with it.
    if (process.pid === 1 || (process.ppid === 1 && INITS.includes(readComm(1))))
      process.on(
        'exit',
        guarded(() => waitForChildren(Math.min(flushMs, 5000))),
      );
  } catch (err) {
    warn(err);
  }

  /** A process's command name, from /proc ('' where there is none to read). */
  function readComm(pid) {
    try {
      return require('node:fs').readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  }

  /** Blocks (the process is exiting: there is no event loop left) while a node child of this process lives. */
  function waitForChildren(ms) {
    const fs = require('node:fs');
    const living = () =>
      fs.readdirSync('/proc').some((pid) => {
        if (!/^\d+$/.test(pid)) return false;
        let stat;
        try {
          stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        } catch {
          return false;
        }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // A child that has ended is a zombie until reaped, which an exiting process no longer does.
        return comm === 'node' && Number(ppid) === process.pid && state !== 'Z';
      });
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && living()) Atomics.wait(nap, 0, 0, 20);
  }

  /** Per-test slices (see the top): the control file read, a slice per new sequence number. */
  function sliceTaker(sliceDir, meta) {
    const fs = require('node:fs');
    const path = require('node:path');
    const session = new (require('node:inspector').Session)();
    session.connect();
    // Same mode as NODE_V8_COVERAGE's own session, so V8 keeps its counters as they are.
    session.post('Profiler.enable');
    session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

    const root = meta.sourceRoot.replace(/\/$/, '');
    const own = (url) => {
      const p = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
      return p.startsWith(`${root}/`) && !p.includes('/node_modules/') && !p.includes('/coverage-spy/');
    };
    const tag = `${meta.host}-${meta.pid}`;
    const write = (file, value) => {
      const target = path.join(sliceDir, file);
      fs.writeFileSync(`${target}.tmp`, JSON.stringify(value));
      fs.renameSync(`${target}.tmp`, target);
    };
    const readControl = () => {
      try {
        return JSON.parse(fs.readFileSync(path.join(sliceDir, 'control.json'), 'utf8'));
      } catch {
        return null;
      }
    };
    const spy = {
      service: meta.service,
      instance: meta.instance,
      host: meta.host,
      pid: meta.pid,
      sourceRoot: meta.sourceRoot,
      startedAt: meta.startedAt,
      // What ran before this process's first slice goes to the next test's boundary.
      lastSeq: readControl()?.seq ?? 0,
      stoppedAt: null,
    };
    write(`spy-${tag}.json`, spy);

    const look = guarded(() => {
      const control = readControl();
      if (!control || !(control.seq > spy.lastSeq)) return;
      spy.lastSeq = control.seq;
      session.post('Profiler.takePreciseCoverage', (err, res) => {
        if (err) return warn(err);
        const result = res.result.filter((s) => own(s.url));
        if (result.length > 0) {
          write(`slice-${tag}-${control.seq}.json`, {
            seq: control.seq,
            id: control.id,
            service: meta.service,
            instance: meta.instance,
            pid: meta.pid,
            sourceRoot: meta.sourceRoot,
            takenAt: new Date().toISOString(),
            result,
          });
        }
        write(`spy-${tag}.json`, spy);
      });
    });
    fs.watch(sliceDir, { persistent: false }, (_event, file) => {
      if (file === 'control.json') look();
    }).on('error', warn);
    // Where a mount carries no file events (a remote daemon, some desktop VMs), a look now and then.
    setInterval(look, 500).unref();
    return {
      look,
      stopped() {
        spy.stoppedAt = new Date().toISOString();
        write(`spy-${tag}.json`, spy);
      },
    };
  }
})();
