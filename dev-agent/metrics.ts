/**
 * /host/metrics from this machine's own /proc and /sys, so the numbers move like a real
 * host's; storage capacity comes from the mount directories and SMART from the
 * simulated drives behind them.
 */
import { readFile, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isoSeconds, readFileIfExists } from './files.ts';
import { ApiError } from './http.ts';
import { capacityOf, mountPath } from './storage.ts';
import type { AgentState } from './state.ts';

interface CpuSample {
  busy: number;
  total: number;
}

async function sampleCpu(): Promise<{ sample: CpuSample; count: number }> {
  const lines = (await readFile('/proc/stat', 'utf8')).split('\n');
  const fields = (lines[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are the idle time.
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const count = lines.filter((line) => /^cpu\d+\s/.test(line)).length;
  return { sample: { busy: total - idle, total }, count };
}

async function cpuTemperature(): Promise<number | null> {
  const thermal = '/sys/class/thermal';
  const zones = (await readdir(thermal).catch(() => [])).filter((name) => name.startsWith('thermal_zone'));
  const readings: { type: string; celsius: number }[] = [];
  for (const zone of zones) {
    const milli = Number((await readFileIfExists(`${thermal}/${zone}/temp`))?.trim());
    if (Number.isFinite(milli) && milli > 0) readings.push({ type: ((await readFileIfExists(`${thermal}/${zone}/type`)) ?? '').trim(), celsius: milli / 1000 });
  }
  const hwmon = '/sys/class/hwmon';
  for (const device of await readdir(hwmon).catch(() => [])) {
    const milli = Number((await readFileIfExists(`${hwmon}/${device}/temp1_input`))?.trim());
    if (Number.isFinite(milli) && milli > 0) readings.push({ type: ((await readFileIfExists(`${hwmon}/${device}/name`)) ?? '').trim(), celsius: milli / 1000 });
  }
  // Prefer a sensor that is the CPU package; any sensor beats none.
  const cpu = readings.find((reading) => /x86_pkg|coretemp|k10temp|cpu|soc/i.test(reading.type)) ?? readings[0];
  return cpu ? Math.round(cpu.celsius * 10) / 10 : null;
}

function meminfo(text: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return match?.[1] ? Number(match[1]) * 1024 : 0;
}

export class HostMetricsCollector {
  #previous: CpuSample | null = null;

  async collect(state: AgentState, mountRoot: string) {
    try {
      return await this.#collect(state, mountRoot);
    } catch (error) {
      throw new ApiError(503, 'unavailable', `host metrics collector unavailable (${(error as Error).message}); retry later`);
    }
  }

  async #cpuPercent(): Promise<{ percent: number; count: number }> {
    let { sample, count } = await sampleCpu();
    // cpu% is a rate: it needs an earlier sample, and one far enough back to have ticked.
    if (!this.#previous || sample.total === this.#previous.total) {
      this.#previous = sample;
      await sleep(100);
      ({ sample, count } = await sampleCpu());
    }
    const previous = this.#previous;
    this.#previous = sample;
    const total = sample.total - previous.total;
    const percent = total > 0 ? ((sample.busy - previous.busy) / total) * 100 : 0;
    return { percent: Math.round(Math.min(100, Math.max(0, percent)) * 10) / 10, count };
  }

  async #collect(state: AgentState, mountRoot: string) {
    const [{ percent, count }, memory, loadavg, uptime, temperature] = await Promise.all([
      this.#cpuPercent(),
      readFile('/proc/meminfo', 'utf8'),
      readFile('/proc/loadavg', 'utf8'),
      readFile('/proc/uptime', 'utf8'),
      cpuTemperature(),
    ]);
    const memTotal = meminfo(memory, 'MemTotal');
    const load = loadavg.trim().split(/\s+/).slice(0, 3).map(Number);
    const storage = await Promise.all(
      state.mounts
        .filter((mount) => mount.state === 'attached')
        .map(async (mount) => {
          const capacity = await capacityOf(mountPath(mountRoot, mount.id));
          const usedFraction = capacity.total_bytes > 0 ? Math.round((capacity.used_bytes / capacity.total_bytes) * 10000) / 10000 : 0;
          const disk = state.disks.find((candidate) => candidate.id === mount.disk);
          return {
            id: mount.id,
            label: mount.label,
            total_bytes: capacity.total_bytes,
            used_bytes: capacity.used_bytes,
            used_fraction: usedFraction,
            // A thin pool runs a little fuller than the filesystem on it shows.
            thin_pool_fill: mount.kind === 'pool' ? Math.min(1, Math.round((usedFraction + 0.04) * 10000) / 10000) : null,
            disks: disk
              ? [{ device: disk.device, model: disk.model, smart_temp_c: disk.smart.temp_c, wear_percent: disk.smart.wear_percent, smart_ok: disk.smart.ok }]
              : [],
          };
        }),
    );
    return {
      collected_at: isoSeconds(),
      hostname: hostname(),
      cpu_percent: percent,
      cpu_count: count,
      mem_total_bytes: memTotal,
      mem_used_bytes: memTotal - meminfo(memory, 'MemAvailable'),
      load: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
      uptime_seconds: Math.floor(Number(uptime.split(/\s+/)[0])),
      cpu_temp_c: temperature,
      storage,
    };
  }
}
