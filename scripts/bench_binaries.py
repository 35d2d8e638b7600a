"""Two builds of workflow-server on the same runs (issue 16: does a build profile pay at run
time?). Each case runs A and B alternating after one untimed round; prints medians.

    python3 scripts/bench_binaries.py A/workflow-server B/workflow-server FIXTURES [RUNS]

Each binary finds the STEP converter beside it. Cases: the order_line still at 1024² and a
36-frame 512² turntable of 2CylinderEngine (glTF import, GLB export, render, PNG/GIF encode),
and the cad_file starter on the as1 STEP assembly.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

A, B, FIXTURES = sys.argv[1], sys.argv[2], sys.argv[3]
RUNS = int(sys.argv[4]) if len(sys.argv) > 4 else 7
WORK = tempfile.mkdtemp(prefix="bench-binaries-")


def graphs():
    still = json.loads(subprocess.run([A, "starter", "order_line"], check=True,
                                      capture_output=True).stdout)
    for node in still["nodes"]:
        if node["id"] == "materials":
            node["params"]["missing_policy"] = "placeholder"
        if node["id"] == "render":
            node["params"].update({"width": 1024, "height": 1024})
    turntable = json.loads(json.dumps(still))
    for node in turntable["nodes"]:
        if node["id"] == "render":
            node["type"] = "render.turntable"
            node["params"] = {"width": 512, "height": 512, "frame_count": 36}
    for edge in turntable["edges"]:
        if edge["from"]["node"] == "render":
            edge["from"]["port"] = edge["to"]["port"] = "frames"
    cad = json.loads(subprocess.run([A, "starter", "cad_file"], check=True,
                                    capture_output=True).stdout)
    paths = {}
    for name, graph in (("still", still), ("turntable", turntable), ("cad", cad)):
        paths[name] = os.path.join(WORK, f"{name}.json")
        with open(paths[name], "w") as f:
            json.dump(graph, f)
    return paths


def seconds(binary, graph, cad):
    out = os.path.join(WORK, "out")
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([binary, "run", "--graph", graph, "--cad", cad, "--out", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    g = graphs()
    cases = [
        ("still 1024², 2CylinderEngine", g["still"], os.path.join(FIXTURES, "gltf", "2CylinderEngine.glb")),
        ("turntable 36 × 512², 2CylinderEngine", g["turntable"], os.path.join(FIXTURES, "gltf", "2CylinderEngine.glb")),
        ("cad_file, as1-oc-214.step", g["cad"], os.path.join(FIXTURES, "step", "as1-oc-214.step")),
    ]
    print("| case | A | B | B / A |")
    print("|---|---:|---:|---:|")
    for label, graph, cad in cases:
        times = {A: [], B: []}
        for i in range(RUNS + 1):
            for binary in (A, B):
                t = seconds(binary, graph, cad)
                if i > 0:
                    times[binary].append(t)
        a, b = statistics.median(times[A]), statistics.median(times[B])
        print(f"| {label} | {a:.3f} s | {b:.3f} s | {b / a:.2f} |", flush=True)
    shutil.rmtree(WORK, ignore_errors=True)


main()
