"""Reads a USD stage back for the round-trip tests and the parity comparison.

    python usd_read.py file.usd[a|c] out.json
Writes JSON: the stage's upAxis and metersPerUnit, and per part (every prim with customData
`part_key`): the prototype it shares (instances of one prototype share geometry), its world
bounds (from the points, exact), triangle count, and per mesh the bound UsdPreviewSurface
material (name, base colour with opacity, metallic, roughness); counts of cameras, lights and
prototypes.
"""
import json
import sys

from pxr import Usd, UsdGeom, UsdLux, UsdShade


def material_of(mesh_prim):
    material, _ = UsdShade.MaterialBindingAPI(mesh_prim).ComputeBoundMaterial()
    if not material:
        return None
    prim = material.GetPrim()
    name = prim.GetCustomDataByKey("name")
    out = {"name": name if name is not None else prim.GetName(),
           "base_color": [1.0, 1.0, 1.0, 1.0], "metallic": 1.0, "roughness": 1.0}
    source = material.ComputeSurfaceSource()[0]
    if source:
        def value(input_name, default):
            i = source.GetInput(input_name)
            v = i.Get() if i else None
            return default if v is None else v
        c = value("diffuseColor", (1.0, 1.0, 1.0))
        out["base_color"] = [float(c[0]), float(c[1]), float(c[2]), float(value("opacity", 1.0))]
        out["metallic"] = float(value("metallic", 0.0))
        out["roughness"] = float(value("roughness", 0.5))
    return out


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: usd_read.py file.usd[a|c] out.json\n")
        sys.exit(2)
    stage = Usd.Stage.Open(sys.argv[1])
    if stage is None:
        sys.stderr.write("usd_read: cannot open the stage\n")
        sys.exit(2)
    time = Usd.TimeCode.Default()
    parts = {}
    cameras = lights = 0
    for prim in Usd.PrimRange(stage.GetPseudoRoot(), Usd.TraverseInstanceProxies()):
        if prim.IsA(UsdGeom.Camera):
            cameras += 1
        if prim.HasAPI(UsdLux.LightAPI) or prim.IsA(UsdLux.DistantLight):
            lights += 1
        key = prim.GetCustomDataByKey("part_key")
        if key is None:
            continue
        lo = [float("inf")] * 3
        hi = [float("-inf")] * 3
        triangles = 0
        materials = []
        for p in Usd.PrimRange(prim, Usd.TraverseInstanceProxies()):
            if not p.IsA(UsdGeom.Mesh):
                continue
            mesh = UsdGeom.Mesh(p)
            counts = mesh.GetFaceVertexCountsAttr().Get(time) or []
            triangles += sum(max(c - 2, 0) for c in counts)
            world = UsdGeom.Xformable(p).ComputeLocalToWorldTransform(time)
            for q in mesh.GetPointsAttr().Get(time) or []:
                w = world.Transform(q)
                for i in range(3):
                    lo[i] = min(lo[i], w[i])
                    hi[i] = max(hi[i], w[i])
            materials.append(material_of(p))
        prototype = prim.GetPrototype().GetPath().pathString if prim.IsInstance() else None
        references = [str(r.assetPath) + str(r.primPath)
                      for r in prim.GetMetadata("references").GetAddedOrExplicitItems()] \
            if prim.HasMetadata("references") else []
        parts[key] = {
            "path": prim.GetPath().pathString,
            "name": prim.GetName(),
            "instanceable": prim.IsInstance(),
            "prototype": prototype,
            "references": references,
            "attribute": prim.GetAttribute("workflow:part_key").Get()
            if prim.HasAttribute("workflow:part_key") else None,
            "triangles": triangles,
            "bounds": {"min": lo, "max": hi} if triangles else None,
            "materials": materials,
        }
    result = {
        "up_axis": UsdGeom.GetStageUpAxis(stage),
        "meters_per_unit": UsdGeom.GetStageMetersPerUnit(stage),
        "default_prim": stage.GetDefaultPrim().GetPath().pathString
        if stage.GetDefaultPrim() else None,
        "prototypes": len(stage.GetPrototypes()),
        "parts": parts,
        "cameras": cameras,
        "lights": lights,
    }
    with open(sys.argv[2], "w") as f:
        json.dump(result, f, sort_keys=True)


main()
