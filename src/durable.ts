import fs from 'node:fs/promises';

/** Makes the entries of a directory (a rename, a new file) survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
