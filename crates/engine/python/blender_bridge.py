# Workflow Studio's bridge to Blender, run headless by the engine (crates/engine/src/blender.rs):
#
#   blender -b --factory-startup --python-exit-code 1 --python blender_bridge.py -- MODE job.json
#
# MODE is `export` (GLB -> .blend), `render` (GLB -> Cycles PNG), `turntable` (GLB -> Cycles
# PNG frames) or `inspect` (a .blend -> JSON of its objects, for round trips and parity).
# Every path in job.json is relative to the run's private folder (the working directory). Errors leave through an exception, which
# --python-exit-code turns into exit status 1 with the traceback on stderr.

import json
import os
import sys

import bpy
from mathutils import Vector

# Debian's Blender 3.4 glTF importer uses `numpy.bool`, which numpy 1.24 removed.
try:
    import numpy

    numpy.bool = bool
except ImportError:
    pass


def job_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    if len(argv) != 2:
        raise SystemExit("usage: blender_bridge.py -- export|render|inspect job.json")
    with open(argv[1], encoding="utf-8") as f:
        return argv[0], json.load(f)


def import_glb(path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    # RAW: a light's glTF intensity is its Blender strength, the scale our renderer uses.
    bpy.ops.import_scene.gltf(filepath=os.path.abspath(path), convert_lighting_mode="RAW")


def principled(spec, cache):
    """One Principled BSDF material per distinct resolved material (our PbrMaterial)."""
    key = json.dumps(spec, sort_keys=True)
    if key in cache:
        return cache[key]
    mat = bpy.data.materials.new(spec["name"])
    mat.use_nodes = True
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    c = spec["base_color"]
    alpha = max(0.0, min(1.0, c[3] * spec.get("opacity", 1.0)))
    bsdf.inputs["Base Color"].default_value = (c[0], c[1], c[2], 1.0)
    bsdf.inputs["Metallic"].default_value = spec["metallic"]
    bsdf.inputs["Roughness"].default_value = spec["roughness"]
    e = spec.get("emissive", [0.0, 0.0, 0.0])
    bsdf.inputs["Emission"].default_value = (e[0], e[1], e[2], 1.0)
    bsdf.inputs["Alpha"].default_value = alpha
    if alpha < 0.999:
        mat.blend_method = "BLEND"
    mat.diffuse_color = (c[0], c[1], c[2], alpha)
    mat["library_material"] = spec["name"]
    cache[key] = mat
    return mat


def apply_parts(job):
    """Resolved materials onto the parts, objects named by part key (`part_key` property)."""
    wanted = {p["part_key"]: p.get("material") for p in job["parts"]}
    parts = [o for o in bpy.data.objects if "part_key" in o.keys()]
    found = {o["part_key"] for o in parts}
    missing = sorted(set(wanted) - found)
    if missing:
        raise RuntimeError("parts missing after the glTF import: %s" % ", ".join(missing[:10]))
    cache = {}
    # Mesh data shared by instances gets one assignment; an instance whose material differs
    # from the data's gets object-linked slots (the sharing is kept either way).
    data_material = {}
    for obj in parts:
        spec = wanted.get(obj["part_key"])
        if spec is None or obj.type != "MESH":
            continue  # the file's own materials, as imported
        mat = principled(spec, cache)
        mesh = obj.data
        if not mesh.materials:
            mesh.materials.append(mat)
            data_material[mesh.name] = mat
            continue
        current = data_material.setdefault(mesh.name, mat)
        for i, slot in enumerate(obj.material_slots):
            if current is mat:
                mesh.materials[i] = mat
            else:
                slot.link = "OBJECT"
                slot.material = mat
    # The importer's copies of the replaced materials are left without users: drop them, so
    # the resolved materials carry their library names exactly.
    for mat in list(bpy.data.materials):
        if mat.users == 0:
            bpy.data.materials.remove(mat)
    for mat in cache.values():
        mat.name = mat["library_material"]
    # Names: part keys are unique; anything else already called so steps aside first.
    targets = {o["part_key"][:63] for o in parts}
    for obj in bpy.data.objects:
        if "part_key" not in obj.keys() and obj.name in targets:
            obj.name = obj.name[:55] + "_node"
    for obj in parts:
        obj.name = "__part_%d" % id(obj)
    for obj in parts:
        # Blender names hold 63 bytes; the full key is the property.
        obj.name = obj["part_key"][:63]
    cams = [o for o in bpy.data.objects if o.type == "CAMERA"]
    if cams:
        bpy.context.scene.camera = cams[0]


def export(job):
    import_glb(job["glb"])
    apply_parts(job)
    bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(job["output"]), compress=False)


