// Host of one allocator for the single-threaded workloads (see harness.mjs): answers the main
// thread's requests one at a time: load, prepare (workload), rep, memory, finish.
import { parentPort, workerData } from "node:worker_threads";
import { ALL_ADAPTERS } from "../adapters/index.mjs";
import { MICRO_WORKLOADS } from "../workloads/micro.mjs";
import { AdapterSession } from "./harness.mjs";

const ad = ALL_ADAPTERS.find((a) => a.id === workerData.id);
if (ad.kind === "sabmalloc") ad.implPath = workerData.implPath;
const session = new AdapterSession(ad, MICRO_WORKLOADS);

parentPort.on("message", async (m) => {
  try {
    let out;
    switch (m.type) {
      case "load": out = await session.load(); break;
      case "prepare": out = session.prepare(m); break;
      case "rep": out = session.rep(); break;
      case "memory": out = session.memory(); break;
      case "finish": out = session.finish(); break;
      default: throw new Error(`unknown request ${m.type}`);
    }
    parentPort.postMessage(out ?? null);
  } catch (err) {
    parentPort.postMessage({ type: "fatal", message: String(err?.stack ?? err) });
  }
});
