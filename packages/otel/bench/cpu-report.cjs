// Loaded first by the startup benchmark: reports this process's CPU time and peak RSS at exit.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(
    `\n@@bench ${JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKiB: u.maxRSS })}\n`,
  );
});
