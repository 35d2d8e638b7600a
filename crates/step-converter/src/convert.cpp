// STEP → GLB through OpenCASCADE, the same calls and defaults as DRAW's
// `ReadStep` / `XGetOneShape` / `incmesh -a` / `WriteGltf` script the engine ran before,
// without DRAW's Tcl interpreter and plugin loading (100–140 ms of every conversion).
// The GLB must stay byte-identical to DRAW's: part keys are derived from it.

#include <BRep_Builder.hxx>
#include <BRepMesh_IncrementalMesh.hxx>
#include <IFSelect_ReturnStatus.hxx>
#include <IMeshData_Status.hxx>
#include <IMeshTools_Parameters.hxx>
#include <Message.hxx>
#include <Precision.hxx>
#include <RWGltf_CafWriter.hxx>
#include <RWMesh_CoordinateSystem.hxx>
#include <STEPCAFControl_Reader.hxx>
#include <Standard_Failure.hxx>
#include <TColStd_IndexedDataMapOfStringString.hxx>
#include <TDF_LabelSequence.hxx>
#include <TDocStd_Application.hxx>
#include <TDocStd_Document.hxx>
#include <TopoDS_Compound.hxx>
#include <TopoDS_Shape.hxx>
#include <UnitsMethods.hxx>
#include <XCAFApp_Application.hxx>
#include <XCAFDoc_DocumentTool.hxx>
#include <XCAFDoc_ShapeTool.hxx>
#include <XSAlgo.hxx>
#include <XSAlgo_AlgoContainer.hxx>

#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <utility>

namespace {

// Exit codes the engine maps to messages (crates/step-converter/src/main.rs documents them;
// crates/engine/src/import/step.rs reads them).
constexpr int kUnreadable = 3;
constexpr int kNoTransfer = 4;
constexpr int kNoShapes = 5;
constexpr int kWriteFailed = 6;
constexpr int kOcctFailure = 7;

// Converts, and on success leaves the process at once (see the end); returns only the exit
// code of a failure.
int convert(const char* input, const char* output, double linear, double angular_degrees) {
  STEPCAFControl_Reader reader;
  if (reader.ReadFile(input) != IFSelect_RetDone) {
    std::fprintf(stderr, "Error: the STEP file could not be read\n");
    return kUnreadable;
  }

  Handle(TDocStd_Document) doc;
  XCAFApp_Application::GetApplication()->NewDocument("BinXCAF", doc);
  if (!reader.Transfer(doc)) {
    std::fprintf(stderr, "Error: no relevant data could be read from the STEP file\n");
    return kNoTransfer;
  }

  // XGetOneShape: the free shapes, one compound when there are several.
  Handle(XCAFDoc_ShapeTool) shapes = XCAFDoc_DocumentTool::ShapeTool(doc->Main());
  TDF_LabelSequence free_labels;
  shapes->GetFreeShapes(free_labels);
  if (free_labels.IsEmpty()) {
    std::fprintf(stderr, "Error: the STEP file holds no shapes\n");
    return kNoShapes;
  }
  TopoDS_Shape shape;
  if (free_labels.Length() == 1) {
    shape = XCAFDoc_ShapeTool::GetShape(free_labels.Value(1));
  } else {
    TopoDS_Compound compound;
    BRep_Builder builder;
    builder.MakeCompound(compound);
    for (TDF_LabelSequence::Iterator it(free_labels); it.More(); it.Next()) {
      builder.Add(compound, XCAFDoc_ShapeTool::GetShape(it.Value()));
    }
    shape = compound;
  }

  // incmesh <linear> -a <degrees>: DRAW's parameter handling, kept exactly (the degrees are
  // converted the way DRAW does, so the angle is the same double).
  IMeshTools_Parameters mesh;
  mesh.Deflection = std::fmax(linear, Precision::Confusion());
  if (mesh.DeflectionInterior < Precision::Confusion()) {
    mesh.DeflectionInterior = mesh.Deflection;
  }
  mesh.Angle = angular_degrees * M_PI / 180.;
  BRepMesh_IncrementalMesh mesher;
  mesher.SetShape(shape);
  mesher.ChangeParameters() = mesh;
  mesher.Perform();
  // DRAW keeps these to its interpreter; here they reach the node's warnings (the engine
  // turns "Warning" lines into scene warnings): faces may be missing from the GLB.
  const int flags = mesher.GetStatusFlags();
  const std::pair<int, const char*> failures[] = {
      {IMeshData_OpenWire, "open wire"},
      {IMeshData_SelfIntersectingWire, "self-intersecting wire"},
      {IMeshData_Failure, "failure"},
      {IMeshData_UnorientedWire, "unoriented wire"},
      {IMeshData_TooFewPoints, "too few points"},
  };
  for (const auto& [flag, what] : failures) {
    if (flags & flag) {
      std::fprintf(stderr, "Warning: tessellation reported %s on some faces\n", what);
    }
  }

  // WriteGltf <doc> <file.glb>: DRAW's defaults.
  Standard_Real metres_per_unit = 1.;
  if (!XCAFDoc_DocumentTool::GetLengthUnit(doc, metres_per_unit, UnitsMethods_LengthUnit_Meter)) {
    XSAlgo::AlgoContainer()->PrepareForTransfer();
    metres_per_unit = UnitsMethods::GetCasCadeLengthUnit(UnitsMethods_LengthUnit_Meter);
  }
  RWGltf_CafWriter writer(output, true);
  writer.SetTransformationFormat(RWGltf_WriterTrsfFormat_Compact);
  writer.SetNodeNameFormat(RWMesh_NameFormat_InstanceOrProduct);
  writer.SetMeshNameFormat(RWMesh_NameFormat_Product);
  writer.SetForcedUVExport(false);
  writer.SetToEmbedTexturesInGlb(true);
  writer.SetMergeFaces(false);
  writer.SetSplitIndices16(false);
  writer.ChangeCoordinateSystemConverter().SetInputLengthUnit(metres_per_unit);
  writer.ChangeCoordinateSystemConverter().SetInputCoordinateSystem(RWMesh_CoordinateSystem_Zup);
  TColStd_IndexedDataMapOfStringString file_info;
  if (!writer.Perform(doc, file_info, Message_ProgressRange())) {
    std::fprintf(stderr, "Error: the GLB could not be written\n");
    return kWriteFailed;
  }
  // The GLB is written and closed: leave without destroying the XCAF document, the meshed
  // shapes and 68 libraries' statics, which nothing needs in a process about to exit.
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace

extern "C" int workflow_step_to_glb(const char* input, const char* output, double linear,
                                    double angular_degrees) {
  // A one-shot process: memory freed along the way is worth keeping for reuse rather than
  // handing back to the kernel and faulting in again (page faults are a large part of a
  // conversion's system time). Allocations up to 64 MiB come from the heap, and the heap is
  // not trimmed; everything goes back at exit. as1-oc-214: 5.3 k → 3.3 k page faults.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  try {
    return convert(input, output, linear, angular_degrees);
  } catch (const Standard_Failure& failure) {
    std::fprintf(stderr, "Error: OpenCASCADE failed: %s: %s\n", failure.DynamicType()->Name(),
                 failure.GetMessageString());
    return kOcctFailure;
  } catch (...) {
    std::fprintf(stderr, "Error: OpenCASCADE failed\n");
    return kOcctFailure;
  }
}
