// Preloaded (node --import) into a process the benchmark measures from outside: on exit it writes
// the process's peak RSS (getrusage ru_maxrss, in bytes) to the file named by BENCH_PEAK_RSS_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_PEAK_RSS_FILE;
if (file) process.once('exit', () => { writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)); });
