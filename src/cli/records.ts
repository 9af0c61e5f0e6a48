// Reading import files as a stream of records: a JSON array (parsed incrementally with
// stream-json) or NDJSON (one record a line). Memory stays bounded whatever the file's size.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import StreamArray from 'stream-json/streamers/StreamArray.js';
import { UnreadableRecord } from '../domain/import.js';

/** Whether the file is a JSON array (its first non-space character is `[`). */
async function isJsonArray(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const start = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    return start.startsWith('[');
  } finally {
    await handle.close();
  }
}


export async function* readRecords(file: string): AsyncGenerator<unknown> {
  if (await isJsonArray(file)) {
    const pipeline = createReadStream(file).pipe(StreamArray.withParser());
    for await (const item of pipeline as AsyncIterable<{ key: number; value: unknown }>) yield item.value;
    return;
  }
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      // It keeps its place, so the indexes of the records after it stay right.
      record = new UnreadableRecord('The line is not valid JSON.');
    }
    yield record;
  }
}
