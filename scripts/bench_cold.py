"""The timing half of scripts/bench-cold (run that script: it builds, installs and sets up).

argv: workflow-server binary, fixtures dir, work dir, runs per command, case filter.
Prints one markdown row per case: median and minimum wall time of ours and of the anchor,
the ratio of the medians, and each side's peak RSS (the largest process of its tree).
"""

import math
import os
import shutil
import statistics
import subprocess
import sys
import time

BIN, FIXTURES, WORK, RUNS, FILTER = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
RES = 1024
LINEAR, ANGULAR = 0.1, 0.5  # the cad_file starter's cad.import defaults (angular in radians)
# The engine runs the STEP converter beside the server binary (scripts/bench-cold builds both).
CONVERTER = os.path.join(os.path.dirname(BIN), "workflow-step-converter")


def timed(cmd, cwd):
    """Wall seconds and peak RSS (MiB) of one process tree; raises when it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def fresh(name):
    path = os.path.join(WORK, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def draw_script(step, out):
    """DRAW doing what a user of OpenCASCADE alone would: read, mesh, write glTF."""
    path = os.path.join(WORK, "convert.tcl")
    with open(path, "w") as f:
        f.write("pload XDE OCAF MODELING VISUALIZATION\n")
        f.write(f"ReadStep D {{{step}}}\nXGetOneShape s D\n")
        f.write(f"incmesh s {LINEAR} -a {math.degrees(ANGULAR)}\n")
        f.write(f"WriteGltf D {{{out}}}\nexit\n")
    return path


def still_case(glb):
    def ours():
        out = fresh("ours")
        return [BIN, "run", "--graph", os.path.join(WORK, "still.json"), "--cad", glb, "--out", out,
                "--set", f"render.width={RES}", "--set", f"render.height={RES}",
                "--set", "materials.missing_policy=placeholder"], out

    def anchor():
        out = fresh("anchor")
        return ["f3d", f"--output={out}/still.png", f"--resolution={RES},{RES}", glb], out

    return ours, anchor


def step_case(step, anchor_tool):
    def ours():
        out = fresh("ours")
        return [BIN, "run", "--graph", os.path.join(WORK, "cad.json"), "--cad", step, "--out", out], out

    def draw():
        out = fresh("anchor")
        return ["occt-draw", "-b", "-f", draw_script(step, os.path.join(out, "out.glb"))], out

    def converter():
        """Our STEP converter alone (what the run's import node starts): the same GLB as DRAW's
        without its interpreter, so the row shows what the rest of the run costs."""
        out = fresh("anchor")
        return [CONVERTER, step, os.path.join(out, "out.glb"), str(LINEAR), str(math.degrees(ANGULAR))], out

    return ours, {"DRAW": draw, "converter": converter}[anchor_tool]


def measure(label, anchor_name, case):
    ours, anchor = case
    times = {"ours": [], "anchor": []}
    rss = {"ours": 0.0, "anchor": 0.0}
    for i in range(RUNS + 1):
        for side, make in (("ours", ours), ("anchor", anchor)):
            cmd, cwd = make()
            wall, peak = timed(cmd, cwd)
            if i > 0:  # the first round warms caches and is not counted
                times[side].append(wall)
                rss[side] = max(rss[side], peak)
    med = {k: statistics.median(v) for k, v in times.items()}
    row = (f"| {label} | {med['ours']:.3f} s (min {min(times['ours']):.3f}) | {anchor_name} "
           f"{med['anchor']:.3f} s (min {min(times['anchor']):.3f}) | **{med['ours'] / med['anchor']:.2f}×** "
           f"| {rss['ours']:.0f} / {rss['anchor']:.0f} MiB |")
    print(row, flush=True)


def converted_assemblies():
    """Real CAD assemblies as GLB, for stills of files the renderer was never tuned on: the
    STEP fixtures written out by DRAW (one node per placement, shared meshes)."""
    out = []
    for name in ("as1-oc-214", "nist_mbe_pmi_1"):
        step = os.path.join(FIXTURES, "step", f"{name}.step")
        glb = os.path.join(WORK, f"{name}.glb")
        subprocess.run(["occt-draw", "-b", "-f", draw_script(step, glb)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append((f"{name} (STEP → GLB by DRAW)", glb))
    return out


def main():
    print("| case | workflow-server run | anchor | ratio | peak RSS ours / anchor |")
    print("|---|---|---|---|---|")
    gltf = os.path.join(FIXTURES, "gltf")
    stills = [(f"still 1024², {n}", os.path.join(gltf, f"{n}.glb")) for n in
              ("CesiumMilkTruck", "2CylinderEngine", "NegativeScaleTest", "BoxTextured", "SimpleInstancing")]
    stills += [(f"still 1024², {label}", glb) for label, glb in converted_assemblies()]
    for label, glb in stills:
        if FILTER in label:
            measure(label, "f3d", still_case(glb))
    for name in ("as1-oc-214", "abc-0000", "nist_mbe_pmi_1"):
        label = f"cad_file, {name}.step"
        if FILTER in label:
            for anchor_tool in ("DRAW", "converter"):
                measure(label, anchor_tool, step_case(os.path.join(FIXTURES, "step", f"{name}.step"), anchor_tool))


main()
