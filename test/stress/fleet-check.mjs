// The fleet test's checker: from the jobs' own log (real time, date(1) outside libfaketime), how many runs started
// in each window, whether two runs overlapped, and whether every host's clock really was skewed.

/**
 * `lines`: "<host> start|end <ns since epoch>" lines. Windows are [t0 + k·period, t0 + (k+1)·period) of real time.
 * With `oncePer`, windows 0..windows-1 must each have exactly one run, and windows -1 (hosts that fire early) and
 * `windows` (a firing delayed by load) at most one; every run's onlyone must have exited 0, or 75 with a conflict message. Without it, the count is reported for the self-check.
 */
export function checkFleet({ oncePer, t0, periodMs, windows, drawn, monoToReal, results, lines }) {
  const problems = [];
  const starts = [];
  const ends = new Map();
  for (const line of lines.split('\n').filter(Boolean)) {
    const match = /^(\S+) (start|end) (\d+)$/u.exec(line);
    if (match === null) {
      problems.push(`malformed log line ${JSON.stringify(line)}`);
      continue;
    }
    const ms = Number(BigInt(match[3]) / 1_000_000n);
    if (match[2] === 'start') starts.push({ host: match[1], ms });
    else (ends.get(match[1]) ?? ends.set(match[1], []).get(match[1])).push(ms);
  }
  const perWindow = new Map();
  for (const { ms } of starts) {
    const k = Math.floor((ms - t0) / periodMs);
    perWindow.set(k, (perWindow.get(k) ?? 0) + 1);
  }
  let windowsWithSeveralRuns = 0;
  // Window `windows` may get a firing of the last window that a loaded machine delayed past its boundary.
  for (let k = -1; k <= windows; k++) {
    const count = perWindow.get(k) ?? 0;
    if (count > 1) windowsWithSeveralRuns++;
    if (oncePer && (count > 1 || (k >= 0 && k < windows && count !== 1))) problems.push(`window ${k} (${new Date(t0 + k * periodMs).toISOString()}): ${count} runs`);
  }
  for (const k of perWindow.keys()) if (k < -1 || k > windows) problems.push(`a run started outside the test's windows (window ${k})`);
  // Overlap: sort every run (start, matching end of the same host in order) and sweep.
  const sections = [];
  const byHost = new Map();
  for (const s of starts) (byHost.get(s.host) ?? byHost.set(s.host, []).get(s.host)).push(s.ms);
  for (const [id, hostStarts] of byHost) {
    const hostEnds = ends.get(id) ?? [];
    hostStarts.forEach((start, i) => sections.push({ start, end: hostEnds[i] ?? Number.POSITIVE_INFINITY }));
  }
  sections.sort((a, b) => a.start - b.start);
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
    const real = monoToReal + Number(BigInt(clock.mono) / 1_000_000n);
    const skew = clock.clock - real;
    if (Math.abs(skew - expected.skewMs) > 250) problems.push(`${clock.host}: clock skew ${skew} ms, expected ${expected.skewMs} ms: libfaketime did not take`);
    for (const run of events.filter((e) => e.event === 'run')) {
      // 75 is a conflict: the lock was held at that instant, or (with --once-per) the window was used up.
      const conflict = run.code === 75 && (/ is already running \(/u.test(run.stderr) || (oncePer && /already ran in this window/u.test(run.stderr)));
      if (run.code !== 0 && !conflict) {
        problems.push(`${run.host} window ${run.window}: onlyone exited ${run.code ?? run.signal}: ${run.stderr}`);
      }
    }
  }
  const counts = [...Array(windows + 2).keys()].map((i) => perWindow.get(i - 1) ?? 0);
  return { problems, windowsWithSeveralRuns, summary: `${starts.length} runs; runs per window (from window -1): ${counts.join(' ')}; ${overlaps} overlaps` };
}
