// The server's own record of a lab session (Lab/WatchRequests), read from
// Node over gRPC-Web — not through the page — so that a test can set what
// the page shows against what the server did, request by request.
//
// Only the fields the tests need are decoded from each RequestRecord
// (proto/calculator/v1/lab.proto): live (3), operation (6), outcome (13),
// server_micros (18), bookkeeping (19).

/** Reads one protobuf varint at `at`; returns [value as a BigInt, next offset]. */
function varint(bytes, at) {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = bytes[at++];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, at];
  }
}

/** The fields of one RequestRecord message this file reads. */
function decodeRecord(bytes) {
  const record = { live: false, operation: '', outcome: 0, serverMicros: 0, bookkeeping: false };
  for (let at = 0; at < bytes.length; ) {
    const [key, next] = varint(bytes, at);
    at = next;
    const [field, wire] = [Number(key >> 3n), Number(key & 7n)];
    if (wire === 0) {
      const [value, after] = varint(bytes, at);
      at = after;
      if (field === 3) record.live = value !== 0n;
      if (field === 13) record.outcome = Number(value);
      if (field === 18) record.serverMicros = Number(value);
      if (field === 19) record.bookkeeping = value !== 0n;
    } else if (wire === 2) {
      const [length, after] = varint(bytes, at);
      const end = after + Number(length);
      if (field === 6) record.operation = new TextDecoder().decode(bytes.subarray(after, end));
      at = end;
    } else if (wire === 1) {
      at += 8;
    } else if (wire === 5) {
      at += 4;
    } else {
      throw new Error(`RequestRecord: unexpected wire type ${wire} for field ${field}`);
    }
  }
  return record;
}

/**
 * Every request the server recorded in `session` so far: the watch's
 * backlog, read until the first live record or until nothing more comes for
 * `quietMs`, then the stream is closed.
 */
export async function serverRecords(serverUrl, session, { quietMs = 1500 } = {}) {
  const abort = new AbortController();
  const response = await fetch(`${serverUrl}/calculator.v1.Lab/WatchRequests`, {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', 'x-lab-session': session },
    body: new Uint8Array(5), // one gRPC-Web frame: uncompressed, an empty WatchRequestsRequest
    signal: abort.signal,
  });
  if (!response.ok) throw new Error(`WatchRequests: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const records = [];
  let pending = new Uint8Array(0);
  let quiet;
  try {
    for (;;) {
      quiet = setTimeout(() => abort.abort(), quietMs);
      const { value, done } = await reader.read();
      clearTimeout(quiet);
      if (done) return records;
      pending = Uint8Array.from([...pending, ...value]);
      while (pending.length >= 5) {
        const length = new DataView(pending.buffer, pending.byteOffset + 1, 4).getUint32(0);
        if (pending.length < 5 + length) break;
        const [flags, message] = [pending[0], pending.subarray(5, 5 + length)];
        pending = pending.subarray(5 + length);
        if (flags & 0x80) return records; // the trailers: the stream ended
        const record = decodeRecord(message);
        if (record.live) return records; // the backlog is over
        records.push(record);
      }
    }
  } catch (error) {
    if (error.name === 'AbortError') return records;
    throw error;
  } finally {
    clearTimeout(quiet);
    abort.abort();
  }
}
