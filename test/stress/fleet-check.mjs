// The fleet test's checker. Runs are known from the jobs' own log (real time from date(1), outside libfaketime), and
// each firing's spawn and exit from its host (CLOCK_MONOTONIC, mapped to real time). A run's lock was taken between
// its onlyone's spawn and its job's start: on a loaded machine that can take seconds, so a run is placed in a real
// window only when that whole interval lies inside it.

/** Parses "<host> <k> start <ns> <window|none>" and "<host> <k> end <ns>" lines. */
function readLog(lines, problems) {
  const runs = new Map();
  for (const line of lines.split('\n').filter(Boolean)) {
    const match = /^(\S+) (\d+) (start|end) (\d+)(?: (\S+))?$/u.exec(line);
    if (match === null) {
      problems.push(`malformed log line ${JSON.stringify(line)}`);
      continue;
    }
    const key = `${match[1]}/${match[2]}`;
    const run = runs.get(key) ?? runs.set(key, { host: match[1], k: Number(match[2]) }).get(key);
    const ms = Number(BigInt(match[4]) / 1_000_000n);
    if (match[3] === 'start') Object.assign(run, { start: ms, window: match[5] === 'none' ? undefined : Date.parse(match[5]) });
    else run.end = ms;
  }
  return [...runs.values()];
}

/**
 * With `oncePer` the checker requires: no two runs got the same window; every window onlyone gave a run is aligned
 * to the period and contains the instant the lock was taken (it lies between spawn and job start), so it came from
 * the real clock and not a skewed host's; at most one run placed in each real window, and exactly one in each window
 * where an attempt provably decided it (it ran, or was told the window was used, spawned and exited inside it);
 * no two runs overlap. Without it, it counts the windows with several runs, for the self-check.
 */
export function checkFleet({ oncePer, t0, periodMs, windows, drawn, monoToReal, results, lines }) {
  const problems = [];
  const runs = readLog(lines, problems);
  const real = (mono) => monoToReal + Number(BigInt(mono) / 1_000_000n);
  const windowOf = (ms) => Math.floor((ms - t0) / periodMs);
  const firings = new Map();
  for (const { events } of results) for (const e of events.filter((x) => x.event === 'run')) firings.set(`${e.host}/${e.window}`, e);

  const perWindow = new Map();
  const decided = new Set();
  const given = new Map();
  for (const run of runs) {
    const firing = firings.get(`${run.host}/${run.k}`);
    if (firing === undefined || run.start === undefined) {
      problems.push(`${run.host} firing ${run.k}: a job ran without a matching firing`);
      continue;
    }
    const spawned = real(firing.spawnedMono);
    // The lock was taken in [spawned, run.start]: place the run only when that lies in one window.
    if (windowOf(spawned) === windowOf(run.start)) perWindow.set(windowOf(run.start), (perWindow.get(windowOf(run.start)) ?? 0) + 1);
    if (!oncePer) continue;
    if (run.window === undefined || Number.isNaN(run.window)) {
      problems.push(`${run.host} firing ${run.k}: the job got no ONLYONE_WINDOW`);
      continue;
    }
    const other = given.get(run.window);
    if (other !== undefined) problems.push(`window ${new Date(run.window).toISOString()} given to two runs: ${other} and ${run.host}/${run.k}`);
    given.set(run.window, `${run.host}/${run.k}`);
    if ((run.window - t0) % periodMs !== 0) problems.push(`${run.host} firing ${run.k}: window ${new Date(run.window).toISOString()} is not aligned to the real clock`);
    // Slack for the conversion of CLOCK_MONOTONIC to real time and the coarse file system clock.
    if (run.window > run.start + 50 || run.window + periodMs < spawned - 50) {
      problems.push(`${run.host} firing ${run.k}: window ${new Date(run.window).toISOString()} does not contain the lock's real time (${new Date(spawned).toISOString()} .. ${new Date(run.start).toISOString()}): it came from a skewed clock`);
    }
  }
  for (const { events } of results) {
    for (const e of events.filter((x) => x.event === 'run' && x.spawnedMono !== undefined)) {
      const from = windowOf(real(e.spawnedMono));
      if (from === windowOf(real(e.exitedMono)) && (e.code === 0 || /already ran in this window/u.test(e.stderr))) decided.add(from);
    }
  }

  let windowsWithSeveralRuns = 0;
  const undecided = [];
  for (const k of new Set([...perWindow.keys(), ...Array.from({ length: windows }, (_, i) => i)])) {
    const count = perWindow.get(k) ?? 0;
    if (count > 1) windowsWithSeveralRuns++;
    if (!oncePer) continue;
    if (count > 1 || (decided.has(k) && count !== 1 && !runs.some((r) => r.window === t0 + k * periodMs))) {
      problems.push(`window ${k} (${new Date(t0 + k * periodMs).toISOString()}): ${count} runs`);
    } else if (k >= 0 && k < windows && !decided.has(k)) undecided.push(k);
  }
  if (oncePer && undecided.length === windows) problems.push('no window was decided by an attempt inside it: the machine is too loaded for this test');

  const sections = runs.filter((r) => r.start !== undefined).map((r) => ({ start: r.start, end: r.end ?? Number.POSITIVE_INFINITY })).sort((a, b) => a.start - b.start);
  let overlaps = 0;
  for (let i = 1; i < sections.length; i++) if (sections[i].start < sections[i - 1].end) overlaps++;
  if (oncePer && overlaps > 0) problems.push(`${overlaps} runs overlapped another`);

  // Every host really ran on a skewed clock (libfaketime did shift Node's clock), and every onlyone ended as expected.
  for (const { events } of results) {
    const clock = events.find((e) => e.event === 'clock');
    const expected = drawn.find((h) => h.host === clock?.host);
    if (clock === undefined || expected === undefined) {
      problems.push('a host did not report its clock');
      continue;
    }
    const skew = clock.clock - real(clock.mono);
    if (Math.abs(skew - expected.skewMs) > 250) problems.push(`${clock.host}: clock skew ${skew} ms, expected ${expected.skewMs} ms: libfaketime did not take`);
    for (const run of events.filter((e) => e.event === 'run')) {
      // 75 is a conflict: the lock was held at that instant, or (with --once-per) the window was used up.
      const conflict = run.code === 75 && (/ is already running \(/u.test(run.stderr) || (oncePer && /already ran in this window/u.test(run.stderr)));
      if (run.code !== 0 && !conflict) problems.push(`${run.host} window ${run.window}: onlyone exited ${run.code ?? run.signal}: ${run.stderr}`);
    }
  }
  const late = Math.max(0, ...results.flatMap(({ events }) => events.filter((e) => e.event === 'run').map((e) => e.lateMs ?? 0)));
  const counts = [...Array(windows + 2).keys()].map((i) => perWindow.get(i - 1) ?? 0);
  const note = undecided.length === 0 ? '' : `; windows ${undecided.join(', ')} saw no deciding attempt (load)`;
  return { problems, windowsWithSeveralRuns, summary: `${runs.length} runs; runs per window (from window -1): ${counts.join(' ')}; ${overlaps} overlaps; latest firing ${late} ms late${note}` };
}
