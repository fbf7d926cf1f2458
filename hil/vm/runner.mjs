// Runs the official MicroPython WebAssembly port under Node for safehaven's tests and virtual bench.
// The parent (CPython, hil/vm/__init__.py) drives it over stdin/stdout with length-prefixed messages:
//   parent -> runner: 'E' code to exec | 'R' reply to a call | 'Q' quit
//   runner -> parent: 'C' call from Python (vmhost.call) | 'D' JSON outcome of an exec
// Python code in the VM reaches the parent synchronously through the JS module `vmhost`.
import fs from "fs";
import path from "path";
import { pathToFileURL } from "url";
import { readMsg, writeMsg } from "./pipe.mjs";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split(/=(.*)/s).slice(0, 2)));
// --module: micropython.mjs of the npm package, found by hil/vm (a checkout's node_modules or the user's).
const { loadMicroPython } = await import(pathToFileURL(args.module).href);
const root = path.resolve(args.root || ".");
const heap = parseInt(args.heap || String(1024 * 1024), 10);
const echo = process.env.SAFEHAVEN_VM_ECHO === "1";

let stdoutChunks = [];
const mp = await loadMicroPython({
  heapsize: heap,
  linebuffer: false,
  stdout: (b) => {
    stdoutChunks.push(Buffer.from(b));
    if (echo) process.stderr.write(b);
  },
});

// Mirror the repository's MicroPython-side folders into the VM's filesystem.
function mirror(rel) {
  const src = path.join(root, rel);
  if (!fs.existsSync(src)) return;
  const dst = "/repo/" + rel;
  mp.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src)) {
    if (name === "__pycache__" || name.startsWith(".")) continue;
    const s = path.join(src, name);
    const st = fs.statSync(s);
    if (st.isDirectory()) mirror(path.join(rel, name));
    else if (name.endsWith(".py")) mp.FS.writeFile(dst + "/" + name, fs.readFileSync(s));
  }
}
for (const dir of ["firmware", "protocol", "hil", "boards"]) mirror(dir);

mp.registerJsModule("vmhost", {
  // Synchronous request/response with the parent: hex string in, hex string out.
  call: (hex) => {
    writeMsg("C", Buffer.from(hex, "hex"));
    const msg = readMsg();
    if (msg.kind === "Q") process.exit(0);
    return msg.body.toString("hex");
  },
});

mp.runPython(`
import sys
sys.path[:0] = ['/repo/firmware', '/repo']
`);
mp.runPython(await fs.promises.readFile(new URL("./vmexec.py", import.meta.url), "utf8"));

writeMsg("D", Buffer.from(JSON.stringify({ ok: true, result: "ready", stdout: "" })));
for (;;) {
  const msg = readMsg();
  if (msg.kind === "Q") break;
  if (msg.kind !== "E") continue;
  stdoutChunks = [];
  let outcome;
  try {
    const js = mp.globals.get("_vm_exec")(msg.body.toString("utf8"));
    outcome = JSON.parse(js);
  } catch (e) {
    outcome = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  outcome.stdout = Buffer.concat(stdoutChunks).toString("utf8");
  writeMsg("D", Buffer.from(JSON.stringify(outcome)));
}
process.exit(0);
