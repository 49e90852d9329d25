// Loaded with --import into each test file's process by run-tests.mjs: at exit it writes the CPU
// time of the process and of every child it waited for (the CLI processes and servers a test
// spawns) to the file named by BMO_TEST_CPU_FILE, so the runner can report CPU as well as wall time.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.BMO_TEST_CPU_FILE;
delete process.env.BMO_TEST_CPU_FILE; // the processes a test spawns do not write it

/** CPU milliseconds of this process plus its waited-for children (Linux), else of this process alone. */
function cpuMs() {
  try {
    // Fields after the command name: utime, stime, cutime, cstime are fields 14-17, in clock ticks (100 a second).
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * 10;
  } catch {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
}

if (file) process.on('exit', () => writeFileSync(file, String(Math.round(cpuMs()))));
