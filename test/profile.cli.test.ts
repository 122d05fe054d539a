// `sabmalloc demo --profile FILE`: the demo's heap profile, as pprof or as Chrome's .heapprofile.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";

const run = promisify(execFile);
const cli = join(fileURLToPath(new URL("../../", import.meta.url)), "dist/cli.js");

test("sabmalloc demo --profile writes pprof (.pb.gz) or DevTools (.heapprofile) profiles of the records", { timeout: 90000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-profile-"));
  try {
    const pb = join(dir, "out.pb.gz");
    const { stdout } = await run(process.execPath, [cli, "demo", "--workers", "1", "--seconds", "0.3", "--keys", "2000",
      "--profile", pb, "--profile-sample", "16K", "--out", join(dir, "map.svg")], { timeout: 60000 });
    assert.match(stdout, /heap profile: wrote .*out\.pb\.gz/);
    assert.match(stdout, /SharedTable\.put table\.js:\d+/);
    assert.match(stdout, /teardown: .*check\(\) passed, allocated [\d.]+ \w+ \(the profile's own tables/);
    const d = Profile.decode(gunzipSync(readFileSync(pb)));
    const names = d.function.map((f) => d.stringTable.strings[Number(f.name)]);
    assert.ok(names.includes("SharedTable.put"), names.join(", "));
    assert.ok(d.sample.length > 0);

    const hp = join(dir, "out.heapprofile");
    await run(process.execPath, [cli, "demo", "--workers", "1", "--seconds", "0.3", "--keys", "2000",
      "--profile", hp, "--out", join(dir, "map.svg"), "--json"], { timeout: 60000 });
    const dt = JSON.parse(readFileSync(hp, "utf8"));
    assert.equal(dt.head.callFrame.functionName, "(root)");
    assert.ok(Array.isArray(dt.head.children) && Array.isArray(dt.samples));
    await assert.rejects(run(process.execPath, [cli, "demo", "--profile", hp, "--profile-sample", "0"]), (e: { code: number }) => e.code === 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasGo = await run("go", ["version"]).then(() => true, () => false);

test("go tool pprof reads the profile (skipped without Go)", { skip: !hasGo && "no go on PATH", timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-pprof-"));
  try {
    const pb = join(dir, "out.pb.gz");
    await run(process.execPath, [cli, "demo", "--workers", "1", "--seconds", "0.3", "--keys", "2000",
      "--profile", pb, "--profile-sample", "16K", "--out", join(dir, "map.svg")], { timeout: 60000 });
    const { stdout } = await run("go", ["tool", "pprof", "-top", pb], { timeout: 60000, env: { ...process.env, HOME: dir } });
    assert.match(stdout, /Type: inuse_space/);
    assert.match(stdout, /SharedTable\.put/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
