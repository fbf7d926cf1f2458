// One boot of a virtual board (hil/vboard.py): the official MicroPython WebAssembly port with the
// board's filesystem (a host folder) at its root and the board's modules (hil/vm/board_shim.py).
// Every boot is a fresh process, so a reset really clears the heap; files persist in the folder.
//   parent -> runner: 'E' JSON {kind: "file"|"exec"|"single", text} | 'R' reply to a call | 'Q' quit
//   runner -> parent: 'O' bytes the board printed | 'C' call (byte 0: kbd_intr char + 1, then JSON)
//                     'D' JSON {err} when an 'E' is finished (err: traceback text or "")
// Files written by the board are written through to the folder when closed, renamed or removed.
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";
import { readMsg, writeMsg } from "./pipe.mjs";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split(/=(.*)/s).slice(0, 2)));
// --module: micropython.mjs of the npm package, found by hil/vm (a checkout's node_modules or the user's).
const { loadMicroPython } = await import(pathToFileURL(args.module).href);
const root = path.resolve(args.fs);
const heap = parseInt(args.heap || String(256 * 1024), 10);
const SYSTEM = ["/dev", "/proc", "/tmp", "/home"];

let out = [];
function flush() {
  if (out.length) {
    writeMsg("O", Buffer.from(out));
    out = [];
  }
}

const mp = await loadMicroPython({
  heapsize: heap,
  linebuffer: false,
  stdout: (b) => {
    out.push(b[0]);
    if (out.length >= 512) flush();
  },
});
const M = mp._module;
const FS = mp.FS;

// ---- the board's filesystem: load the folder, write changes through -----------------------------
function load(rel) {
  for (const name of fs.readdirSync(path.join(root, rel))) {
    const p = rel + "/" + name;
    if (SYSTEM.includes(p)) continue;
    const st = fs.statSync(path.join(root, p));
    if (st.isDirectory()) {
      try { FS.mkdir(p); } catch (e) { /* exists */ }
      load(p);
    } else {
      FS.writeFile(p, fs.readFileSync(path.join(root, p)));
    }
  }
}
load("");

const mine = (p) => typeof p === "string" && p.startsWith("/") && !SYSTEM.some((s) => p === s || p.startsWith(s + "/"));
const host = (p) => path.join(root, p);
const close = FS.close.bind(FS);
FS.close = (stream) => {
  const p = stream.path;
  const wrote = (stream.flags & 3) !== 0;
  close(stream);
  if (wrote && mine(p)) {
    try { fs.writeFileSync(host(p), FS.readFile(p)); } catch (e) { /* removed meanwhile */ }
  }
};
for (const [op, hostOp] of [["unlink", fs.unlinkSync], ["rmdir", fs.rmdirSync], ["mkdir", fs.mkdirSync]]) {
  const orig = FS[op].bind(FS);
  FS[op] = (p, ...rest) => {
    const r = orig(p, ...rest);
    const abs = FS.lookupPath ? p : p;
    if (mine(abs)) { try { hostOp(host(abs)); } catch (e) { /* already so */ } }
    return r;
  };
}
const rename = FS.rename.bind(FS);
FS.rename = (a, b) => {
  rename(a, b);
  if (mine(a) && mine(b)) fs.renameSync(host(a), host(b));
};

// ---- calls to the host -------------------------------------------------------------------------
mp.registerJsModule("vbhost", {
  call: (json) => {
    flush();
    const intr = M._mp_hal_get_interrupt_char();
    writeMsg("C", Buffer.concat([Buffer.from([(intr + 1) & 0xff]), Buffer.from(json, "utf8")]));
    const msg = readMsg();
    if (msg.kind === "Q") process.exit(0);
    const reply = msg.body.toString("utf8");
    if (reply.startsWith("!")) {              // Ctrl-C while interrupts are on: KeyboardInterrupt
      M._mp_sched_keyboard_interrupt();
      return reply.slice(1);
    }
    return reply;
  },
});

mp.runPython(`import os\nos.chdir('/')`);
mp.globals.set("_vb_board_json", args.board || "{}");
mp.runPython(fs.readFileSync(new URL("./board_shim.py", import.meta.url), "utf8"));

writeMsg("D", Buffer.from(JSON.stringify({ err: "", ready: true })));
for (;;) {
  const msg = readMsg();
  if (msg.kind === "Q") break;
  if (msg.kind !== "E") continue;
  const req = JSON.parse(msg.body.toString("utf8"));
  let err;
  try {
    err = mp.globals.get("_vb_exec")(req.kind, req.text);
  } catch (e) {
    err = String(e && e.message ? e.message : e).replace(/^PythonError: /, "") + "\n";
  }
  flush();
  writeMsg("D", Buffer.from(JSON.stringify({ err: err || "" })));
}
process.exit(0);
