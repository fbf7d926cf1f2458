// The pipe protocol of the VM runners (runner.mjs, board.mjs) with their parent (hil/vm, hil/vboard):
// length-prefixed messages on stdin/stdout, a u32 length (little-endian) and a one-letter kind.
import fs from "fs";

export function readExact(n) {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    let k;
    try {
      k = fs.readSync(0, buf, got, n - got, null);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      throw e;
    }
    if (k === 0) process.exit(0); // parent went away
    got += k;
  }
  return buf;
}

export function readMsg() {
  const head = readExact(5);
  const len = head.readUInt32LE(0);
  return { kind: String.fromCharCode(head[4]), body: len ? readExact(len) : Buffer.alloc(0) };
}

export function writeMsg(kind, body) {
  const head = Buffer.alloc(5);
  head.writeUInt32LE(body.length, 0);
  head[4] = kind.charCodeAt(0);
  const out = Buffer.concat([head, body]);
  let off = 0;
  while (off < out.length) {
    try {
      off += fs.writeSync(1, out, off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}
