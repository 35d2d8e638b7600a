"""Writes a USD stage from a GLB written by the engine's export_glb (export.scene, format usd).

Run out of process by the engine with a Python that has OpenUSD (`usd-core`, module pxr):
    python usd_export.py in.glb out.usdc|out.usda
Reads only the GLB the engine itself wrote (float32 attributes, uint32 indices, one buffer,
node matrices, extras.part_key), so the reader below stays small and exact.

What is written: /Root (default prim, Y-up, metres, like the engine's scenes) mirroring the
GLB's node tree; one `class` prototype per GLB mesh under /Root/Prototypes (the engine gives
two placements the same GLB mesh exactly when geometry and resolved materials agree), every
part placement an instanceable prim referencing its prototype, named by its sanitised part
key and carrying the exact key as customData `part_key` and attribute `workflow:part_key`;
UsdPreviewSurface materials under /Root/Materials bound in the prototypes; the camera and
directional lights when the GLB has them. Prints a JSON summary on stdout.
"""
import json
import math
import re
import struct
import sys

from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdShade, Vt


def fail(message):
    sys.stderr.write("usd_export: " + message + "\n")
    sys.exit(2)


def read_glb(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 20 or data[:4] != b"glTF":
        fail("input is not a GLB")
    json_len, json_type = struct.unpack_from("<II", data, 12)
    if json_type != 0x4E4F534A:
        fail("GLB has no JSON chunk first")
    doc = json.loads(data[20:20 + json_len].decode("utf-8"))
    bin_start = 20 + json_len
    binary = b""
    if len(data) >= bin_start + 8:
        bin_len, _ = struct.unpack_from("<II", data, bin_start)
        binary = data[bin_start + 8:bin_start + 8 + bin_len]
    return doc, binary


SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def accessor(doc, binary, index):
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    n = SIZES[acc["type"]]
    count = acc["count"]
    offset = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    if acc["componentType"] == 5126:
        fmt = "f"
    elif acc["componentType"] == 5125:
        fmt = "I"
    else:
        fail("accessor %d has component type %d (the engine writes 5126/5125 only)"
             % (index, acc["componentType"]))
    flat = struct.unpack_from("<%d%s" % (count * n, fmt), binary, offset)
    if n == 1:
        return list(flat)
    return [flat[i:i + n] for i in range(0, len(flat), n)]


def sanitise(name):
    """A valid USD prim name: letters, digits, underscore; not starting with a digit."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name or "")
    if not s or s[0].isdigit():
        s = "_" + s
    return s[:200]


class Names:
    """Unique child names per parent path."""

    def __init__(self):
        self.used = {}

    def take(self, parent, wanted):
        used = self.used.setdefault(str(parent), set())
        name, n = wanted, 1
        while name in used:
            n += 1
            name = "%s_%d" % (wanted, n)
        used.add(name)
        return parent.AppendChild(name)


def usd_matrix(m):
    # glTF stores column-major with column vectors; read row by row that is the transpose,
    # which is exactly USD's row-vector matrix.
    return Gf.Matrix4d(*[float(v) for v in m])


def set_transform(prim, node):
    xf = UsdGeom.Xformable(prim)
    if "matrix" in node:
        xf.AddTransformOp().Set(usd_matrix(node["matrix"]))
    elif any(k in node for k in ("translation", "rotation", "scale")):
        t = node.get("translation", [0, 0, 0])
        r = node.get("rotation", [0, 0, 0, 1])
        s = node.get("scale", [1, 1, 1])
        m = Gf.Matrix4d().SetScale(Gf.Vec3d(*s))
        m = m * Gf.Matrix4d().SetRotate(Gf.Quatd(r[3], r[0], r[1], r[2]))
        m = m * Gf.Matrix4d().SetTranslate(Gf.Vec3d(*t))
        xf.AddTransformOp().Set(m)


def write_material(stage, path, m):
    pbr = m.get("pbrMetallicRoughness", {})
    color = pbr.get("baseColorFactor", [1, 1, 1, 1])
    material = UsdShade.Material.Define(stage, path)
    if m.get("name") is not None:
        material.GetPrim().SetCustomDataByKey("name", m["name"])
    shader = UsdShade.Shader.Define(stage, path.AppendChild("PreviewSurface"))
    shader.CreateIdAttr("UsdPreviewSurface")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*color[:3]))
    shader.CreateInput("opacity", Sdf.ValueTypeNames.Float).Set(float(color[3]))
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(
        float(pbr.get("metallicFactor", 1.0)))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(
        float(pbr.get("roughnessFactor", 1.0)))
    shader.CreateInput("emissiveColor", Sdf.ValueTypeNames.Color3f).Set(
        Gf.Vec3f(*m.get("emissiveFactor", [0, 0, 0])))
    shader.CreateInput("useSpecularWorkflow", Sdf.ValueTypeNames.Int).Set(0)
    material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    return material


def write_prototype(stage, doc, binary, path, mesh, materials):
    # A class: composed into every instance that references it, never drawn itself.
    stage.CreateClassPrim(path).SetTypeName("Xform")
    triangles = 0
    for pi, prim in enumerate(mesh.get("primitives", [])):
        if prim.get("mode", 4) != 4:
            fail("mesh primitive mode %s (the engine writes triangles only)" % prim.get("mode"))
        attrs = prim["attributes"]
        points = accessor(doc, binary, attrs["POSITION"])
        indices = accessor(doc, binary, prim["indices"])
        geom = UsdGeom.Mesh.Define(stage, path.AppendChild("prim_%d" % pi))
        geom.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        geom.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*p) for p in points]))
        geom.CreateFaceVertexCountsAttr(Vt.IntArray([3] * (len(indices) // 3)))
        geom.CreateFaceVertexIndicesAttr(Vt.IntArray(indices))
        triangles += len(indices) // 3
        if "NORMAL" in attrs:
            geom.CreateNormalsAttr(
                Vt.Vec3fArray([Gf.Vec3f(*n) for n in accessor(doc, binary, attrs["NORMAL"])]))
            geom.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
        if "TEXCOORD_0" in attrs:
            # glTF's v runs down the image, USD's t up.
            st = [Gf.Vec2f(u, 1.0 - v) for u, v in accessor(doc, binary, attrs["TEXCOORD_0"])]
            UsdGeom.PrimvarsAPI(geom).CreatePrimvar(
                "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex
            ).Set(Vt.Vec2fArray(st))
        pts = [p for p in points]
        if pts:
            lo = Gf.Vec3f(*[min(p[i] for p in pts) for i in range(3)])
            hi = Gf.Vec3f(*[max(p[i] for p in pts) for i in range(3)])
            geom.CreateExtentAttr(Vt.Vec3fArray([lo, hi]))
        if "material" in prim:
            index = prim["material"]
            material, double_sided = materials[index]
            geom.CreateDoubleSidedAttr(double_sided)
            UsdShade.MaterialBindingAPI.Apply(geom.GetPrim()).Bind(material)
    return triangles


def main():
    if len(sys.argv) != 3:
        fail("usage: usd_export.py in.glb out.usd[a|c]")
    doc, binary = read_glb(sys.argv[1])
    out = sys.argv[2]
    stage = Usd.Stage.CreateNew(out)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root_path = Sdf.Path("/Root")
    root = UsdGeom.Xform.Define(stage, root_path)
    stage.SetDefaultPrim(root.GetPrim())
    names = Names()

    materials = {}
    if doc.get("materials"):
        UsdGeom.Scope.Define(stage, root_path.AppendChild("Materials"))
        for i, m in enumerate(doc["materials"]):
            path = names.take(root_path.AppendChild("Materials"), sanitise(m.get("name") or "material_%d" % i))
            materials[i] = (write_material(stage, path, m), bool(m.get("doubleSided", False)))

    prototypes = {}
    proto_parent = root_path.AppendChild("Prototypes")
    if doc.get("meshes"):
        stage.CreateClassPrim(proto_parent)
        for i, mesh in enumerate(doc["meshes"]):
            path = proto_parent.AppendChild("mesh_%d" % i)
            write_prototype(stage, doc, binary, path, mesh, materials)
            prototypes[i] = path

    nodes = doc.get("nodes", [])
    lights = doc.get("extensions", {}).get("KHR_lights_punctual", {}).get("lights", [])
    cameras = doc.get("cameras", [])
    summary = {"parts": 0, "prototypes": len(prototypes), "cameras": 0, "lights": 0}

    def instance(path, node, key):
        prim = stage.DefinePrim(path, "Xform")
        prim.GetReferences().AddInternalReference(prototypes[node["mesh"]])
        prim.SetInstanceable(True)
        if key is not None:
            prim.SetCustomDataByKey("part_key", key)
            prim.CreateAttribute("workflow:part_key", Sdf.ValueTypeNames.String, custom=True).Set(key)
        summary["parts"] += 1
        return prim

    def hide(prim, node):
        extras = node.get("extras")
        if isinstance(extras, dict) and extras.get("hidden"):
            UsdGeom.Imageable(prim).CreateVisibilityAttr(UsdGeom.Tokens.invisible)

    def visit(index, parent):
        """Writes one node; answers the prim path its children go under (None: no children)."""
        node = nodes[index]
        key = node.get("extras", {}).get("part_key") if isinstance(node.get("extras"), dict) else None
        children = node.get("children", [])
        light = node.get("extensions", {}).get("KHR_lights_punctual")
        if "camera" in node and node["camera"] < len(cameras):
            path = names.take(parent, sanitise(node.get("name") or "camera"))
            cam = UsdGeom.Camera.Define(stage, path)
            c = cameras[node["camera"]]
            if c.get("type") == "orthographic":
                o = c["orthographic"]
                cam.CreateProjectionAttr(UsdGeom.Tokens.orthographic)
                # Apertures are in tenths of a scene unit.
                cam.CreateHorizontalApertureAttr(float(o["xmag"]) * 20.0)
                cam.CreateVerticalApertureAttr(float(o["ymag"]) * 20.0)
                cam.CreateClippingRangeAttr(Gf.Vec2f(o["znear"], o["zfar"]))
            else:
                p = c["perspective"]
                vertical = 24.0
                cam.CreateVerticalApertureAttr(vertical)
                cam.CreateHorizontalApertureAttr(vertical * float(p.get("aspectRatio", 1.0)))
                cam.CreateFocalLengthAttr(vertical / 2.0 / math.tan(float(p["yfov"]) / 2.0))
                cam.CreateClippingRangeAttr(Gf.Vec2f(p["znear"], p.get("zfar", 1e6)))
            set_transform(cam.GetPrim(), node)
            summary["cameras"] += 1
            return None
        if light is not None and light.get("light", -1) < len(lights):
            spec = lights[light["light"]]
            path = names.take(parent, sanitise(node.get("name") or "light"))
            if spec.get("type") == "directional":
                lux = UsdLux.DistantLight.Define(stage, path)
                lux.CreateIntensityAttr(float(spec.get("intensity", 1.0)))
                lux.CreateColorAttr(Gf.Vec3f(*spec.get("color", [1, 1, 1])))
                set_transform(lux.GetPrim(), node)
                summary["lights"] += 1
            return None
        if "mesh" in node and not children:
            # A leaf part: the node itself is the instance.
            path = names.take(parent, sanitise(key or node.get("name") or "part"))
            prim = instance(path, node, key)
            set_transform(prim, node)
            hide(prim, node)
            if node.get("name") is not None:
                prim.SetCustomDataByKey("node_name", node["name"])
            return None
        path = names.take(parent, sanitise(node.get("name") or "node_%d" % index))
        xf = UsdGeom.Xform.Define(stage, path)
        set_transform(xf.GetPrim(), node)
        hide(xf.GetPrim(), node)
        if "mesh" in node:
            instance(names.take(path, sanitise(key or "part")), node, key)
        return path

    scenes = doc.get("scenes", [])
    roots = scenes[doc.get("scene", 0)]["nodes"] if scenes else []
    # Iterative, depth first in file order: a deep node chain from a hostile file must not
    # hit Python's recursion limit. Each node is written once (the GLB is a tree).
    stack = [(r, root_path) for r in reversed(roots)]
    seen = set()
    while stack:
        index, parent = stack.pop()
        if index in seen or not 0 <= index < len(nodes):
            continue
        seen.add(index)
        path = visit(index, parent)
        if path is not None:
            stack.extend((c, path) for c in reversed(nodes[index].get("children", [])))
    stage.GetRootLayer().Save()
    print(json.dumps(summary))


main()