def setup_cycles(job):
    import_glb(job["glb"])
    apply_parts(job)
    scene = bpy.context.scene
    if scene.camera is None:
        raise RuntimeError("the scene has no camera to render from")
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = int(job["samples"])
    # Debian's Blender is built without OpenImageDenoise: denoising on fails the render.
    scene.cycles.use_denoising = False
    for layer in scene.view_layers:
        layer.cycles.use_denoising = False
    scene.render.resolution_x = int(job["width"])
    scene.render.resolution_y = int(job["height"])
    scene.render.resolution_percentage = 100
    # The background is composited by the engine, as the built-in renderer clears to it.
    scene.render.film_transparent = True
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("ambient")
    world.use_nodes = True
    bg = world.node_tree.nodes["Background"]
    a = job["ambient"]
    bg.inputs["Color"].default_value = (a[0], a[1], a[2], 1.0)
    bg.inputs["Strength"].default_value = float(job["ambient_strength"])
    scene.world = world
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.image_settings.color_depth = "8"
    return scene


def render(job):
    scene = setup_cycles(job)
    scene.render.filepath = os.path.abspath(job["output"])
    bpy.ops.render.render(write_still=True)


def turntable(job):
    """One frame per angle, the product turning about the vertical axis through `center`
    (glTF +Y is Blender +Z; the camera and lights stay)."""
    import math

    scene = setup_cycles(job)
    c = job["center"]
    pivot = bpy.data.objects.new("turntable_pivot", None)
    scene.collection.objects.link(pivot)
    pivot.location = (c[0], -c[2], c[1])
    bpy.context.view_layer.update()
    for obj in list(scene.objects):
        if obj is pivot or obj.parent is not None or obj.type in ("CAMERA", "LIGHT"):
            continue
        obj.parent = pivot
        obj.matrix_parent_inverse = pivot.matrix_world.inverted()
    for i, angle in enumerate(job["angles"]):
        pivot.rotation_euler = (0.0, 0.0, math.radians(float(angle)))
        scene.render.filepath = os.path.abspath("frame_%04d.png" % i)
        bpy.ops.render.render(write_still=True)
    with open(job["output"], "w", encoding="utf-8") as f:
        json.dump({"frames": len(job["angles"])}, f)


def inspect(job):
    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(job["blend"]))
    objects = []
    for obj in bpy.data.objects:
        entry = {"name": obj.name, "type": obj.type}
        if "part_key" in obj.keys():
            entry["part_key"] = str(obj["part_key"])
        if obj.type == "MESH":
            entry["mesh"] = obj.data.name
            entry["mesh_users"] = obj.data.users
            entry["materials"] = [s.material.name if s.material else None for s in obj.material_slots]
            values = []
            for s in obj.material_slots:
                m = s.material
                bsdf = None
                if m is not None and m.use_nodes:
                    bsdf = next((n for n in m.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
                if bsdf is None:
                    values.append(None)
                    continue
                values.append({
                    "library_material": m.get("library_material"),
                    "base_color": list(bsdf.inputs["Base Color"].default_value),
                    "metallic": bsdf.inputs["Metallic"].default_value,
                    "roughness": bsdf.inputs["Roughness"].default_value,
                })
            entry["material_values"] = values
            entry["triangles"] = sum(len(poly.vertices) - 2 for poly in obj.data.polygons)
            corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
            entry["bounds"] = {
                "min": [min(c[i] for c in corners) for i in range(3)],
                "max": [max(c[i] for c in corners) for i in range(3)],
            }
        objects.append(entry)
    scene = bpy.context.scene
    out = {
        "objects": objects,
        "meshes": len(bpy.data.meshes),
        "camera": scene.camera.name if scene.camera else None,
        "lights": sum(1 for o in bpy.data.objects if o.type == "LIGHT"),
    }
    with open(job["output"], "w", encoding="utf-8") as f:
        json.dump(out, f)


def main():
    mode, job = job_args()
    {"export": export, "render": render, "turntable": turntable, "inspect": inspect}[mode](job)


main()
